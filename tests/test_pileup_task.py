"""VIPR task: inputs respect masks and truncation; a tiny model overfits a handful of jets (generated close to
the truth, far closer than the observed jets); samples convert back to four-vectors."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch
import uproot

from hepgen.sim.pileup import HardJets, PileupPool, overlay_pileup
from hepgen.tasks.pileup import VIPRModel, jet_batch, to_generated_jets


def hard_jets(path, n):
    jets = uproot.open(path)["Jets"].arrays(entry_stop=n)
    constituents = ak.zip({k: jets[f"Constituent_{k}"] for k in ("pt", "eta", "phi", "mass", "charge")})
    return jets, HardJets.from_columns(ak.to_numpy(jets.Jet_eta), ak.to_numpy(jets.Jet_phi), constituents)


def test_inputs_are_relative_to_the_observed_axis_and_truncation_is_counted(top_jets, minbias_file):
    jets, hard = hard_jets(top_jets, 6)
    observed = overlay_pileup(hard, PileupPool.from_root(minbias_file), mu=30, seed=2)
    batch = jet_batch(observed, 30.0, hard=hard, max_hard=40)
    counts = ak.to_numpy(jets.nConstituent)
    assert batch.truncated == int(np.maximum(counts - 40, 0).sum()) > 0
    np.testing.assert_array_equal(batch.hard_mask.sum(1), np.minimum(counts, 40))
    np.testing.assert_array_equal(batch.observed_mask.sum(1), ak.to_numpy(ak.num(observed.constituents)))
    # hard constituents kept are the hardest, in decreasing pT
    log_pt = np.where(batch.hard_mask, batch.hard[..., 2], -np.inf)
    assert np.all(np.diff(log_pt, axis=1)[batch.hard_mask[:, 1:]] <= 0)
    assert np.allclose(batch.context[:, 4], 30.0) and not batch.observed[~batch.observed_mask].any()
    # Δη, Δφ of the observed constituents are small around the observed axis (R = 1 cone)
    real = batch.observed_mask
    assert np.all(np.hypot(batch.observed[..., 0], batch.observed[..., 1])[real] < 1.3)


@pytest.mark.slow
def test_tiny_model_overfits_a_handful_of_jets(top_jets, minbias_file):
    jets, hard = hard_jets(top_jets, 4)
    observed = overlay_pileup(hard, PileupPool.from_root(minbias_file), mu=40, seed=1)
    batch = jet_batch(observed, 40.0, hard=hard, max_hard=128)
    torch.manual_seed(0)
    model = VIPRModel(dim=32, heads=4, blocks=2, encoder_blocks=1, max_hard=128)
    model.fit_standardization(batch)
    tensors = batch.to_torch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    for _ in range(1200):
        diffusion, multiplicity = model.loss(tensors)
        optimizer.zero_grad()
        (diffusion + multiplicity).backward()
        optimizer.step()
    model.eval()
    clouds, mask = model.sample(tensors, 8, steps=30, generator=torch.Generator().manual_seed(0))
    # the multiplicity model has learnt each jet's count
    np.testing.assert_array_equal(mask.sum(1).view(4, 8)[:, 0].numpy(), np.minimum(ak.to_numpy(jets.nConstituent), 128))
    generated = to_generated_jets(clouds, mask, batch.axis, 8)
    truth = ak.to_numpy(jets.Jet_mass)
    median = np.array([np.median(generated.mass[generated.jet_index == j]) for j in range(4)])
    gen_error = np.mean(np.abs(median / truth - 1))
    obs_error = np.mean(np.abs(observed.jet_mass / truth - 1))
    assert gen_error < 0.15 and gen_error < 0.6 * obs_error, (gen_error, obs_error, median, truth, observed.jet_mass)
    assert np.allclose(generated.eta[::8], observed.jet_eta, atol=0.3)  # generated jets point where the jet is
