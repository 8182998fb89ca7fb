"""The epochs of a pileup task: the whole epoch overlaid at once (as the shipped models trained) or a group of jets
at a time, in the training process or in a data worker — every jet once per epoch, the same batches either way."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgen.cli import main
from hepgen.sim.pileup import read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup.epochs import overlay_epochs
from hepgen.tasks.pileup.overlay import OverlayTraining
from tests.tasks.inputs import TRAINING_FILES, as_flags, small_network

JETS = read_hard_jets([str(TRAINING_FILES["jets"])], entry_stop=100)
POOL = read_pileup_pool([str(TRAINING_FILES["pileup"])])


def _epoch(group: int, epoch: int, shuffle: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """(hard-jet pT sums, observed constituent counts) of each batch of one epoch."""
    settings = OverlayTraining(jets=["-"], pileup=["-"], batch_size=16, overlay_group=group)

    def build(observed, index, jets):
        assert len(jets) >= len(index) and len(observed.jet_pt) == len(jets)  # an overlay of exactly these jets
        return ak.to_numpy(ak.sum(jets.constituents.pt[index], axis=1)), ak.to_numpy(
            ak.num(observed.constituents[index])
        )

    batches = overlay_epochs(JETS, POOL, settings, build, shuffle=shuffle, seed=3)
    batches.set_epoch(epoch)
    out = list(batches)
    assert len(out) == len(batches)
    return out


@pytest.mark.parametrize("group", [0, 32])
def test_every_jet_once_per_epoch_and_fresh_pileup_each_epoch(group):
    first, second = _epoch(group, 0), _epoch(group, 1)
    for epoch in (first, second):  # every jet once (their hard pT sums, a fingerprint of each jet)
        seen = np.sort(np.concatenate([pt for pt, _ in epoch]))
        np.testing.assert_allclose(seen, np.sort(ak.to_numpy(ak.sum(JETS.constituents.pt, axis=1))), rtol=1e-6)
    counts = [np.concatenate([c for _, c in epoch]).sum() for epoch in (first, second)]
    assert counts[0] != counts[1]  # other pileup in another epoch
    again = _epoch(group, 0)  # reproducible from (seed, epoch)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    validation = [_epoch(group, e, shuffle=False) for e in (0, 1)]  # the same validation pileup every epoch
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(*validation, strict=True))


def test_bad_group_is_refused():
    from hepgen.errors import HepgenInputError

    with pytest.raises(HepgenInputError, match="overlay-group"):
        _epoch(-1, 0)


def test_a_data_worker_makes_the_same_batches(tmp_path):
    """Two epochs of the classifier with the batches made in the training process, in one worker and in two: the
    same losses, step by step (every number of the log)."""
    inputs = {k: [str(TRAINING_FILES[k])] for k in ("jets", "pileup")}
    flags = as_flags({**inputs, **small_network(OverlayTraining), "max_events": 48, "batch_size": 16})
    logs = []
    for workers in (0, 1, 2):
        run = tmp_path / f"run{workers}"
        argv = ["train", "puppiml", "--out", str(run), *flags, "--overlay-group", "16", "--max-epochs", "2"]
        assert main([*argv, "--data-workers", str(workers), "--no-progress", "--accelerator", "cpu"]) == 0
        logs.append(next(run.glob("logs/version_*/metrics.csv")).read_text())
    assert logs[0] == logs[1] == logs[2] and logs[0].count("\n") > 3
