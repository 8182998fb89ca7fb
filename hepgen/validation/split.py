"""The validation/test split of a validation: a fixed hash of each entry's index (no random state).

Baselines are tuned on the validation part and every reported number comes from the test part; the split of an
entry depends only on its index, so every method, shard and rerun agrees on it.
"""

from __future__ import annotations

import numpy as np

from hepgen.errors import HepgenInputError

__all__ = ["validation_split"]


def validation_split(entry: np.ndarray, fraction: float) -> np.ndarray:
    """True for the entries (by index ``entry`` ``[N]``) that belong to the validation part (a share ``fraction``)."""
    if not 0 < fraction < 1:
        raise HepgenInputError(f"validation_fraction must be in (0, 1); got {fraction}")
    hashed = (np.asarray(entry, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)
    return hashed.astype(np.float64) / 2**32 < fraction
