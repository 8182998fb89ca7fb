"""ROOT files → padded point clouds with explicit masks, lazily, chunk by chunk.

>>> import hepgen.io as hio
>>> events = hio.read("nano.root", "nanoaod")               # doctest: +SKIP
>>> jets = events["jets"]                                      # doctest: +SKIP
>>> jets.values.shape, jets.mask.shape, jets.features          # doctest: +SKIP
((200, 10, 5), (200, 10), ('pt', 'eta', 'phi', 'mass', 'btag'))
"""

from hepgen.io.branches import check_available, flatten_collections, needed_branches, resolve_schema
from hepgen.io.cut import Cut
from hepgen.io.events import Events, ReadInfo, Truncation, concatenate_events
from hepgen.io.files import expand_files, open_tree
from hepgen.io.known_schemas import available_schemas, get_schema
from hepgen.io.pointcloud import PointCloud, concatenate_clouds
from hepgen.io.reader import count_entries, events_from_arrays, iterate, read
from hepgen.io.schema import Branches, Collection, Prefix, ScalarObjects, Schema
from hepgen.io.summary import describe_events
from hepgen.io.writer import atomic_path, read_event_outputs, write_event_outputs

__all__ = [
    "PointCloud",
    "concatenate_clouds",
    "Events",
    "ReadInfo",
    "Truncation",
    "concatenate_events",
    "read",
    "count_entries",
    "iterate",
    "events_from_arrays",
    "resolve_schema",
    "needed_branches",
    "check_available",
    "flatten_collections",
    "Schema",
    "Collection",
    "Prefix",
    "Branches",
    "ScalarObjects",
    "Cut",
    "get_schema",
    "available_schemas",
    "expand_files",
    "open_tree",
    "write_event_outputs",
    "read_event_outputs",
    "atomic_path",
    "describe_events",
]
