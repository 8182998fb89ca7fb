"""Neural-network building blocks: masked attention over padded sets, pooling, in-model standardisation."""

from hepgen.nn.attention import (
    ClassAttentionPooling,
    CrossAttentionBlock,
    FeedForward,
    LatentSetEncoder,
    MultiheadAttention,
    TransformerBlock,
)
from hepgen.nn.embedding import FourierEmbedding
from hepgen.nn.object_set import ObjectSetEncoder
from hepgen.nn.standardize import MaskedStandardizer

__all__ = [
    "MultiheadAttention",
    "TransformerBlock",
    "CrossAttentionBlock",
    "ClassAttentionPooling",
    "FeedForward",
    "LatentSetEncoder",
    "FourierEmbedding",
    "MaskedStandardizer",
    "ObjectSetEncoder",
]
