"""VIPR's networks as ONNX graphs (multiplicity, encoder, denoiser) with the sampler loop written down for a caller
(``hepgen export pileup``), and :class:`OnnxVIPR`, which samples them with onnxruntime (``predict pileup --onnx``)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError
from hepgen.tasks.pileup.inputs import (
    CONSTITUENT_FEATURES,
    OBSERVED_FEATURES,
    PASSTHROUGH_PT,
    JetBatch,
    context_features,
)
from hepgen.tasks.pileup.model import VIPRModel
from hepgen.tasks.pileup.sampling import SCHEDULES, network_evaluations, sample_clouds, sampling_defaults

__all__ = [
    "VIPRMultiplicityGraph",
    "VIPREncoderGraph",
    "VIPRDenoiserGraph",
    "SAMPLER_LOOPS",
    "vipr_export_graphs",
    "OnnxVIPR",
]


class _StandardizedInputs(nn.Module):
    """Raw observed particles, mask and jet context → the standardised conditioning a VIPR network reads."""

    def __init__(self, model: VIPRModel) -> None:
        super().__init__()
        self.model = model

    def conditioning(self, observed: Tensor, observed_mask: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        m = self.model
        return m.observed_standardizer(observed, observed_mask), observed_mask, m.context_standardizer(context)


class VIPRMultiplicityGraph(_StandardizedInputs):
    """For ONNX: (observed ``[B, M, 5]``, mask ``[B, M]``, context ``[B, 7]``) → p(count) ``[B, max_hard + 1]``."""

    def forward(self, observed: Tensor, observed_mask: Tensor, context: Tensor) -> Tensor:
        multiplicity = self.model.multiplicity
        z, z_mask = multiplicity.encoder(*self.conditioning(observed, observed_mask, context))
        return torch.softmax(multiplicity.head(multiplicity.pool(z, z_mask)), dim=-1)


class VIPREncoderGraph(_StandardizedInputs):
    """For ONNX: (observed, mask, context) → the denoiser's encoding ``[B, K, dim]`` and its mask ``[B, K]``."""

    def forward(self, observed: Tensor, observed_mask: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.encode(self.conditioning(observed, observed_mask, context))


class VIPRDenoiserGraph(nn.Module):
    """For ONNX: D(x; σ) — (x ``[B, N, 3]``, σ ``[B]``, mask ``[B, N]``, encoding, its mask) → denoised ``[B, N, 3]``,
    in the standardised constituent space (EDM's or, for flow matching, its EDM-form denoiser)."""

    def __init__(self, model: VIPRModel) -> None:
        super().__init__()
        self.denoiser = model.denoiser

    def forward(self, x: Tensor, sigma: Tensor, mask: Tensor, memory: Tensor, memory_mask: Tensor) -> Tensor:
        return self.denoiser(
            x, sigma, mask=mask, observed=None, observed_mask=None, context=None, encoded=(memory, memory_mask)
        )


#: The sampler loops of :func:`sample_clouds` for a caller of the exported denoiser, D = vipr_denoiser.
SAMPLER_LOOPS = {
    "euler": "x = z·σ_0 (z unit noise, 0 on padding); for i in 0…n−1: d = (x − D(x; σ_i)) / σ_i; "
    "x = x + (σ_{i+1} − σ_i)·d",
    "heun": "x = z·σ_0; for i in 0…n−1: d = (x − D(x; σ_i)) / σ_i; x' = x + (σ_{i+1} − σ_i)·d; "
    "if σ_{i+1} > 0: d' = (x' − D(x'; σ_{i+1})) / σ_{i+1}; x' = x + (σ_{i+1} − σ_i)·(d + d')/2; x = x'",
    "heun_t": "t_i = σ_i / (1 + σ_i); y = z·σ_0 / (1 + σ_0); v(y, i) = (y − D(y·(1 + σ_i); σ_i)) / t_i; for i in "
    "0…n−1: d = v(y, i); y' = y + (t_{i+1} − t_i)·d; if t_{i+1} > 0: y' = y + (t_{i+1} − t_i)·(d + "
    "v(y', i+1))/2; y = y'; x = y·(1 + σ_n)",
}


def vipr_export_graphs(model: VIPRModel, *, jets: int = 5, particles: int = 12) -> tuple[list[Any], dict[str, Any]]:
    """The exported graphs of a VIPR model (multiplicity, encoder, denoiser), checked on random inputs of ``jets``
    jets with up to ``particles`` observed particles, and the sampler loop for the caller."""
    from hepgen.tasks.onnx_export import ExportGraph, TensorDoc

    if model.latent_tokens:
        raise HepgenInputError("ONNX export of latent-diffusion and autoencoder runs is not built; predict with --run")
    if model.scorer is not None:
        raise HepgenInputError(
            "ONNX export of a model with --classifier-scores (the classifier inside) is not built; predict with --run"
        )
    g = torch.Generator().manual_seed(0)
    obs_std, ctx_std = model.observed_standardizer, model.context_standardizer
    observed_mask = torch.arange(particles)[None, :] < torch.randint(1, particles + 1, (jets,), generator=g)[:, None]
    observed = (
        obs_std.mean + obs_std.std * torch.randn(jets, particles, len(OBSERVED_FEATURES), generator=g)
    ) * observed_mask[..., None]
    names = model.context_features
    context = ctx_std.mean + ctx_std.std * torch.randn(jets, len(names), generator=g)
    conditioning_inputs = {"observed": observed.float(), "observed_mask": observed_mask, "context": context.float()}
    conditioning_docs = {
        "observed": TensorDoc(
            ("jets", "particles", len(OBSERVED_FEATURES)),
            "float32",
            f"the observed (input-cloud) particles: ({', '.join(OBSERVED_FEATURES)}), Δη and Δφ to "
            "the input-cloud jet axis, ln(pT / GeV), tracker_charged and passed_through 0/1; zero "
            "padding",
        ),
        "observed_mask": TensorDoc(("jets", "particles"), "bool", "true for real particles"),
        "context": TensorDoc(
            ("jets", len(names)),
            "float32",
            f"the jet context ({', '.join(names)}): ln(pT / GeV), η, mass [GeV] of the "
            "input-cloud jet, ln(particles), the nominal μ, reconstructed vertices, particle "
            "inefficiency"
            + (", the event's pileup density ρ [GeV per unit area]" if "rho" in names else "")
            + (", the tracker's track loss" if "track_loss" in names else ""),
        ),
    }
    with torch.no_grad():
        memory, memory_mask = VIPREncoderGraph(model).eval()(**conditioning_inputs)
    hard = 9
    mask = torch.arange(hard)[None, :] < torch.randint(1, hard + 1, (jets,), generator=g)[:, None]
    sigma = torch.exp(torch.empty(jets).uniform_(math.log(0.002), math.log(80.0), generator=g))
    x = torch.randn(jets, hard, len(CONSTITUENT_FEATURES), generator=g) * (1 + sigma[:, None, None]) * mask[..., None]
    tokens = "memory_tokens"
    graphs = [
        ExportGraph(
            "vipr_multiplicity",
            VIPRMultiplicityGraph(model).eval(),
            conditioning_inputs,
            conditioning_docs,
            {
                "count_probability": TensorDoc(
                    ("jets", model.config["max_hard"] + 1), "float32", "p(n constituents to generate), n = 0 … max_hard"
                )
            },
            description="how many constituents to generate: draw n per (jet, sample)",
        ),
        ExportGraph(
            "vipr_encoder",
            VIPREncoderGraph(model).eval(),
            conditioning_inputs,
            conditioning_docs,
            {
                "memory": TensorDoc(("jets", tokens, model.config["dim"]), "float32", "the observed jet's encoding"),
                "memory_mask": TensorDoc(("jets", tokens), "bool", "its mask"),
            },
            description="the observed jet's encoding, once per jet (repeat it for each of its samples)",
        ),
        ExportGraph(
            "vipr_denoiser",
            VIPRDenoiserGraph(model).eval(),
            {"x": x.float(), "sigma": sigma.float(), "mask": mask, "memory": memory, "memory_mask": memory_mask},
            {
                "x": TensorDoc(("rows", "constituents", 3), "float32", "the noisy standardised cloud at σ"),
                "sigma": TensorDoc(("rows",), "float32", "the noise level σ of each row (> 0)"),
                "mask": TensorDoc(("rows", "constituents"), "bool", "true for the n constituents of the row"),
                "memory": TensorDoc(("rows", tokens, model.config["dim"]), "float32", "vipr_encoder's memory"),
                "memory_mask": TensorDoc(("rows", tokens), "bool", "vipr_encoder's memory_mask"),
            },
            {"denoised": TensorDoc(("rows", "constituents", 3), "float32", "D(x; σ), 0 on padding")},
            description="the denoiser D(x; σ), once per sampler step",
        ),
    ]
    sampler, schedule, steps = model.sampling_defaults()
    sigmas = SCHEDULES[schedule](steps).tolist()
    extra = {
        "constituent_features": list(CONSTITUENT_FEATURES),
        "hard_standardization": {
            "mean": model.hard_standardizer.mean.tolist(),
            "std": model.hard_standardizer.std.tolist(),
        },
        "observed_standardization": {"mean": obs_std.mean.tolist(), "std": obs_std.std.tolist()},
        "context_standardization": {"mean": ctx_std.mean.tolist(), "std": ctx_std.std.tolist()},
        "sampling": {
            "sampler": sampler,
            "schedule": schedule,
            "steps": steps,
            "network_evaluations": network_evaluations(steps, sampler),
            "sigmas": sigmas,
            "loop": SAMPLER_LOOPS[sampler],
            "loops": SAMPLER_LOOPS,
            "recipe": "per jet: p = vipr_multiplicity; memory = vipr_encoder; per sample: n ~ p, z ~ N(0, 1) of shape "
            "[n, 3]; run the loop with D = vipr_denoiser on (x, σ, mask, memory); the constituents are "
            "(Δη, Δφ, ln pT) = x·std + mean (hard_standardization) around the input-cloud jet axis, then "
            "the passed-through particles (chs input: the tracker's charged particles and the neutral "
            f"ones above {model.saved_with.get('passthrough_pt', PASSTHROUGH_PT)} GeV) are added",
        },
        "notes": "The observed and context standardisations are inside the graphs (given for reference): feed physical "
        "features. hepgen.tasks.pileup.OnnxVIPR is the reference caller (hepgen predict pileup --onnx DIR).",
    }
    return graphs, extra


class OnnxVIPR:
    """An exported VIPR model (``hepgen export pileup``) run with onnxruntime, with the sampling interface of
    :class:`VIPRModel` (:func:`sample_clouds`): the same random draws, so ``predict --onnx`` gives ``--run``'s
    numbers within the export's tolerance."""

    def __init__(self, folder: str, *, threads: int | None = None) -> None:
        from hepgen.tasks.onnx_export import OnnxGraphs

        self.graphs = OnnxGraphs(folder, task="pileup", threads=threads)
        meta = self.graphs.metadata
        self.config, self.saved_with = meta["model_config"], meta["saved_with"]
        self.objective = self.config.get("objective", "edm")
        self.context_features = context_features(self.config.get("detector", "none"), self.config.get("track_losses"))
        self._mean = torch.tensor(meta["hard_standardization"]["mean"])
        self._std = torch.tensor(meta["hard_standardization"]["std"])

    def sampling_defaults(self) -> tuple[str, str, int]:
        return sampling_defaults(self.objective, self.saved_with)

    def conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The raw inputs (the graphs standardise them)."""
        return batch.observed.float(), batch.observed_mask, batch.context.float()

    def count_probabilities(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        names = ("observed", "observed_mask", "context")
        return torch.from_numpy(
            self.graphs.run("vipr_multiplicity", **dict(zip(names, conditioning)))["count_probability"]
        )

    def encode(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        out = self.graphs.run("vipr_encoder", **dict(zip(("observed", "observed_mask", "context"), conditioning)))
        return torch.from_numpy(out["memory"]), torch.from_numpy(out["memory_mask"])

    def denoiser(
        self, x: Tensor, sigma: Tensor | float, *, mask: Tensor, encoded: tuple[Tensor, Tensor], **_: Any
    ) -> Tensor:
        sigma = torch.as_tensor(sigma, dtype=torch.float32).expand(x.shape[0]).contiguous()
        out = self.graphs.run("vipr_denoiser", x=x, sigma=sigma, mask=mask, memory=encoded[0], memory_mask=encoded[1])
        return torch.from_numpy(out["denoised"])

    def destandardize(self, x: Tensor) -> Tensor:
        return x * self._std + self._mean

    def sample(self, batch: JetBatch, samples: int, **options: Any) -> tuple[Tensor, Tensor]:
        """As :meth:`VIPRModel.sample`."""
        return sample_clouds(self, batch, samples, **options)
