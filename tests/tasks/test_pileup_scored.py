"""VIPR conditioned on a classifier's scores (``--classifier-scores RUN``): the observed cloud's last feature is the
frozen classifier's p(pileup) of each particle, training moves VIPR's weights and never the classifier's, the scores
reach the loss; through the CLI a classifier run, then a scored VIPR run holding it, predicted; inputs that differ
from the classifier's and the ONNX export are refused clearly."""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch

from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import VIPRModel, jet_batch
from hepgen.tasks.pileup.classifier import PileupClassifierModel


def test_the_scores_are_the_frozen_classifiers_and_reach_the_loss(top_jets, minbias_file):
    hard = read_hard_jets(top_jets, entry_stop=6)
    batch = jet_batch(overlay_pileup(hard, read_pileup_pool(minbias_file), mu=60, seed=3), input="chs", hard=hard)
    torch.manual_seed(0)
    classifier = PileupClassifierModel(dim=16, heads=4, blocks=1)
    classifier.fit_standardization(batch)
    model = VIPRModel(dim=16, blocks=1, encoder_blocks=1, scorer=classifier.config)
    model.fit_standardization(batch)
    model.adopt_scorer(classifier)
    t = batch.to_torch()
    obs, mask, _ = model.conditioning(t)
    assert obs.shape[-1] == t.observed.shape[-1] + 1
    expected = classifier.pileup_probability(t)
    torch.testing.assert_close(obs[..., -1][mask], expected[mask], rtol=0, atol=0)  # the same network, bit for bit
    assert torch.all(obs[..., -1][~mask] == 0)
    frozen = {k: v.clone() for k, v in model.scorer.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    assert model.training and not model.scorer.training  # the frozen classifier scores as in prediction
    diffusion, multiplicity = model.loss(t, generator=torch.Generator().manual_seed(1))
    (diffusion + multiplicity).backward()
    assert all(p.grad is None for p in model.scorer.parameters())
    # the score column of the observed encoders' first layer gets a gradient: the scores reach the loss
    for encoder in (model.denoiser.network.encoder, model.multiplicity.encoder):
        first = next(m for m in encoder.modules() if isinstance(m, torch.nn.Linear))
        assert first.in_features == obs.shape[-1] and first.weight.grad[:, -1].abs().sum() > 0
    optimizer.step()
    assert all(torch.equal(model.scorer.state_dict()[k], v) for k, v in frozen.items())


def test_a_scored_vipr_run_holds_its_classifier_and_predicts(top_jets, minbias_file, tmp_path):
    from hepgen.cli import main
    from hepgen.io import read_event_outputs
    from hepgen.tasks.run_folder import load_model

    common = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--dim", "16", "--blocks", "1"]
    common += ["--batch-size", "16", "--max-events", "32", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    classifier, scored = tmp_path / "classifier", tmp_path / "scored"
    assert main(["train", "puppiml", *common, "--out", str(classifier)]) == 0
    other_input = ["--input", "observed", "--out", str(tmp_path / "x"), "--classifier-scores", str(classifier)]
    refused = main(["train", "pileup", *common, *other_input])
    assert refused == 2 and not (tmp_path / "x" / "model.pt").exists()
    assert main(["train", "pileup", *common, "--out", str(scored), "--classifier-scores", str(classifier)]) == 0
    trained, model = load_model("puppiml", classifier), load_model("pileup", scored)
    for name, weights in trained.state_dict().items():  # frozen: the VIPR run kept the classifier as trained
        assert torch.equal(model.scorer.state_dict()[name], weights)
    where = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--mu", "60", "--max-events", "4", "--no-progress"]
    out = tmp_path / "scored.root"
    assert (
        main(["predict", "pileup", "--run", str(scored), *where, "--samples", "2", "--steps", "3", "--out", str(out)])
        == 0
    )
    outputs, event_id, _ = read_event_outputs(out, tree="VIPR")
    assert list(event_id["entry"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    pt = np.asarray(ak.flatten(outputs["constituent_pt"]))
    assert len(pt) and np.isfinite(pt).all() and (pt > 0).all()
    assert main(["export", "pileup", "--run", str(scored), "--out", str(tmp_path / "onnx")]) == 2
