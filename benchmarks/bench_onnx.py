"""onnxruntime against PyTorch on this CPU, for the shipped models exported with ``hepgen export``.

* neutrino: ms per event for 256 posterior samples (one encoder pass and the flow's inverse per event), real events
  of ``data/ttbar_ljets_test.root``, batches of 256 events;
* pileup: ms per jet·sample of VIPR's whole sampling (multiplicity, encoder once per jet, the sampler's denoiser
  evaluations) for the distilled student (Euler, 4 steps) and EDM (Heun, 50 steps = 99 evaluations), real jets of
  ``data/top_jets_test.root`` at μ = 60.

Both back ends use the same threads (``--threads``, default all cores). Prints each figure and the ratio
onnxruntime / PyTorch (< 1: onnxruntime is faster).

    python benchmarks/bench_onnx.py [--events 1024] [--jets 32] [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from hepgen.io import read
from hepgen.tasks.neutrino import OnnxNeutrinoSampler, neutrino_arrays
from hepgen.tasks.onnx_export import export_onnx
from hepgen.tasks.pileup import OnnxVIPR, jet_batch
from hepgen.tasks.run_folder import load_model

REPO = Path(__file__).resolve().parents[1]


def best_of(repeats: int, work) -> float:
    """The fastest of ``repeats`` runs of ``work()`` [s] (after one warm-up run)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def neutrino(folder: Path, events: int, samples: int, threads: int) -> None:
    model = load_model("neutrino", REPO / "analyses" / "neutrino" / "model")
    onnx = OnnxNeutrinoSampler(str(folder), threads=threads)
    arrays = neutrino_arrays(
        read(str(REPO / "data" / "ttbar_ljets_test.root"), "hepgen-ttbar", entry_stop=events),
        inputs=model.config["inputs"],
    )
    parts = [part.tensors() for part in arrays.batches(256)]

    def run(sampler) -> None:
        with torch.no_grad():
            for objects, masks in parts:
                sampler.sample(objects, masks, samples, with_log_prob=True)

    t_torch = best_of(2, lambda: run(model)) / len(arrays) * 1e3
    t_onnx = best_of(2, lambda: run(onnx)) / len(arrays) * 1e3
    print(
        f"neutrino, {len(arrays)} events × {samples} samples:  PyTorch {t_torch:.2f} ms/event   onnxruntime "
        f"{t_onnx:.2f} ms/event   ratio onnxruntime/PyTorch {t_onnx / t_torch:.2f}"
    )


def pileup(name: str, folder: Path, jets: int, samples: int, threads: int) -> None:
    from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

    model = load_model("pileup", REPO / "analyses" / "pileup" / name)
    onnx = OnnxVIPR(str(folder), threads=threads)
    hard = read_hard_jets([str(REPO / "data" / "top_jets_test.root")], entry_stop=jets)
    observed = overlay_pileup(hard, read_pileup_pool([str(REPO / "data" / "minbias_pool_test.root")]), mu=60.0, seed=1)
    batch = jet_batch(observed, input=model.saved_with.get("input", "observed")).to_torch()
    sampler, _, steps = model.sampling_defaults()

    def run(networks) -> None:
        networks.sample(batch, samples, generator=torch.Generator().manual_seed(0))

    rows = jets * samples
    t_torch = best_of(1, lambda: run(model)) / rows * 1e3
    t_onnx = best_of(1, lambda: run(onnx)) / rows * 1e3
    print(
        f"pileup {name} ({sampler}, {steps} steps), {jets} jets × {samples} samples:  PyTorch {t_torch:.1f} ms per "
        f"jet·sample   onnxruntime {t_onnx:.1f}   ratio onnxruntime/PyTorch {t_onnx / t_torch:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1024, help="neutrino events")
    parser.add_argument("--samples", type=int, default=256, help="neutrino samples per event")
    parser.add_argument("--jets", type=int, default=32, help="pileup jets (4 samples each)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads each")
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_onnx("neutrino", REPO / "analyses" / "neutrino" / "model", Path(tmp) / "neutrino")
        neutrino(folder, args.events, args.samples, args.threads)
        for name in ("model_student", "model"):
            folder = export_onnx("pileup", REPO / "analyses" / "pileup" / name, Path(tmp) / name)
            pileup(name, folder, args.jets, 4, args.threads)


if __name__ == "__main__":
    main()
