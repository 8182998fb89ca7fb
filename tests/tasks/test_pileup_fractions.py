"""The hard-fraction posterior (``hepgen train|predict pileup_fractions``) and the classifier's soft targets: the
target is the truth's share of each observed particle's energy; the sampler integrates a known velocity field
exactly; with the true fractions the prediction rebuilds the truth jet; through the CLI a trained run predicts jets
made of the observed particles, scaled; the classifier as weights in the validation, by hand."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.physics.kinematics import PION_MASS, pt_eta_phi_mass, summed_p4
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch
from hepgen.tasks.pileup.classifier import PileupClassifierModel
from hepgen.tasks.pileup.fractions import HardFractionModel
from hepgen.tasks.pileup.inputs import input_cloud


@pytest.fixture(scope="module")
def overlay(top_jets, minbias_file):
    hard = read_hard_jets(top_jets, entry_stop=6)
    return hard, overlay_pileup(hard, read_pileup_pool(minbias_file), mu=60, seed=3)


def test_the_target_is_the_truth_share_of_each_input_particle(overlay):
    """In the particle world a particle is all hard or all pileup: the fraction is 1 − is_pileup, particle by
    particle of the CHS cloud, and 0 on padding."""
    hard, observed = overlay
    batch = jet_batch(observed, input="chs")
    cloud = input_cloud(observed, "chs")
    expected = ak.to_numpy(ak.flatten(~cloud.is_pileup)).astype(np.float32)
    assert np.array_equal(batch.observed_hard_fraction[batch.observed_mask], expected)
    assert np.all(batch.observed_hard_fraction[~batch.observed_mask] == 0)
    assert 0 < expected.mean() < 1  # both kinds are in the fixture


def _point_mass_velocity(model, value):
    """The exact rectified-flow velocity towards the point x = value for every particle: (value − x) / (1 − t)."""

    def forward(observed, mask, context, x, t):
        return (value - x) / (1 - t[:, None]).clamp_min(1e-6)

    model.forward = forward


@pytest.mark.parametrize("sampler,steps", [("euler", 1), ("euler", 5), ("heun_t", 3)])
def test_the_sampler_integrates_a_known_velocity_exactly(overlay, sampler, steps):
    """Straight paths to a point are integrated exactly by Euler and Heun steps: every real particle's fraction is
    the point's (x = 0.2 → f = 0.6), jet-major over samples, padding 0; x = 3 is clipped to f = 1."""
    _, observed = overlay
    batch = jet_batch(observed, input="chs")
    model = HardFractionModel(dim=16, blocks=1)
    model.fit_standardization(batch)
    t = batch.to_torch()
    for value, fraction in ((0.2, 0.6), (3.0, 1.0)):
        _point_mass_velocity(model, value)
        f = model.sample(t, 4, steps=steps, sampler=sampler, generator=torch.Generator().manual_seed(0))
        mask = t.observed_mask.repeat_interleave(4, dim=0)
        assert f.shape == mask.shape
        torch.testing.assert_close(f[mask], torch.full_like(f[mask], fraction), rtol=0, atol=1e-5)
        assert torch.all(f[~mask] == 0)


def test_the_true_fractions_rebuild_the_truth_jet(overlay, monkeypatch, tmp_path, top_jets, minbias_file):
    """A model that samples the true fractions predicts the truth: in the particle world the truth jet's mass to
    float32 precision (the observed particles with f = 1 are the hard ones, CHS keeps them all)."""
    from hepgen.cli import main
    from hepgen.io import read_event_outputs

    common = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--dim", "16", "--blocks", "1"]
    common += ["--batch-size", "16", "--max-events", "32", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    run = tmp_path / "run"
    assert main(["train", "pileup_fractions", *common, "--out", str(run)]) == 0

    def truth_fractions(self, batch, samples, **_):
        return batch.observed_hard_fraction.repeat_interleave(samples, dim=0)

    monkeypatch.setattr(HardFractionModel, "sample", truth_fractions)
    out = tmp_path / "oracle.root"
    where = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--mu", "60", "--max-events", "6", "--no-progress"]
    assert main(["predict", "pileup_fractions", "--run", str(run), *where, "--samples", "2", "--out", str(out)]) == 0
    samples, event_id, metadata = read_event_outputs(out, tree="VIPR")
    assert metadata["method"] == "vipr_fractions" and list(event_id["entry"]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    jets, _, _ = read_event_outputs(out, tree="Jets")
    truth = ak.zip({k: jets[f"truth_constituent_{k}"] for k in ("pt", "eta", "phi")})
    _, _, _, mass = pt_eta_phi_mass(summed_p4(truth, mass=PION_MASS))  # the truth jet as every method's: pion masses
    np.testing.assert_allclose(samples["jet_mass"], np.repeat(mass, 2), rtol=1e-5)


def test_a_trained_run_predicts_the_observed_particles_scaled(tmp_path, top_jets, minbias_file):
    """Through the CLI: every sampled constituent is an observed particle of its jet (same η, φ) with its pT × f,
    f and pT × f above the cuts asked for; the samples of a jet differ."""
    from hepgen.cli import main
    from hepgen.io import read_event_outputs

    common = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--dim", "16", "--blocks", "1"]
    common += ["--batch-size", "16", "--max-events", "32", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    run = tmp_path / "run"
    assert main(["train", "pileup_fractions", *common, "--out", str(run)]) == 0
    where = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--mu", "60", "--max-events", "3", "--no-progress"]
    out = tmp_path / "p.root"
    args = ["predict", "pileup_fractions", "--run", str(run), *where, "--samples", "3", "--steps", "2"]
    cut = ["--min-fraction", "0.1", "--min-hard-pt", "0.5"]
    assert main([*args, "--sampler", "euler", *cut, "--out", str(out)]) == 0
    samples, event_id, _ = read_event_outputs(out, tree="VIPR")
    jets, _, _ = read_event_outputs(out, tree="Jets")
    for row, jet in enumerate(event_id["entry"]):
        observed = {k: np.asarray(jets[f"observed_constituent_{k}"][jet]) for k in ("pt", "eta", "phi")}
        fields = ("pt", "eta", "phi", "hard_fraction")
        for pt, eta, phi, f in zip(*(np.asarray(samples[f"constituent_{k}"][row]) for k in fields)):
            match = np.flatnonzero((np.abs(observed["eta"] - eta) < 1e-5) & (np.abs(observed["phi"] - phi) < 1e-5))
            assert len(match) == 1 and pt == pytest.approx(observed["pt"][match[0]] * f, rel=1e-5), (row, pt, f)
            assert 0.1 <= f <= 1 and pt >= 0.5
    masses = np.asarray(samples["jet_mass"]).reshape(3, 3)
    assert np.all(np.ptp(masses, axis=1) > 0)
    with pytest.raises(SystemExit) as refused:  # EDM's sampler is not one of this model's: a usage error
        main([*args, "--sampler", "heun", "--out", str(tmp_path / "x.root")])
    assert refused.value.code == 2 and not (tmp_path / "x.root").exists()


def test_soft_targets_are_the_pileup_share_of_energy():
    """The classifier's loss with soft targets is the binary cross-entropy against 1 − hard fraction (by hand), and
    with labels against is_pileup."""
    from hepgen.tasks.pileup.inputs import JetBatch

    fraction = torch.tensor([[1.0, 0.25, 0.0]])
    batch = JetBatch(
        observed=torch.randn(1, 3, 5),
        observed_mask=torch.tensor([[True, True, False]]),
        observed_is_pileup=torch.tensor([[False, True, True]]),
        context=torch.zeros(1, 7),
        axis=torch.zeros(1, 2),
        observed_hard_fraction=fraction,
    )
    for soft in (False, True):
        model = PileupClassifierModel(dim=16, blocks=1, soft_targets=soft)
        logits = model(batch)[0, :2]
        target = torch.tensor([0.0, 0.75]) if soft else torch.tensor([0.0, 1.0])
        p = torch.sigmoid(logits)
        by_hand = -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()
        torch.testing.assert_close(model.loss(batch), by_hand, rtol=1e-5, atol=1e-6)


def test_the_classifier_as_weights_scales_each_particle_by_its_hard_probability():
    """``puppiml_weighted``: every observed particle with pT × (1 − p), those with 1 − p below the cut dropped, by
    hand on two particles back to back (weights 0.9 and 0.4)."""
    from hepgen.validation.pileup.load import PointPrediction
    from hepgen.validation.pileup.tune import CLASSIFIER_WEIGHT_CUTS, observables, tunables

    observed = ak.Array(
        [
            [
                {"pt": 100.0, "eta": 0.0, "phi": 0.0, "charge": 0.0, "is_pileup": False},
                {"pt": 50.0, "eta": 0.0, "phi": np.pi, "charge": 0.0, "is_pileup": True},
            ]
        ]
    )
    point = PointPrediction(60.0, 0, 0, [], np.arange(1), observed, observed, np.zeros(1), np.zeros(1))
    point.scores["puppiml"] = ak.Array([[0.1, 0.6]])
    weighted = next(t for t in tunables(point) if t.name == "puppiml_weighted")
    assert weighted.grid == CLASSIFIER_WEIGHT_CUTS
    position = {cut: CLASSIFIER_WEIGHT_CUTS.index(cut) for cut in (0.2, 0.5)}
    jets = weighted.groomed(point, np.arange(1), list(position.values()))
    pt = {cut: observables(jets[g])["pt"] for cut, g in position.items()}
    np.testing.assert_allclose(pt[0.2], [90.0 - 20.0], rtol=1e-9)  # back to back: 100·0.9 − 50·0.4
    np.testing.assert_allclose(pt[0.5], [90.0], rtol=1e-9)  # the weight 0.4 is below the cut: dropped


def test_a_scored_fractions_run_holds_its_frozen_classifier_and_predicts(tmp_path, top_jets, minbias_file):
    """``--classifier-scores RUN``: the run keeps the classifier's weights unchanged after training, its scores are
    one more observed feature (the encoder reads 5 + 1 + the noisy fraction), and it predicts."""
    from hepgen.cli import main
    from hepgen.io import read_event_outputs
    from hepgen.tasks.run_folder import load_model

    common = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--dim", "16", "--blocks", "1"]
    common += ["--batch-size", "16", "--max-events", "32", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]
    classifier, scored = tmp_path / "classifier", tmp_path / "scored"
    assert main(["train", "puppiml", *common, "--out", str(classifier)]) == 0
    scores = ["--classifier-scores", str(classifier)]
    assert main(["train", "pileup_fractions", *common, *scores, "--out", str(scored)]) == 0
    trained, model = load_model("puppiml", classifier), load_model("pileup_fractions", scored)
    for name, weights in trained.state_dict().items():
        assert torch.equal(model.scorer.state_dict()[name], weights)
    first = next(m for m in model.velocity.encoder.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 5 + 1 + 1
    model.train()
    assert model.training and not model.scorer.training
    where = ["--jets", str(top_jets), "--pileup", str(minbias_file), "--mu", "60", "--max-events", "3", "--no-progress"]
    out = tmp_path / "p.root"
    assert main(["predict", "pileup_fractions", "--run", str(scored), *where, "--samples", "2", "--out", str(out)]) == 0
    _, event_id, _ = read_event_outputs(out, tree="VIPR")
    assert list(event_id["entry"]) == [0, 0, 1, 1, 2, 2]
