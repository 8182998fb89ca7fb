"""Neural-network building blocks: masked attention over padded sets, pooling, in-model standardisation."""

from hepgen.nn import attention, embedding, object_set, standardize
from hepgen.nn.attention import *
from hepgen.nn.embedding import *
from hepgen.nn.object_set import *
from hepgen.nn.standardize import *

__all__ = [*attention.__all__, *embedding.__all__, *object_set.__all__, *standardize.__all__]
