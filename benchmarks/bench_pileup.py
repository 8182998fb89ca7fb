"""VIPR speed, in one run: sampling jets/s at 20, 50 and 100 Heun steps, training jets/s, and the attention
cost over 2000 observed points — full self-attention against the Perceiver latent set (target ratio ≥ 5×).

Uses the default model (dim 64, 3 denoiser blocks, 2 encoder blocks) on synthetic clouds of the real sizes:
70 hard constituents, 200 observed ones (μ ≈ 60), on this machine's CPU threads (or ``--device cuda``).

    python benchmarks/bench_pileup.py [--jets 64] [--samples 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hepgen.tasks.pileup import JetBatch, VIPRModel
from hepgen.nn import LatentSetEncoder, TransformerBlock


def synthetic_batch(jets: int, hard: int, observed: int, seed: int = 0) -> JetBatch:
    rng = np.random.default_rng(seed)
    obs_counts = rng.integers(int(0.8 * observed), observed + 1, jets)
    hard_counts = rng.integers(int(0.8 * hard), hard + 1, jets)
    obs_mask = np.arange(observed)[None, :] < obs_counts[:, None]
    hard_mask = np.arange(hard)[None, :] < hard_counts[:, None]
    return JetBatch(
        observed=(rng.normal(size=(jets, observed, 3)) * obs_mask[..., None]).astype(np.float32),
        observed_mask=obs_mask,
        context=rng.normal(size=(jets, 5)).astype(np.float32),
        axis=np.zeros((jets, 2), np.float32),
        hard=(rng.normal(size=(jets, hard, 3)) * hard_mask[..., None]).astype(np.float32),
        hard_mask=hard_mask,
    )


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
    torch.manual_seed(0)
    model = VIPRModel()
    batch = synthetic_batch(max(args.jets, args.train_batch), 70, 200)
    model.fit_standardization(batch)
    model.to(device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, parameters {sum(p.numel() for p in model.parameters()):,}")

    # training throughput
    train = synthetic_batch(args.train_batch, 70, 200, seed=1).to_torch(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        diffusion, multiplicity = model.loss(train)
        optimizer.zero_grad()
        (diffusion + multiplicity).backward()
        optimizer.step()

    t = timed(step, device, repeat=5)
    print(f"training                       : {args.train_batch / t:9.1f} jets/s (batch {args.train_batch})")

    # sampling throughput at several step counts (jets/s; each jet gets --samples posterior samples)
    model.eval()
    sample_batch = synthetic_batch(args.jets, 70, 200, seed=2).to_torch(device)
    for steps in (20, 50, 100):
        t = timed(lambda: model.sample(sample_batch, args.samples, steps=steps), device)
        print(f"sampling, {steps:3d} Heun steps        : {args.jets / t:9.2f} jets/s ({args.samples} samples/jet, "
              f"{2 * steps - 1} network evaluations)")  # fmt: skip

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


if __name__ == "__main__":
    main()
