"""ONNX export of a trained run for the experiments' software, and the exported graphs run with onnxruntime.

``hepgen export TASK --run RUN --out DIR`` writes one ``.onnx`` file per graph the task exports
(:meth:`~hepgen.tasks.base.Task.export_graphs`) and ``hepgen_onnx.json``: for every graph its inputs and outputs in
order, with shapes (named axes are dynamic), dtypes, units and meaning; the input standardisation (already inside
the graphs, given for reference); what the task adds (the neutrino's input features, VIPR's sampler loop and noise
levels); the opset and the versions that wrote it; and the largest deviation from PyTorch measured at export.

* neutrino: ``neutrino_sampler.onnx`` maps the event's objects and base-distribution noise ``[events, samples, 3]``
  to posterior samples: sampling is deterministic given the noise.
* pileup: ``vipr_multiplicity.onnx`` (the count probabilities), ``vipr_encoder.onnx`` (the observed jet's
  encoding, once per jet) and ``vipr_denoiser.onnx`` (D(x; σ), once per sampler step); the caller runs the sampler
  loop that ``hepgen_onnx.json`` spells out.

The TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it traces these models with
dynamic event, object and sample axes at opset 17–20. :class:`OnnxGraphs` runs an exported folder with onnxruntime;
``hepgen predict TASK --onnx DIR`` predicts through it, the same numbers as ``--run`` within :data:`TOLERANCE`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgen import __version__
from hepgen.errors import HepgenInputError

__all__ = [
    "MIN_OPSET",
    "MAX_OPSET",
    "DEFAULT_OPSET",
    "TOLERANCE",
    "OUTLIER_FRACTION",
    "METADATA_FILE",
    "deviation",
    "TensorDoc",
    "ExportGraph",
    "export_onnx",
    "OnnxGraphs",
]

#: The opsets written: 17 is the first with LayerNormalization (and what CMSSW's and Athena's onnxruntime read);
#: 20 the newest the TorchScript exporter of torch 2.13 writes.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 17, 20, 17
#: float32 agreement of an exported graph with PyTorch: ``|onnx − torch| ≤ atol + rtol·|torch|`` for all but a
#: fraction ``outliers`` of the entries. Both run the same float32 arithmetic in another order (fused kernels, other
#: BLAS): typical deviations are 1e-7–1e-6 relative (≤ 3e-4 on momenta of up to 250 GeV, ≤ 2e-4 on log densities).
#: The rare exception is a spline knot: a value that rounds into the neighbouring bin of a flow's spline moves by up
#: to ~1e-3 relative (measured: 1 of 7104 CMS samples, 0.016 GeV on |p| = 27 GeV). A wrong export is wrong
#: everywhere, so a 1 % outlier budget keeps the check sharp.
TOLERANCE = {"rtol": 1e-4, "atol": 5e-3}
OUTLIER_FRACTION = 0.01
METADATA_FILE = "hepgen_onnx.json"
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(bool)": np.bool_, "tensor(int64)": np.int64}


@dataclass(frozen=True)
class TensorDoc:
    """One input or output of a graph: its shape (strings name dynamic axes), dtype and meaning (with units)."""

    shape: tuple[int | str, ...]
    dtype: str
    description: str

    def as_dict(self, name: str) -> dict[str, Any]:
        return {"name": name, "shape": list(self.shape), "dtype": self.dtype, "description": self.description}


@dataclass
class ExportGraph:
    """A graph to export: ``module(*inputs.values())`` returns the outputs in the order of ``outputs``.

    ``inputs`` are example tensors (traced and used to check the export), ``input_docs``/``outputs`` describe them.
    """

    name: str
    module: nn.Module
    inputs: dict[str, Tensor]
    input_docs: dict[str, TensorDoc]
    outputs: dict[str, TensorDoc]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        docs = {**self.input_docs, **self.outputs}
        return {name: {i: a for i, a in enumerate(doc.shape) if isinstance(a, str)} for name, doc in docs.items()}


def _require(module: str) -> Any:
    """Import an optional dependency of the export, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise HepgenInputError(
            f"{module} is not installed; ONNX export and --onnx need `pip install 'hepgen[onnx]'`"
        ) from None


def _check_opset(opset: int) -> None:
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise HepgenInputError(
            f"cannot export at ONNX opset {opset}: hepgen writes opsets {MIN_OPSET}–{MAX_OPSET} (the models need "
            f"LayerNormalization, opset ≥ {MIN_OPSET}; torch {torch.__version__}'s TorchScript exporter writes up to "
            f"{MAX_OPSET})"
        )


def deviation(onnx_out: np.ndarray, torch_out: np.ndarray, scale: np.ndarray | None = None) -> tuple[float, float]:
    """(max |Δ|, the fraction of entries beyond :data:`TOLERANCE`) of two outputs; ``scale`` (default ``|torch|``)
    is what the relative tolerance multiplies (e.g. |p| for momentum components). Non-finite entries must agree."""
    if onnx_out.dtype == bool or torch_out.dtype == bool:
        wrong = onnx_out != torch_out
        return float(wrong.any()), float(wrong.mean()) if wrong.size else 0.0
    a, b = onnx_out.astype(np.float64), torch_out.astype(np.float64)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf"), 1.0
    scale = np.abs(b) if scale is None else np.broadcast_to(scale, b.shape)
    finite = np.isfinite(b)
    diff = np.abs(a - b)[finite]
    if diff.size == 0:
        return 0.0, 0.0
    beyond = diff > TOLERANCE["atol"] + TOLERANCE["rtol"] * scale[finite]
    return float(diff.max()), float(beyond.mean())


def _export_graph(graph: ExportGraph, path: Path, opset: int) -> dict[str, Any]:
    ort = _require("onnxruntime")

    module = graph.module.eval()
    args = tuple(graph.inputs.values())
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings on Python-side shape arithmetic (checked below)
        try:
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=list(graph.inputs),
                output_names=list(graph.outputs),
                dynamic_axes=graph.dynamic_axes(),
                do_constant_folding=True,
            )
        except Exception as error:  # the exporter's own errors name the unsupported operator
            reason = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
            raise HepgenInputError(
                f"torch.onnx could not export {graph.name} at opset {opset}: {reason[:300]}"
            ) from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.detach().numpy() for k, v in graph.inputs.items()})
    deviations = {}
    for name, a, b in zip(graph.outputs, got, expected, strict=True):
        absolute, beyond = deviation(a, b.detach().numpy())
        if beyond > OUTLIER_FRACTION:
            raise HepgenInputError(
                f"the exported {graph.name} disagrees with PyTorch on {name}: {beyond:.1%} of the "
                f"entries beyond {TOLERANCE} (max |Δ| = {absolute:.3g})"
            )
        deviations[name] = absolute
    return {
        "file": path.name,
        "description": graph.description,
        "inputs": [doc.as_dict(n) for n, doc in graph.input_docs.items()],
        "outputs": [doc.as_dict(n) for n, doc in graph.outputs.items()],
        "max_abs_deviation_from_torch": deviations,
        **graph.extra,
    }


def export_onnx(
    task: Any, run: str | os.PathLike, out: str | os.PathLike, *, opset: int = DEFAULT_OPSET, overwrite: bool = False
) -> Path:
    """Export the trained model of ``run`` (a task or its name) to ONNX files in the folder ``out``.

    The folder appears complete or not at all (written beside it, then renamed); an existing one is replaced only
    with ``overwrite``. Every graph is run with onnxruntime on its example inputs and refused if it leaves
    :data:`TOLERANCE` of PyTorch. Returns the folder.
    """
    from hepgen.tasks.registry import get_task
    from hepgen.tasks.run_folder import load_model, load_model_file

    task = get_task(task) if isinstance(task, str) else task
    _check_opset(opset)
    out = Path(out)
    if out.exists() and not overwrite:
        raise HepgenInputError(f"{str(out)!r} exists; choose another --out or pass --overwrite")
    payload = load_model_file(run, task.name)  # refuses a run of another task with a clear error
    model = load_model(task, run)
    graphs, extra = task.export_graphs(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        described = {g.name: _export_graph(g, staging / f"{g.name}.onnx", opset) for g in graphs}
        onnx = _require("onnx")

        metadata = {
            "task": task.name,
            "hepgen_version": __version__,
            "torch_version": torch.__version__,
            "onnx_version": onnx.__version__,
            "opset": opset,
            "exporter": "torch.onnx.export(dynamo=False)",
            "source_run": os.fspath(run),
            "model_config": getattr(model, "config", payload["config"]),  # with the defaults of older files
            "saved_with": {k: v for k, v in payload.items() if k not in ("state_dict", "config", "task")},
            "tolerance": {**TOLERANCE, "outlier_fraction": OUTLIER_FRACTION},
            "graphs": described,
            **extra,
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's folder is private; the export is meant to be shared
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


class OnnxGraphs:
    """An exported folder (``hepgen export``), its graphs run with onnxruntime.

    ``graphs.run("neutrino_sampler", lepton=..., ...)`` returns the outputs by name as numpy arrays;
    ``graphs.metadata`` is ``hepgen_onnx.json``.
    """

    def __init__(self, folder: str | os.PathLike, *, task: str | None = None, threads: int | None = None) -> None:
        self.folder = Path(folder)
        path = self.folder / METADATA_FILE
        if not path.exists():
            raise HepgenInputError(
                f"{str(self.folder)!r} is not an exported model folder (no {METADATA_FILE}); "
                "make one with `hepgen export TASK --run RUN --out DIR`"
            )
        self.metadata: dict[str, Any] = json.loads(path.read_text())
        if task is not None and self.metadata.get("task") != task:
            raise HepgenInputError(
                f"{str(self.folder)!r} holds an exported {self.metadata.get('task')!r} model, not {task!r}"
            )
        self.threads = threads
        self._sessions: dict[str, Any] = {}

    def session(self, name: str) -> Any:
        ort = _require("onnxruntime")

        if name not in self._sessions:
            if name not in self.metadata["graphs"]:
                raise HepgenInputError(
                    f"no graph {name!r} in {str(self.folder)!r}; it has {sorted(self.metadata['graphs'])}"
                )
            options = ort.SessionOptions()
            if self.threads:
                options.intra_op_num_threads = self.threads
            file = self.folder / self.metadata["graphs"][name]["file"]
            self._sessions[name] = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        return self._sessions[name]

    def run(self, name: str, **inputs: np.ndarray | Tensor) -> dict[str, np.ndarray]:
        """The outputs of graph ``name`` for the named inputs (numpy or CPU tensors)."""
        session = self.session(name)
        feed = {}
        for spec in session.get_inputs():
            if spec.name not in inputs:
                raise HepgenInputError(f"graph {name!r} needs input {spec.name!r}; given {sorted(inputs)}")
            value = inputs[spec.name]
            value = value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
            feed[spec.name] = value.astype(_NUMPY_TYPES.get(spec.type, value.dtype), copy=False)
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feed), strict=True))
