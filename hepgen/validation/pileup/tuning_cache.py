"""The validation scores of every tunable method's parameter grid on the tuning jets, kept on disk so that
validations tuned on the same jets (the test jets of another type, a validation run again with one more method) do
not compute them again (measured on 600 test and 1 000 validation top jets at μ = 60: 175 s → 68 s).

A score is found only under the digest of everything it depends on: the bytes of the files the tuning jets were
read from, which of their jets, the method's name and grid, the observables, and the source of the code that
reads the files, grooms the jets and computes and scores the observables (:data:`_CODE`); any change is a miss,
and a miss is computed and stored. The choices made from the scores are the same with or without the cache (tested).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["TuningCache", "jets_digest"]

_CHUNK = 1 << 20  # bytes read at a time when a file is digested


def _file_digest(path: str | os.PathLike) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


#: The source a grid score depends on (relative to the package): reading the files, grooming the jets, computing
#: and scoring their observables.
_CODE = ("physics/*.py", "io/**/*.py", "validation/metrics.py", "validation/pileup/*.py")


@cache
def _code_digest() -> bytes:
    """The digest of the source in :data:`_CODE`."""
    package = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for source in sorted({path for pattern in _CODE for path in package.glob(pattern)}):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.digest()


def jets_digest(files: Sequence[str | os.PathLike], index: np.ndarray) -> str:
    """The digest of the tuning jets: the files' bytes (in order), which of their jets ``index`` ``[V]``, the code."""
    digest = hashlib.sha256(_code_digest())
    for path in files:
        digest.update(_file_digest(path))
    digest.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
    return digest.hexdigest()


class TuningCache:
    """A folder of grid scores, one JSON file per (tuning jets, method, grid, observables)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, jets: str, name: str, grid: Sequence, observables: Sequence[str]) -> Path:
        key = hashlib.sha256(json.dumps([jets, name, repr(tuple(grid)), list(observables)]).encode()).hexdigest()
        return self.folder / f"{name}_{key[:32]}.json"

    def scores(
        self,
        jets: str,
        name: str,
        grid: Sequence,
        observables: Sequence[str],
        compute: Callable[[], dict[str, np.ndarray]],
    ) -> dict[str, np.ndarray]:
        """Observable → the validation score of each grid point ``[G]`` of method ``name`` on the tuning jets of
        digest ``jets``: read from the folder, or ``compute()``d and written there (atomically)."""
        path = self._path(jets, name, grid, observables)
        if path.is_file():
            stored = json.loads(path.read_text())
            return {k: np.asarray(stored[k], dtype=np.float64) for k in observables}
        scores = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.folder, suffix=".tmp", delete=False) as f:
            json.dump({k: np.asarray(scores[k], dtype=np.float64).tolist() for k in observables}, f)
        os.replace(f.name, path)
        return scores
