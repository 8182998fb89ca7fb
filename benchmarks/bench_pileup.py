"""VIPR speed, in one run: training jets/s; the NFE table — ms per jet·sample of each shipped model and sampler at
1, 2, 4, 8, 16, 32 and 99 network evaluations — and the chosen few-step setting against the 99-evaluation EDM
reference and the target (≤ 15 ms per jet·sample at ≤ 8 evaluations); the attention cost over 2000 observed points,
full self-attention against the Perceiver latent set (target ratio ≥ 5×); and the quality–cost table of the trained
architectures (``analyses/pileup/architectures.md``) when their validation and timings exist.

Real inputs: the first ``--jets`` test jets (``data/top_jets_test.root``) with the held-out pool at μ = 60, CHS
input, ``--samples`` posterior samples per jet, on this machine's CPU threads (or ``--device cuda``). The quality at
each NFE is ``analyses/pileup/nfe_curve.py``'s job (its table is printed here if it exists).

    python benchmarks/bench_pileup.py [--jets 32] [--samples 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hepgen.nn import LatentSetEncoder, TransformerBlock
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch, network_evaluations, steps_for
from hepgen.tasks.run_folder import load_model

ROOT = Path(__file__).resolve().parents[1]
#: The shipped models and the samplers timed for each (a missing model is skipped).
MODELS = {
    "edm": ("analyses/pileup/model", ("heun", "euler")),
    "flow_matching": ("analyses/pileup/model_fm", ("heun_t", "euler")),
    "student": ("analyses/pileup/model_student", ("euler",)),
}
NFE = (1, 2, 4, 8, 16, 32, 99)
#: The few-step setting `predict pileup` is meant to run with (the student, Euler, 4 evaluations; without a shipped
#: student, EDM Euler at 8), and the target of issue 16.
CHOSEN = ("student", "euler", 4)
TARGET_MS = 15.0


def timed(fn, device: torch.device, repeat: int = 1) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=32, help="jets per sampling batch")
    parser.add_argument("--samples", type=int, default=4, help="posterior samples per jet")
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    hard = read_hard_jets([str(ROOT / "data/top_jets_test.root")], entry_stop=max(args.jets, args.train_batch))
    observed = overlay_pileup(hard, read_pileup_pool([str(ROOT / "data/minbias_pool_test.root")]), mu=60.0, seed=1)
    models = {
        name: load_model("pileup", ROOT / run, device=device)
        for name, (run, _) in MODELS.items()
        if (ROOT / run / "model.pt").exists()
    }
    reference = models["edm"]
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, parameters "
        f"{sum(p.numel() for p in reference.parameters()):,}"
    )

    # training throughput (the EDM loss; flow matching costs the same network pass)
    train = jet_batch(observed, input="chs", hard=hard, index=torch.arange(args.train_batch).numpy()).to_torch(device)
    model = load_model("pileup", ROOT / MODELS["edm"][0], device=device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def step() -> None:
        diffusion, multiplicity = model.loss(train)
        optimizer.zero_grad()
        (diffusion + multiplicity).backward()
        optimizer.step()

    t = timed(step, device, repeat=3)
    print(f"training                       : {args.train_batch / t:9.1f} jets/s (batch {args.train_batch})")

    # the NFE table: ms per jet·sample
    batch = jet_batch(observed, input="chs", index=torch.arange(args.jets).numpy()).to_torch(device)
    per = {}
    print(f"ms per jet·sample ({args.jets} jets × {args.samples} samples per batch):")
    print(
        f"{'model, sampler':24s}"
        + "".join(f"{n:>8d}" for n in NFE)
        + "   (network evaluations; Heun: 1, 1, 3, 7, 15, 31, 99)"
    )
    for name, model in models.items():
        for sampler in MODELS[name][1]:
            cells = []
            for nfe in NFE:
                steps = steps_for(nfe, sampler)
                g = torch.Generator(device=device).manual_seed(0)
                t = timed(lambda: model.sample(batch, args.samples, steps=steps, sampler=sampler, generator=g), device)
                per[(name, sampler, network_evaluations(steps, sampler))] = ms = 1e3 * t / (args.jets * args.samples)
                cells.append(f"{ms:8.1f}")
            print(f"{name + ', ' + sampler:24s}" + "".join(cells))
    ref_ms = per[("edm", "heun", 99)]
    name, sampler, nfe = CHOSEN if CHOSEN[0] in models else ("edm", "euler", 8)
    chosen_ms = per[(name, sampler, nfe)]  # Euler: evaluations = steps
    print(f"reference: EDM Heun, 99 evaluations : {ref_ms:9.1f} ms per jet·sample")
    print(
        f"chosen: {name}, {sampler}, {nfe} evaluations : {chosen_ms:9.1f} ms per jet·sample "
        f"(ratio to the reference {chosen_ms / ref_ms:.3f}; target <= {TARGET_MS} ms)"
    )
    quality = ROOT / "analyses/pileup/nfe/nfe.md"
    if quality.exists():
        print(f"quality at each NFE ({quality.relative_to(ROOT)}, made by analyses/pileup/nfe_curve.py):")
        print(quality.read_text())

    # attention over 2000 observed points: full self-attention vs the latent (Perceiver) set
    dim, heads, points = 64, 4, 2000
    x = torch.randn(8, points, dim, device=device)
    mask = torch.ones(8, points, dtype=torch.bool, device=device)
    full = TransformerBlock(dim, heads).to(device).eval()
    latent = LatentSetEncoder(dim, heads, latents=32, self_blocks=1).to(device).eval()
    with torch.no_grad():
        t_full = timed(lambda: full(x, mask), device, repeat=3)
        t_latent = timed(lambda: latent(x, mask), device, repeat=3)
    print(f"attention, {points} points, full      : {1e3 * t_full:9.1f} ms per batch of 8 jets")
    print(f"attention, {points} points, 32 latents: {1e3 * t_latent:9.1f} ms per batch of 8 jets")
    print(f"ratio full / latent            : {t_full / t_latent:9.1f}x  (target >= 5x)")
    architectures_table()


def architectures_table() -> None:
    """The quality–cost table of VIPR's architectures (issue 30), from the joint validation of the trained variants
    and the timings ``bench_architectures.py --save`` wrote (it times them; this only prints, if both exist)."""
    import importlib.util
    import json

    study = ROOT / "analyses/pileup"
    files = {
        "metrics": study / "validation_study/architectures/metrics.json",
        "choice": study / "nfe_architectures/choice.json",
        "timings": study / "architectures_cost.json",
    }
    if not all(f.exists() for f in files.values()):
        return
    spec = importlib.util.spec_from_file_location("bench_architectures", ROOT / "benchmarks/bench_architectures.py")
    architectures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(architectures)
    timings = architectures.read_timings(files["timings"])
    metrics, choice = (json.loads(files[k].read_text(encoding="utf-8")) for k in ("metrics", "choice"))
    print("VIPR's architectures, quality and cost (analyses/pileup/architectures.md; timed by bench_architectures.py):")
    rows = architectures.quality_table(
        metrics, timings["untrained"], timings["nfe"], choice, timings["trained"], timings["trained_parameters"]
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
