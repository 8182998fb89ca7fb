"""Dilepton neutrinos: the flow's posterior sampling time per event at 256 samples, with the classical methods'
time per event beside it (the analytic ellipse method, Neutrino Weighting with an m_t scan, the smeared kinematic
reconstruction with its templates from data/ttbar_dilepton.root).

Uses the default dineutrino model (dim 64, 3 attention blocks, a 4-transform spline flow over six dimensions; an
untrained model samples as fast as a trained one) on synthetic inputs of the real shapes (2 leptons, 10 jets, MET),
and the classical methods on on-shell tt̄ events made here (both lepton–b pairings, as `predict` runs them). The
constrained model's time includes building its extra inputs (the ellipse method and Neutrino Weighting for both
pairings, :func:`hepgen.tasks.dineutrino.classical_tokens`, on those events) and its 10 extra tokens.

Reference: ν²-Flows report 71 ms per event on one CPU core (0.03 ms on a GPU batch). Target: ≤ 10 ms per event.

    python benchmarks/bench_dineutrino.py [--events 1024] [--samples 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hepgen.io import read
from hepgen.physics.dilepton_kinreco import kinematic_reconstruction
from hepgen.physics.dilepton_neutrinos import ellipse_method, neutrino_weighting, solve_with_pairings
from hepgen.tasks.dineutrino import DILEPTON_FEATURES, DineutrinoModel, classical_tokens
from hepgen.tasks.dineutrino.kinreco import templates_from_events

REFERENCE_MS_PER_EVENT = 71.4  # ν²-Flows, one CPU core, 256 samples
TARGET_MS_PER_EVENT = 10.0  # issue 15


def synthetic(n: int, rng: np.random.Generator) -> tuple[dict, dict]:
    sizes = {"leptons": 2, "jets": 10, "met": 1}
    objects = {
        k: torch.as_tensor(rng.normal(size=(n, sizes[k], len(f))), dtype=torch.float32)
        for k, f in DILEPTON_FEATURES.items()
    }
    masks = {k: torch.ones(n, sizes[k], dtype=torch.bool) for k in DILEPTON_FEATURES}
    masks["jets"] = torch.arange(10)[None, :] < torch.as_tensor(rng.integers(2, 11, n))[:, None]
    return objects, masks


def on_shell_events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """b, ℓ, ν of each top, on shell, from isotropic decays (as the tests build them)."""

    def boost(p, frame):
        beta = frame[:, :3] / frame[:, 3:4]
        b2 = (beta**2).sum(1, keepdims=True)
        gamma = 1 / np.sqrt(1 - b2)
        bp = (beta * p[:, :3]).sum(1, keepdims=True)
        return np.concatenate(
            [p[:, :3] + ((gamma - 1) * bp / b2 + gamma * p[:, 3:4]) * beta, gamma * (p[:, 3:4] + bp)], 1
        )

    def decay(parent, m, m1, m2):
        p = np.sqrt((m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2)) / (2 * m)
        c, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
        d = np.stack([np.sqrt(1 - c**2) * np.cos(phi), np.sqrt(1 - c**2) * np.sin(phi), c], 1)
        one = np.concatenate([p * d, np.full((n, 1), np.hypot(p, m1))], 1)
        two = np.concatenate([-p * d, np.full((n, 1), np.hypot(p, m2))], 1)
        return boost(one, parent), boost(two, parent)

    out = {}
    for side in ("", "bar"):
        pt, eta, phi = rng.uniform(20, 300, n), rng.normal(0, 1.2, n), rng.uniform(-np.pi, np.pi, n)
        p3 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], 1)
        top = np.concatenate([p3, np.sqrt((p3**2).sum(1, keepdims=True) + 172.5**2)], 1)
        w, out[f"b{side}"] = decay(top, 172.5, 80.377, 4.8)
        out[f"l{side}"], out[f"nu{side}"] = decay(w, 80.377, 0.0, 0.0)
    out["met"] = out["nu"][:, :2] + out["nubar"][:, :2]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1024)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    objects, masks = synthetic(args.events, rng)
    events = on_shell_events(args.events, rng)
    b_pair = np.stack([events["b"], events["bbar"]], axis=1)
    leptons = np.stack([events["l"], events["lbar"]], axis=1)

    def sample(model: DineutrinoModel, objects: dict, masks: dict) -> None:
        for start in range(0, args.events, args.batch):
            part = slice(start, start + args.batch)
            model.sample({k: v[part] for k, v in objects.items()}, {k: v[part] for k, v in masks.items()}, args.samples)

    def constrained_inputs() -> tuple[dict, dict]:
        tokens = classical_tokens(b_pair, leptons, events["met"])
        return (
            {**objects, **{k: torch.as_tensor(v) for k, (v, _) in tokens.items()}},
            {**masks, **{k: torch.as_tensor(m) for k, (_, m) in tokens.items()}},
        )

    flows = {}
    for inputs in ("basic", "constrained"):
        model = DineutrinoModel(inputs=inputs).eval()
        o, m = (objects, masks) if inputs == "basic" else constrained_inputs()
        model.encoder.fit_standardization(o, m)
        sample(model, o, m)  # warm-up
        start = time.perf_counter()
        o, m = (objects, masks) if inputs == "basic" else constrained_inputs()
        sample(model, o, m)
        flows[inputs] = (time.perf_counter() - start) / args.events * 1e3
    flow = flows["basic"]
    timings = {}
    for name, method in (("ellipse method", ellipse_method), ("Neutrino Weighting", neutrino_weighting)):
        start = time.perf_counter()
        solve_with_pairings(method, b_pair, events["l"], events["lbar"], events["met"])
        timings[name] = (time.perf_counter() - start) / args.events * 1e3
    templates = templates_from_events(read("data/ttbar_dilepton.root", "hepgen-ttbar-dilepton"))
    four_jets = np.concatenate([b_pair, np.roll(b_pair, 1, axis=0)], axis=1)  # two more jets: other events' b's
    for jets in (2, 4):
        start = time.perf_counter()
        kinematic_reconstruction(
            leptons,
            four_jets[:, :jets],
            np.tile([1.0, 1.0, 0.0, 0.0][:jets], (args.events, 1)),
            np.ones((args.events, jets), bool),
            events["met"],
            templates,
        )
        timings[f"kinreco ({jets} jets)"] = (time.perf_counter() - start) / args.events * 1e3
    print(f"torch threads {torch.get_num_threads()}, {args.events} events")
    print(f"flow sampling          : {flow:8.2f} ms/event ({args.samples} samples; target <= {TARGET_MS_PER_EVENT} ms)")
    print(f"constrained flow       : {flows['constrained']:8.2f} ms/event (its classical inputs built, then sampled)")
    for name, ms in timings.items():
        how = "100 smearings of every ordered jet pair" if name.startswith("kinreco") else "both lepton-b pairings"
        print(f"{name:23s}: {ms:8.2f} ms/event ({how}; {ms / flow:.2f} x the flow)")
    print(f"reference (nu2-Flows)  : {REFERENCE_MS_PER_EVENT:8.2f} ms/event on one CPU core")
    print(
        f"ratio to the reference : {flow / REFERENCE_MS_PER_EVENT:8.3f} (constrained: "
        f"{flows['constrained'] / REFERENCE_MS_PER_EVENT:.3f})"
    )


if __name__ == "__main__":
    main()
