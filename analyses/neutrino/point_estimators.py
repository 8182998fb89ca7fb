"""The pz point estimates of a trained flow on the early-stopping validation events of its training set.

    .venv/bin/python analyses/neutrino/point_estimators.py RUN [--data FILES (default: the run's)] [--samples 256]

Prints the pz resolution (IQR/1.349 of estimate − truth, ± a bootstrap error) of the analytic solution (smaller
|pz|), the posterior median, the mode (the most likely sample) and the window mode for several half-widths h, and how often the flow's heavier
W-mass root (the root nearer to most samples) is the right one. The validation events are those the training held
out for early stopping (same seed and fraction as `hepgen train neutrino`): the half-width of
hepgen.validation.neutrino.PZ_WINDOW_HALF_WIDTH was chosen here, never on a test sample.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from hepgen.io import read
from hepgen.tasks.data_parallel import split_events
from hepgen.tasks.neutrino import NEUTRINO, neutrino_arrays, targets_to_momentum
from hepgen.tasks.run_folder import load_model
from hepgen.validation.point_estimates import window_mode


def resolution(residual: np.ndarray) -> float:
    q25, q75 = np.percentile(residual, [25, 75])
    return float((q75 - q25) / 1.349)


def with_error(residual: np.ndarray, rng: np.random.Generator) -> str:
    boot = [resolution(residual[rng.integers(0, len(residual), len(residual))]) for _ in range(100)]
    return f"{resolution(residual):.2f} ± {np.std(boot):.2f} GeV"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--data", nargs="+", default=None, help="the run's training files (default: its config's)")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args()
    model = load_model(NEUTRINO, args.run).eval()
    import yaml

    with open(f"{args.run}/config.yaml") as f:
        config = yaml.safe_load(f)
    data = args.data or config["data"]
    arrays = neutrino_arrays(
        read(data, config.get("schema", "hepgen-ttbar"), entry_stop=config.get("max_events")),
        require_truth=True,
        inputs=model.config.get("inputs", "basic"),
    )
    _, val = split_events(arrays, config["val_fraction"], config["seed"])  # the training's split
    torch.manual_seed(0)
    draws, densities = [], []
    for o, m in (part.tensors() for part in val.batches(512)):
        samples, log_prob = model.sample(o, m, args.samples, with_log_prob=True)
        draws.append(targets_to_momentum(samples).numpy())
        densities.append(log_prob.numpy())
    pz = np.concatenate(draws)[..., 2]
    mode = pz[np.arange(len(pz)), np.concatenate(densities).argmax(axis=1)]
    truth = targets_to_momentum(val.target)[:, 2]
    roots = val.analytic_roots
    nearer = np.abs(roots[:, 0]) < np.abs(roots[:, 1])
    small, large = np.where(nearer, roots[:, 0], roots[:, 1]), np.where(nearer, roots[:, 1], roots[:, 0])
    rng = np.random.default_rng(0)
    print(f"{args.run}: {len(truth)} validation events, {args.samples} samples each")
    print(f"  analytic (smaller |pz|)  {with_error(small - truth, rng)}")
    print(f"  posterior median         {with_error(np.median(pz, axis=1) - truth, rng)}")
    print(f"  mode (most likely sample) {with_error(mode - truth, rng)}")
    for h in (10, 20, 30, 40, 60, 80):
        print(f"  window mode, h = {h:2d} GeV {with_error(window_mode(pz, h) - truth, rng)}")
    real = np.abs(roots[:, 0] - roots[:, 1]) > 1e-3
    right = np.abs(small - truth) < np.abs(large - truth)
    flow_small = (np.abs(pz - small[:, None]) < np.abs(pz - large[:, None])).mean(axis=1) >= 0.5
    print(
        f"  events with real roots {real.mean():.3f}; the right root is the smaller |pz| in {right[real].mean():.3f}, "
        f"the flow's heavier root in {(flow_small == right)[real].mean():.3f}"
    )


if __name__ == "__main__":
    main()
