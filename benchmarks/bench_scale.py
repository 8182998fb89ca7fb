"""Prediction throughput with 1 and 2 worker processes on the same input: serial vs a Dask LocalCluster.

Samples the neutrino posterior of 16 384 shipped tt̄ events (16 blocks) with the shipped flow. The serial run is one
process with one torch thread; the Dask run cuts the events into shards (``--parts``) for a LocalCluster of
2 single-threaded worker processes and merges them (start-up and merge included). Prints events/s of both
and the ratio (ideal 2.0 on 2 free cores; the Dask side pays ≈ 10 s of fixed costs here: starting the
cluster ≈ 5 s, importing torch/hepgen in each worker ≈ 5 s). The outputs are checked to be identical.

    python benchmarks/bench_scale.py [--events 16384] [--samples 128] [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hepgen.io import read_event_outputs
from hepgen.tasks.neutrino import NEUTRINO, NeutrinoPrediction
from hepgen.tasks.prediction import predict

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=16384, help="events (16 blocks of 1024: two workers get 8 each)")
    parser.add_argument("--data", default="ttbar_ljets.root", help="a file in data/ (default: the 20k-event sample)")
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parts", type=int, default=None, help="shards for Dask (default: one per 1024-event block)")
    args = parser.parse_args()
    settings = NeutrinoPrediction(
        data=[str(REPO / "data" / args.data)],
        run=str(REPO / "analyses" / "neutrino" / "model"),
        samples=args.samples,
        max_events=args.events,
        overwrite=True,
        progress=False,
    )
    parts = args.parts or -(-args.events // 1024)
    with tempfile.TemporaryDirectory() as tmp:
        torch.set_num_threads(1)
        start = time.perf_counter()
        serial = predict(NEUTRINO, dataclasses.replace(settings, out=str(Path(tmp) / "serial.root")))
        t_serial = time.perf_counter() - start
        start = time.perf_counter()
        parallel = predict(
            NEUTRINO,
            dataclasses.replace(
                settings, out=str(Path(tmp) / "dask.root"), scheduler=f"local:{args.workers}", parts=parts
            ),
        )
        t_dask = time.perf_counter() - start
        (a, ia, _), (b, ib, _) = (read_event_outputs(p, tree="Neutrino") for p in (serial, parallel))
        identical = np.array_equal(ia["entry"], ib["entry"]) and all(np.array_equal(a[k], b[k]) for k in a)
        n = len(ia["entry"])
    print(f"{n} events, {args.samples} posterior samples each, shipped flow, CPU")
    print(f"serial (1 process, 1 thread):            {n / t_serial:8.1f} events/s  ({t_serial:.1f} s)")
    print(
        f"Dask LocalCluster ({args.workers} workers, {parts} parts): {n / t_dask:8.1f} events/s  ({t_dask:.1f} s, start-up included)"
    )
    print(f"ratio (Dask / serial): {t_serial / t_dask:.2f}   outputs identical: {identical}")


if __name__ == "__main__":
    main()
