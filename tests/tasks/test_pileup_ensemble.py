"""A deep ensemble of VIPR models: each jet's samples are the members' own samples in equal shares (jet-major, the
members' clouds padded to one width), through `hepgen predict pileup --ensemble` too; members trained differently
and samples that do not split evenly are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgen.errors import HepgenInputError
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import VIPRModel, jet_batch
from hepgen.tasks.pileup.ensemble import VIPREnsemble


def _models_and_batch(top_jets, minbias_file):
    hard = read_hard_jets(top_jets, entry_stop=4)
    batch = jet_batch(overlay_pileup(hard, read_pileup_pool(minbias_file), mu=60, seed=2), input="chs", hard=hard)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = VIPRModel(dim=16, heads=2, blocks=1, encoder_blocks=1).eval()
        model.fit_standardization(batch)
        model.saved_with = {"task": "pileup", "input": "chs", "target": "a"}
        models.append(model)
    return models, batch.to_torch()


def test_the_ensembles_samples_are_each_members_own_in_equal_shares(top_jets, minbias_file):
    (a, b), tensors = _models_and_batch(top_jets, minbias_file)
    clouds, mask = VIPREnsemble([a, b]).sample(tensors, 6, steps=3, generator=torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(5)  # the members draw in order from one stream
    own = [m.sample(tensors, 3, steps=3, generator=generator) for m in (a, b)]
    jets = 4
    assert clouds.shape[0] == jets * 6 and mask.shape == clouds.shape[:2]
    for j in range(jets):
        for k, (member_clouds, member_mask) in enumerate(own):
            rows = slice(6 * j + 3 * k, 6 * j + 3 * k + 3)  # jet j: member a's three samples, then member b's
            width = member_clouds.shape[1]
            assert torch.equal(mask[rows, :width], member_mask[3 * j : 3 * j + 3])
            assert not mask[rows, width:].any()  # the narrower member's clouds are padded, not filled
            torch.testing.assert_close(clouds[rows, :width], member_clouds[3 * j : 3 * j + 3], rtol=0, atol=0)
    with pytest.raises(HepgenInputError, match="not a multiple"):
        VIPREnsemble([a, b]).sample(tensors, 5, steps=3)
    b.saved_with = {**b.saved_with, "target": "b"}
    with pytest.raises(HepgenInputError, match="different target"):
        VIPREnsemble([a, b])


@pytest.mark.slow
def test_predict_pileup_samples_an_ensemble_of_runs(top_jets, minbias_file, tmp_path):
    from hepgen.cli import main
    from hepgen.io import read_event_outputs

    common = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--dim", "16", "--blocks", "1"]
    common += ["--batch-size", "16", "--max-events", "24", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    runs = []
    for seed in (1, 2):
        runs.append(str(tmp_path / f"vipr_s{seed}"))
        assert main(["train", "pileup", *common, "--seed", str(seed), "--out", runs[-1]]) == 0
    predict = ["predict", "pileup", "--jets", str(top_jets), "--pileup", str(minbias_file), "--steps", "4"]
    predict += ["--max-events", "3", "--no-progress"]
    out = tmp_path / "ensemble.root"
    assert main([*predict, "--run", runs[0], "--ensemble", runs[1], "--samples", "4", "--out", str(out)]) == 0
    outputs, event_id, metadata = read_event_outputs(out, tree="VIPR")
    np.testing.assert_array_equal(event_id["entry"], np.repeat(np.arange(3), 4))
    assert np.isfinite(outputs["jet_mass"]).all() and metadata["method"] == "vipr"
    odd = tmp_path / "odd.root"
    assert main([*predict, "--run", runs[0], "--ensemble", runs[1], "--samples", "3", "--out", str(odd)]) == 2
    assert not odd.exists()
