"""The smeared kinematic reconstruction where the dilepton task meets it: its templates from training events
(``--templates``: jets matched to the generator's b quarks by the generator's ``jetIdx``, the generator's leptons
and neutrinos) and its answer for a block of events."""

from __future__ import annotations

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.physics.dilepton_kinreco import KinRecoResult, SmearingTemplates, kinematic_reconstruction
from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass
from hepgen.tasks.dineutrino.features import DineutrinoArrays, dineutrino_arrays

__all__ = ["templates_from_events", "kinreco_of_arrays"]


def _truth_p4(events: Events, name: str, index: np.ndarray) -> np.ndarray:
    """The two generator objects of collection ``name`` in top order ``[B, 2, 4]`` of the events ``index``."""
    c = events.truth[name]
    mass = c["mass"] if "mass" in c.features else np.zeros_like(c["pt"])
    return p4_from_pt_eta_phi_mass(c["pt"], c["eta"], c["phi"], mass)[index][:, :2]


def templates_from_events(events: Events) -> SmearingTemplates:
    """:class:`~hepgen.physics.dilepton_kinreco.SmearingTemplates` from training events read with the
    ``hepgen-ttbar-dilepton`` schema (they need the truth: ``b_quarks`` with ``jetIdx``, ``gen_leptons``,
    ``neutrinos``)."""
    missing = {"b_quarks", "gen_leptons", "neutrinos"} - set(events.truth)
    if missing:
        raise HepgenInputError(f"the kinematic reconstruction's templates need the truth collections {sorted(missing)}")
    arrays = dineutrino_arrays(events, require_truth=True)
    index = arrays.event_index
    quarks = events.truth["b_quarks"]
    complete = (quarks.mask[index].sum(axis=1) == 2) & (events.truth["gen_leptons"].mask[index].sum(axis=1) == 2)
    jet_index = quarks["jetIdx"][index][:, :2].astype(np.int64)
    n_jets = arrays.jets_p4.shape[1]
    matched = (jet_index >= 0) & (jet_index < n_jets)
    jets = np.take_along_axis(arrays.jets_p4.astype(np.float64), np.clip(jet_index, 0, n_jets - 1)[..., None], axis=1)
    jets = np.where(matched[..., None], jets, np.nan)
    nus = _truth_p4(events, "neutrinos", index)
    keep = complete
    return SmearingTemplates.from_events(
        jets[keep],
        _truth_p4(events, "b_quarks", index)[keep],
        arrays.leptons_p4.astype(np.float64)[keep],
        _truth_p4(events, "gen_leptons", index)[keep],
        nus[keep],
    )


def kinreco_of_arrays(arrays: DineutrinoArrays, templates: SmearingTemplates, *, seed: int, **options) -> KinRecoResult:
    """The smeared kinematic reconstruction of a block's events (``options``: ``trials``, ``max_jets``,
    ``mlb_max``)."""
    return kinematic_reconstruction(
        arrays.leptons_p4,
        arrays.jets_p4,
        arrays.objects["jets"][..., 4],
        arrays.masks["jets"],
        arrays.objects["met"][:, 0],
        templates,
        seed=seed,
        **options,
    )
