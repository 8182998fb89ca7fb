"""The flow's point estimates and b pairing on the early-stopping validation events of its training set.

    .venv/bin/python analyses/dineutrino/point_estimators.py RUN [--samples 256] [--events 5000]

Prints, with bootstrap errors, the resolution (IQR/1.349) and bias (median) against the generator of:

* m(tt̄) (relative, x/x_true − 1) from: the posterior median of the samples' m(tt̄) (what `validate dineutrino`
  reports), the most likely sample, the window mode of log m(tt̄) for several half-widths, and the m(tt̄) of the
  component-wise median neutrinos;
* each neutrino's pz [GeV]: posterior median and window modes;
* the top pT and cos θ⁺ of the two b pairings: :func:`hepgen.tasks.dineutrino.flow_pairing` (mean distance of the
  samples' m(ℓνb) to m_t) and the pairing of the median neutrinos.

The validation events are those the training held out for early stopping (the run's seed and fraction): choices made
here never see the test sample.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import yaml

from hepgen.io import read
from hepgen.physics.dilepton_neutrinos import ttbar_observables
from hepgen.tasks.data_parallel import split_events
from hepgen.tasks.dineutrino import DINEUTRINO, b_candidates_p4, dineutrino_arrays, flow_pairing, targets_to_momenta
from hepgen.tasks.run_folder import load_model
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_difference
from hepgen.validation.point_estimates import window_mode


def show(name: str, residual: np.ndarray, reference: np.ndarray | None = None, unit: str = "") -> None:
    r = bootstrap_bias_resolution(residual, resamples=200)
    line = (
        f"  {name:40s} resolution {r['resolution']:.4f} ± {r['resolution_err']:.4f}{unit}   "
        f"bias {r['bias']:+.4f} ± {r['bias_err']:.4f}{unit}"
    )
    if reference is not None:
        d = paired_resolution_difference(residual, reference)
        line += f"   vs the first (paired) {d['difference']:+.4f} ± {d['error']:.4f}"
    print(line)


def observables(b_pair: np.ndarray, leptons: np.ndarray, nus: np.ndarray) -> dict[str, np.ndarray]:
    """tt̄ observables of neutrinos ``[B, K, 2, 3]`` (K per event) with b candidates in top order ``[B, 2, 4]``."""
    n, k = nus.shape[:2]

    def rep(x):
        return np.repeat(x, k, axis=0)

    flat = nus.reshape(n * k, 2, 3).astype(np.float64)
    out = ttbar_observables(
        rep(b_pair[:, 0]), rep(leptons[:, 0]), flat[:, 0], rep(b_pair[:, 1]), rep(leptons[:, 1]), flat[:, 1]
    )
    return {name: v.reshape(n, k) for name, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--events", type=int, default=None, help="at most this many validation events")
    args = parser.parse_args()
    model = load_model(DINEUTRINO, args.run).eval()
    with open(f"{args.run}/config.yaml") as f:
        config = yaml.safe_load(f)
    arrays = dineutrino_arrays(
        read(config["data"], config.get("schema", "hepgen-ttbar-dilepton"), entry_stop=config.get("max_events")),
        require_truth=True,
        inputs=model.config["inputs"],
    )
    _, val = split_events(arrays, config["val_fraction"], config["seed"])  # the training's split
    if args.events is not None:
        val = val.select(np.arange(min(args.events, len(val))))
    torch.manual_seed(0)
    draws, densities = [], []
    for start in range(0, len(val), 512):
        objects, masks = val.select(np.arange(start, min(start + 512, len(val)))).tensors()
        samples, log_prob = model.sample(objects, masks, args.samples, with_log_prob=True)
        draws.append(targets_to_momenta(samples).numpy())
        densities.append(log_prob.numpy())
    samples, log_prob = np.concatenate(draws).astype(np.float64), np.concatenate(densities)
    truth = targets_to_momenta(val.target.astype(np.float64))
    true_obs = val.truth_observables
    leptons = val.leptons_p4.astype(np.float64)
    b_pair = flow_pairing(b_candidates_p4(val), leptons, samples)
    rows = np.arange(len(val))
    print(f"{args.run}: {len(val)} validation events, {args.samples} samples each")

    per_sample = observables(b_pair, leptons, samples)
    median_nus = np.median(samples, axis=1)
    of_median = observables(b_pair, leptons, median_nus[:, None])
    m_true = true_obs["m_ttbar"]
    m = per_sample["m_ttbar"]
    print("m(tt̄), relative:")
    reference = np.median(m, axis=1) / m_true - 1
    show("posterior median of m(tt̄)", reference)
    show("most likely sample", m[rows, log_prob.argmax(axis=1)] / m_true - 1, reference)
    for h in (0.02, 0.04, 0.06, 0.1, 0.15):
        show(f"window mode of log m, h = {h}", np.exp(window_mode(np.log(m), h)) / m_true - 1, reference)
    show("m(tt̄) of the median neutrinos", of_median["m_ttbar"][:, 0] / m_true - 1, reference)

    for i, nu in enumerate(("ν", "ν̄")):
        print(f"{nu} pz [GeV]:")
        pz = samples[:, :, i, 2]
        reference = np.median(pz, axis=1) - truth[:, i, 2]
        show("posterior median", reference, unit=" GeV")
        for h in (20, 30, 40):
            show(f"window mode, h = {h} GeV", window_mode(pz, h) - truth[:, i, 2], reference, unit=" GeV")

    print("b pairing (posterior medians of the samples' observables):")
    swapped = flow_pairing(b_candidates_p4(val), leptons, median_nus[:, None])
    by_median = observables(swapped, leptons, samples)
    print(f"  the two pairings differ on {np.mean(np.any(swapped != b_pair, axis=(1, 2))):.3f} of the events")
    for name, kind in (("top_pt", "relative"), ("cos_theta_plus", "absolute"), ("cos_theta_minus", "absolute")):

        def residual(obs, name=name, kind=kind):
            median = np.median(obs[name], axis=1)
            return median / true_obs[name] - 1 if kind == "relative" else median - true_obs[name]

        show(f"{name}: mean-distance pairing", residual(per_sample))
        show(f"{name}: median-neutrino pairing", residual(by_median), residual(per_sample))


if __name__ == "__main__":
    main()
