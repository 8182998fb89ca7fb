"""VIPR's training throughput behind the detector (jets/s), before and after, in one run: ``hepgen train pileup``
(``--detector cms --recluster``, one epoch and its validation, ``--max-events`` training jets) with each epoch's
pileup overlaid on every jet at its start in the training process (``--overlay-group 0 --data-workers 0``: how the
shipped models trained) against a group of 1024 jets at a time in a data worker beside the model
(``--overlay-group 1024 --data-workers 1``), and each run's peak memory. Also what was tried and did not pay, timed
on the same batches: ``torch.compile`` of the denoiser, other batch sizes, and the thread count.

Inputs: the first ``--jets`` training jets (``data/top_jets.root``) and the training pool; no test jet.

    python benchmarks/bench_pileup_training.py [--jets 4096] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "whole epoch, in process (before)": ["--overlay-group", "0", "--data-workers", "0"],
    "1024 jets at a time, 1 data worker (after)": ["--overlay-group", "1024", "--data-workers", "1"],
}


def train_once(jets: int, threads: int, extra: list[str]) -> tuple[float, float]:
    """(seconds, peak memory of the training process in GB) of one epoch of ``hepgen train pileup``."""
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, "-m", "hepgen.cli", "train", "pileup", "--jets", str(ROOT / "data/top_jets.root")]
        argv += ["--pileup", str(ROOT / "data/minbias_pool.root"), "--detector", "cms", "--recluster"]
        argv += ["--inefficiencies", "0", "--max-events", str(jets), "--max-epochs", "1", "--out", out]
        argv += ["--no-progress", "--accelerator", "cpu", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1e6


def model_steps(jets: int, threads: int) -> None:
    """ms per jet of the model step alone (EDM loss, backward, AdamW) on the same training batches: eager at 1 and
    ``threads`` threads, other batch sizes, and ``torch.compile`` (its warm-up apart)."""
    import torch

    from hepgen.tasks.registry import get_task

    task = get_task("pileup")

    def timed(batch_size: int, n_threads: int, compile_denoiser: bool = False) -> float:
        torch.set_num_threads(n_threads)
        torch.manual_seed(0)
        settings = task.Training(
            jets=[str(ROOT / "data/top_jets.root")],
            pileup=[str(ROOT / "data/minbias_pool.root")],
            detector="cms",
            recluster=True,
            inefficiencies=[0.0],
            max_events=min(jets, 1536),
            batch_size=batch_size,
            out="-",
        )
        model = task.build_model(settings)
        data = task.training_data(settings, model)
        batches = list(data.train)
        if compile_denoiser:
            model.denoiser = torch.compile(model.denoiser, dynamic=True)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)

        def step(batch) -> int:
            total = sum(model.loss(batch))
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            return len(batch.context)

        for batch in batches[:3]:  # warm-up (and the compilation)
            step(batch)
        start = time.perf_counter()
        n = sum(step(batch) for batch in batches[3:])
        return (time.perf_counter() - start) / n * 1e3

    reference = timed(64, threads)
    print(f"\nmodel step alone, ms per jet (batch 64, {threads} threads: {reference:.2f} ms = 1.00x)")
    for name, args in (
        ("1 thread", (64, 1)),
        ("batch 32", (32, threads)),
        ("batch 128", (128, threads)),
        ("torch.compile (dynamic shapes)", (64, threads, True)),
    ):
        ms = timed(*args)
        print(f"  {name:<32} {ms:6.2f} ms  {ms / reference:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-model", action="store_true", help="only the end-to-end epochs")
    args = parser.parse_args()
    print(f"one epoch of `hepgen train pileup --detector cms --recluster` on {args.jets} training jets (90 % trained,")
    print(f"10 % validated), OMP_NUM_THREADS={args.threads}")
    reference = None
    for name, extra in CONFIGS.items():
        seconds, peak = train_once(args.jets, args.threads, extra)
        rate = 0.9 * args.jets / seconds
        reference = reference or rate
        print(f"  {name:<44} {seconds:6.1f} s  {rate:6.0f} jets/s  {rate / reference:5.2f}x  peak {peak:.1f} GB")
    if not args.skip_model:
        model_steps(args.jets, args.threads)


if __name__ == "__main__":
    main()
