"""Reader throughput: hepgen.io.read against bare uproot + awkward doing the same padding.

Writes a synthetic NanoAOD-style file (default 200k events, jagged ``Jet_*``
sorted by pt like real NanoAOD) to a temporary folder, then times, in one run:

* hepgen: ``hepgen.io.read(file, schema)`` → padded ``[B, 10, 5]`` float32 + mask,
  with its NaN/inf check, sort check and truncation counting;
* baseline: ``tree.arrays`` + ``ak.pad_none(clip=True)`` + ``ak.fill_none`` +
  ``ak.to_numpy`` per branch, stacked into the same ``[B, 10, 5]`` array and mask.

Prints both throughputs and the ratio of times (target: hepgen / baseline ≤ 1.25).
A second pass uses an unsorted file, where both sides also sort by pt.

    python benchmarks/bench_reader.py [--events 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

import hepgen.io as hio
from hepgen.io import Collection, Prefix, Schema

FEATURES = ("pt", "eta", "phi", "mass", "btag")
N_MAX = 10


def make_file(path: Path, n_events: int, *, sort: bool, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(6.0, n_events)
    n = int(counts.sum())
    pt = (rng.exponential(40.0, n) + 20).astype(np.float32)
    if sort:  # NanoAOD stores jets in descending pt
        event = np.repeat(np.arange(n_events), counts)
        pt = pt[np.lexsort((-pt, event))]
    jets = ak.unflatten(
        ak.zip(
            {
                "pt": pt,
                "eta": rng.normal(0, 1.5, n).astype(np.float32),
                "phi": rng.uniform(-np.pi, np.pi, n).astype(np.float32),
                "mass": rng.uniform(2, 30, n).astype(np.float32),
                "btag": rng.uniform(0, 1, n).astype(np.float32),
            }
        ),
        counts,
    )
    with uproot.recreate(path) as f:
        f.mktree(
            "Events",
            {"Jet": jets.type.content, "event": np.int64},
            field_name=lambda o, i: f"{o}_{i}",
            counter_name=lambda c: "n" + c,
        )
        f["Events"].extend({"Jet": jets, "event": np.arange(n_events, dtype=np.int64)})
    return n


def read_hepgen(path: Path) -> tuple[np.ndarray, np.ndarray]:
    schema = Schema("bench", {"jets": Collection(Prefix("Jet"), FEATURES, max_length=N_MAX)}, tree="Events")
    jets = hio.read(path, schema)["jets"]
    return jets.values, jets.mask


def read_baseline(path: Path, *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    tree = uproot.open(path)["Events"]
    arrays = tree.arrays([f"Jet_{f}" for f in FEATURES], library="ak", how=dict)
    order = ak.argsort(arrays["Jet_pt"], ascending=False, stable=True) if sort else None
    columns = []
    for f in FEATURES:
        a = arrays[f"Jet_{f}"]
        if order is not None:
            a = a[order]
        columns.append(ak.to_numpy(ak.fill_none(ak.pad_none(a, N_MAX, clip=True), 0.0)).astype(np.float32))
    counts = ak.to_numpy(ak.num(arrays["Jet_pt"]))
    mask = np.arange(N_MAX)[None, :] < np.minimum(counts, N_MAX)[:, None]
    return np.stack(columns, axis=-1), mask


def best_time(fn, repeat: int) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for sort_in_file in (True, False):
            path = Path(tmp) / f"jets_{'sorted' if sort_in_file else 'unsorted'}.root"
            n_jets = make_file(path, args.events, sort=sort_in_file)
            size_mb = path.stat().st_size / 1e6
            read_baseline(path, sort=not sort_in_file)  # warm the page cache
            t_hep, (v_hep, m_hep) = best_time(lambda: read_hepgen(path), args.repeat)
            t_base, (v_base, m_base) = best_time(lambda: read_baseline(path, sort=not sort_in_file), args.repeat)
            assert np.array_equal(m_hep, m_base) and np.array_equal(v_hep, v_base), "outputs differ"
            label = "pt-sorted file (as NanoAOD)" if sort_in_file else "unsorted file (both sides sort by pt)"
            print(f"== {label}: {args.events} events, {n_jets} jets, {size_mb:.1f} MB, best of {args.repeat}")
            print(f"   hepgen.io.read        : {t_hep:7.3f} s  {args.events / t_hep:12,.0f} events/s")
            print(f"   uproot+awkward padding: {t_base:7.3f} s  {args.events / t_base:12,.0f} events/s")
            print(f"   ratio hepgen/baseline : {t_hep / t_base:.3f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
