"""The neutrino flow's sampling pass as an ONNX graph, and its onnxruntime runner (``hepgen export neutrino``,
``hepgen predict neutrino --onnx``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError
from hepgen.models.regressors import FlowHead
from hepgen.tasks.neutrino.features import FEATURE_DOCS, INPUT_SETS, TARGETS
from hepgen.tasks.neutrino.model import NeutrinoModel

__all__ = ["NeutrinoSamplingGraph", "OnnxNeutrinoSampler", "neutrino_export_graphs"]


class NeutrinoSamplingGraph(nn.Module):
    """The flow's sampling pass as one graph for ONNX: the objects and masks of :data:`INPUT_SETS` (in the order of
    ``model.encoder.features``) and base-distribution noise ``[B, S, 3]`` (standard normal) → samples (px, py, η)
    ``[B, S, 3]``, momenta (px, py, pz) [GeV] ``[B, S, 3]``, log densities ``[B, S]`` (standardised space) and, with
    the assignment head, p(jet is the leptonic b) ``[B, N_jets]``. Deterministic given the noise."""

    def __init__(self, model: NeutrinoModel) -> None:
        super().__init__()
        from hepgen.models.flow_sampling import ContextCachedSampler, supports

        if not isinstance(model.head, FlowHead) or not supports(model.head.flow):
            raise HepgenInputError(
                f"only flow-head neutrino models export their sampling pass; this one has a {model.head_kind!r} head"
            )
        self.model = model
        self.sampler = ContextCachedSampler(model.head.flow)
        self.names = list(model.encoder.features)

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        *tensors, noise = inputs
        objects = {k: tensors[2 * i] for i, k in enumerate(self.names)}
        masks = {k: tensors[2 * i + 1] for i, k in enumerate(self.names)}
        tokens, token_mask = self.model.encoder.tokens(objects, masks)
        x, log_prob = self.sampler.transform_noise(
            self.model.encoder.context(tokens, token_mask), noise.transpose(0, 1), with_log_prob=True
        )
        samples = self.model.target_standardizer.inverse(x).transpose(0, 1)
        px, py, eta = samples.unbind(-1)
        pz = (
            torch.sqrt(px * px + py * py) * 0.5 * (torch.exp(eta) - torch.exp(-eta))
        )  # sinh: the exporter has no aten::sinh
        out = (samples, torch.stack([px, py, pz], -1), log_prob.transpose(0, 1))
        if self.model.has_assignment:
            probability = torch.softmax(self.model._assignment_logits(tokens, masks), dim=-1).nan_to_num(0.0)
            out = (*out, probability)
        return out


class OnnxNeutrinoSampler:
    """An exported neutrino flow (``hepgen export neutrino``) run with onnxruntime, with the sampling interface of
    :class:`NeutrinoModel` that :meth:`NeutrinoTask.predict_block` uses: the base noise is drawn from torch's
    generator exactly as the PyTorch flow draws it, so ``predict --onnx`` gives ``predict --run``'s numbers."""

    point_estimate = False
    head_kind = "flow"

    def __init__(self, folder: str, *, threads: int | None = None) -> None:
        from hepgen.tasks.onnx_export import OnnxGraphs

        self.graphs = OnnxGraphs(folder, task="neutrino", threads=threads)
        self.config = self.graphs.metadata["model_config"]
        self.has_assignment = bool(self.config.get("assignment"))

    def _run(self, objects: dict[str, Tensor], masks: dict[str, Tensor], noise: Tensor) -> dict[str, np.ndarray]:
        feed = {**{k: v for k, v in objects.items()}, **{f"{k}_mask": v for k, v in masks.items()}, "noise": noise}
        return self.graphs.run("neutrino_sampler", **feed)

    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """As :meth:`NeutrinoModel.sample`: ``[B, n, 3]`` samples of (px, py, η) (and their log density ``[B, n]``)."""
        B = next(iter(objects.values())).shape[0]
        noise = torch.normal(torch.zeros(n, B, len(TARGETS)), torch.ones(n, B, len(TARGETS)))  # zuko's base.sample
        out = self._run(objects, masks, noise.transpose(0, 1).contiguous())
        self._assignment = out.get("assignment_probability")
        samples = torch.from_numpy(out["samples"])
        return (samples, torch.from_numpy(out["log_density"])) if with_log_prob else samples

    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """p(jet j is the leptonic b) ``[B, N_jets]`` (one sample's pass; the assignment does not depend on noise)."""
        B = next(iter(objects.values())).shape[0]
        return torch.from_numpy(self._run(objects, masks, torch.zeros(B, 1, len(TARGETS)))["assignment_probability"])


def neutrino_export_graphs(
    model: NeutrinoModel, *, events: int = 6, samples: int = 5
) -> tuple[list[Any], dict[str, Any]]:
    """The exported graph of a flow-head model (:class:`NeutrinoSamplingGraph`), checked on random inputs of
    ``events`` events (some jets padded) and ``samples`` samples, and the feature definitions for the caller."""
    from hepgen.tasks.onnx_export import ExportGraph, TensorDoc

    graph = NeutrinoSamplingGraph(model)
    features = INPUT_SETS[model.config["inputs"]]
    generator = torch.Generator().manual_seed(0)
    inputs: dict[str, Tensor] = {}
    docs: dict[str, TensorDoc] = {}
    for name in graph.names:
        std = model.encoder.standardizers[name]
        width = model.config["max_jets"] if name == "jets" else 1
        values = std.mean + std.std * torch.randn(events, width, len(features[name]), generator=generator)
        mask = torch.ones(events, width, dtype=torch.bool)
        if name == "jets":  # 4 … max_jets real jets, the rest padding (zeros, as the reader pads)
            real = torch.randint(4, width + 1, (events,), generator=generator)
            mask = torch.arange(width)[None, :] < real[:, None]
            values = values * mask[..., None]
            if name == "jets" and "btag" in features[name]:
                column = features[name].index("btag")
                values[..., column] = (values[..., column] > std.mean[column]).float() * mask
        axis = "jets" if name == "jets" else f"{name}s"
        inputs[name], inputs[f"{name}_mask"] = values.float(), mask
        what = "up to max_jets jets, padded with zeros" if name == "jets" else f"one {name} object per event"
        docs[name] = TensorDoc(
            ("events", axis, len(features[name])),
            "float32",
            f"{what}: ({', '.join(features[name])}); see 'features' for units",
        )
        docs[f"{name}_mask"] = TensorDoc(("events", axis), "bool", f"true for real {name} entries, false for padding")
    inputs["noise"] = torch.randn(events, samples, len(TARGETS), generator=generator)
    docs["noise"] = TensorDoc(("events", "samples", 3), "float32", "standard-normal base noise, one row per sample")
    outputs = {
        "samples": TensorDoc(
            ("events", "samples", 3), "float32", "posterior samples of the neutrino's (px [GeV], py [GeV], η)"
        ),
        "momentum": TensorDoc(
            ("events", "samples", 3), "float32", "the same samples as (px, py, pz) [GeV], pz = pT sinh η"
        ),
        "log_density": TensorDoc(
            ("events", "samples"),
            "float32",
            "log p of each sample (standardised space, up to a "
            "constant per event): the sample with the largest is the mode estimate",
        ),
    }
    if model.has_assignment:
        outputs["assignment_probability"] = TensorDoc(
            ("events", "jets"), "float32", "p(jet j is the leptonic-top b); 0 for padding"
        )
    exported = ExportGraph(
        "neutrino_sampler",
        graph.eval(),
        inputs,
        docs,
        outputs,
        description="one encoder pass and the flow's inverse per event: samples of p(ν | event) from base noise",
    )
    extra = {
        "features": {name: {f: FEATURE_DOCS[f] for f in features[name]} for name in graph.names},
        "max_jets": model.config["max_jets"],
        "input_standardization": {
            name: {
                "mean": model.encoder.standardizers[name].mean.tolist(),
                "std": model.encoder.standardizers[name].std.tolist(),
            }
            for name in graph.names
        },
        "target_standardization": {
            "mean": model.target_standardizer.mean.tolist(),
            "std": model.target_standardizer.std.tolist(),
        },
        "notes": "The standardisations are inside the graph (given for reference): feed physical features. "
        "Jets are the event's leading max_jets jets in pT order; MET is (px, py); the W-mass solutions use "
        "m_W = 80.377 GeV (hepgen.physics.neutrino.solve_neutrino_pz).",
    }
    return [exported], extra
