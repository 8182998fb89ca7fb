"""Neural-network building blocks: masked attention over padded sets, pooling, in-model standardisation, the
epistemic layers (:mod:`~hepgen.nn.epistemic`), Mixture-of-Depths routing and TokenFormer's parameter attention."""

from hepgen.nn import attention, embedding, epistemic, mixture_of_depths, object_set, standardize, tokenformer
from hepgen.nn.attention import *
from hepgen.nn.embedding import *
from hepgen.nn.epistemic import *
from hepgen.nn.mixture_of_depths import *
from hepgen.nn.object_set import *
from hepgen.nn.standardize import *
from hepgen.nn.tokenformer import *

__all__ = [
    *attention.__all__,
    *embedding.__all__,
    *epistemic.__all__,
    *mixture_of_depths.__all__,
    *object_set.__all__,
    *standardize.__all__,
    *tokenformer.__all__,
]
