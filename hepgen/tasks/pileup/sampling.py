"""VIPR's posterior sampling, whatever runs the networks: schedules and defaults, the sampler loop over the
denoiser (:func:`sample_clouds`), the teacher's targets of a distillation, and samples back to jets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.models.edm import SAMPLERS, karras_sigmas
from hepgen.models.flow_matching import uniform_t_sigmas
from hepgen.models.vipr import CountDistribution
from hepgen.physics.kinematics import PION_MASS, delta_phi, pt_eta_phi_mass, summed_p4
from hepgen.tasks.pileup.inputs import CONSTITUENT_FEATURES, JetBatch

if TYPE_CHECKING:  # the model samples with this module
    from hepgen.tasks.pileup.model import VIPRModel

__all__ = [
    "SCHEDULES",
    "DEFAULT_SCHEDULE",
    "DEFAULT_SAMPLER",
    "DEFAULT_STEPS",
    "STUDENT_SAMPLING",
    "network_evaluations",
    "steps_for",
    "sampling_defaults",
    "VIPRNetworks",
    "refuse_diverged",
    "sample_clouds",
    "integrate",
    "with_teacher_targets",
    "GeneratedJets",
    "to_generated_jets",
]

#: Noise schedules of the samplers: EDM's (Karras et al. Eq. 5, ρ = 7) and equal steps in the flow's time t.
SCHEDULES = {"karras": karras_sigmas, "uniform_t": uniform_t_sigmas}
#: The schedule and sampler each objective samples with unless told otherwise.
DEFAULT_SCHEDULE = {"edm": "karras", "flow_matching": "uniform_t"}
DEFAULT_SAMPLER = {"edm": "heun", "flow_matching": "heun_t"}
#: Steps when none are asked for: EDM's 50 Heun steps (99 evaluations, the reference), flow matching 8 Heun steps in t
#: (15 evaluations), a distilled student (:data:`STUDENT_SAMPLING`) its Euler steps — the settings the NFE curve of
#: ``analyses/pileup/README.md`` supports.
DEFAULT_STEPS = {"edm": 50, "flow_matching": 8}
#: (sampler, schedule, steps) of a model distilled with ``--teacher``.
STUDENT_SAMPLING = ("euler", "uniform_t", 4)


def network_evaluations(steps: int, sampler: str) -> int:
    """Denoiser evaluations of a sampler run: Heun 2·steps − 1 (no correction at σ = 0), Euler ``steps``."""
    return 2 * steps - 1 if sampler.startswith("heun") else steps


def steps_for(evaluations: int, sampler: str) -> int:
    """The most steps of ``sampler`` whose :func:`network_evaluations` do not exceed ``evaluations`` (at least 1)."""
    return max(1, (evaluations + 1) // 2) if sampler.startswith("heun") else max(1, evaluations)


def sampling_defaults(objective: str, saved_with: dict[str, Any]) -> tuple[str, str, int]:
    """(sampler, schedule, steps) of a model of ``objective`` saved with ``saved_with``: a distilled student's
    (:data:`STUDENT_SAMPLING`), else the objective's."""
    if saved_with.get("teacher"):
        return STUDENT_SAMPLING
    if objective not in DEFAULT_SAMPLER:
        raise HepgenInputError(
            f"a model of objective {objective!r} does not sample: train latent diffusion with --autoencoder on its "
            "run and predict with that"
        )
    return DEFAULT_SAMPLER[objective], DEFAULT_SCHEDULE[objective], DEFAULT_STEPS[objective]


class VIPRNetworks(Protocol):
    """What :func:`sample_clouds` expects of whatever runs VIPR's networks: the PyTorch model
    (:class:`~hepgen.tasks.pileup.model.VIPRModel`) and the ONNX runner (:class:`~hepgen.tasks.pileup.export.OnnxVIPR`)
    both provide it. Tensors: the conditioning is (observed ``[B, M, 5]``, its mask ``[B, M]``, context ``[B, 7]``)."""

    def sampling_defaults(self) -> tuple[str, str, int]:
        """(sampler, schedule, steps) when none are asked for."""
        ...

    def conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        """What the networks read of a batch (standardised by the model, raw for the ONNX graphs)."""
        ...

    def count_probabilities(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """p(n constituents to generate) ``[B, max_hard + 1]``."""
        ...

    def encode(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The observed jet's encoding ``[B, K, dim]`` and its mask ``[B, K]``."""
        ...

    def denoiser(self, x: Tensor, sigma: Tensor | float, **conditioning: Any) -> Tensor:
        """D(x; σ) in the standardised constituent space."""
        ...

    def destandardize(self, x: Tensor) -> Tensor:
        """Standardised generated constituents → (Δη, Δφ, log pT)."""
        ...


@torch.no_grad()
def sample_clouds(
    networks: VIPRNetworks,
    batch: JetBatch,
    samples: int,
    *,
    steps: int | None = None,
    sampler: str | None = None,
    schedule: str | None = None,
    churn: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """VIPR's posterior sampling, whatever runs the networks (:class:`VIPRModel`, or :class:`OnnxVIPR` through
    onnxruntime): per jet the count from the multiplicity model, unit noise, the observed jet encoded once, then
    ``sampler`` over the schedule's noise levels calling ``networks.denoiser``. Returns (Δη, Δφ, log pT)
    ``[B·K, N, 3]`` and masks ``[B·K, N]`` (jet-major). The random draws (counts, noise) come from ``generator`` in
    one fixed order, so both back ends give the same samples."""
    default_sampler, default_schedule, default_steps = networks.sampling_defaults()
    schedule = default_schedule if schedule is None else schedule
    sampler = default_sampler if sampler is None else sampler
    steps = default_steps if steps is None else steps
    if schedule not in SCHEDULES or sampler not in SAMPLERS:
        raise HepgenInputError(
            f"unknown sampler {sampler!r} or schedule {schedule!r}; choose from "
            f"{sorted(SAMPLERS)} and {sorted(SCHEDULES)}"
        )
    obs, obs_mask, ctx = conditioning = networks.conditioning(batch)
    if obs.shape[0] == 0:  # no jets: empty clouds
        return torch.zeros(0, 1, len(CONSTITUENT_FEATURES), device=obs.device), torch.zeros(
            0, 1, dtype=torch.bool, device=obs.device
        )

    # the observed jet is encoded once per jet (multiplicity and denoiser), then repeated for its samples
    def rep(t):
        return t.repeat_interleave(samples, dim=0)

    counts = CountDistribution(probs=rep(networks.count_probabilities(conditioning))).sample_with(generator)
    N = max(int(counts.max()), 1)
    mask = torch.arange(N, device=counts.device)[None, :] < counts[:, None]
    latent = getattr(networks, "latent_shape", None)  # latent diffusion: a fixed-size set of latent tokens
    space = torch.ones(mask.shape[0], latent[0], dtype=torch.bool, device=mask.device) if latent else mask
    width = latent[1] if latent else len(CONSTITUENT_FEATURES)
    noise = torch.randn(space.shape + (width,), generator=generator, device=obs.device)
    memory, memory_mask = networks.encode(conditioning)
    repeated, encoded = (rep(obs), rep(obs_mask), rep(ctx)), (rep(memory), rep(memory_mask))
    options = {"steps": steps, "sampler": sampler, "schedule": schedule, "churn": churn, "generator": generator}
    x = integrate(networks.denoiser, noise, space, repeated, encoded, **options)
    if latent:
        x = networks.decode(x, mask)
    return networks.destandardize(x) * mask[..., None], mask


def integrate(
    denoiser: Any,
    noise: Tensor,
    mask: Tensor,
    conditioning: tuple[Tensor, Tensor, Tensor],
    encoded: tuple[Tensor, Tensor],
    *,
    steps: int,
    sampler: str,
    schedule: str,
    churn: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The standardised clouds ``[B, N, 3]`` that ``steps`` of ``sampler`` on ``schedule`` reach from unit ``noise``
    ``[B, N, 3]`` (scaled by the schedule's first σ), calling ``denoiser`` with the standardised ``conditioning``
    (observed, its mask, context), its ``encoded`` form and the constituents' ``mask``."""
    obs, obs_mask, ctx = conditioning
    sigmas = SCHEDULES[schedule](steps, device=obs.device).to(obs.dtype)
    sample = SAMPLERS[sampler]
    x = noise * sigmas[0]
    return sample(
        denoiser, x, sigmas, mask=mask, churn=churn, generator=generator, **_conditioning(*conditioning, encoded)
    )


def _conditioning(observed: Tensor, observed_mask: Tensor, context: Tensor, encoded: Any) -> dict[str, Any]:
    """The keyword conditioning of a sampler's denoiser calls."""
    return {"observed": observed, "observed_mask": observed_mask, "context": context, "encoded": encoded}


@torch.no_grad()
def with_teacher_targets(
    teacher: VIPRModel, batch: JetBatch, *, steps: int, generator: torch.Generator | None = None
) -> JetBatch:
    """The batch for rectified-flow distillation: unit noise ``[B, N, 3]`` for each jet's true count and, as the
    particles to generate, the teacher's deterministic solution from that noise (its own sampler and schedule,
    ``steps`` steps). The student learns the straight path from each noise to its teacher sample."""
    mask = batch.hard_mask
    noise = (
        torch.randn(mask.shape + (len(CONSTITUENT_FEATURES),), generator=generator, device=mask.device)
        * mask[..., None]
    )
    objective = teacher.objective
    sampling = {"steps": steps, "sampler": DEFAULT_SAMPLER[objective], "schedule": DEFAULT_SCHEDULE[objective]}
    x = teacher.solve(teacher.conditioning(batch), noise, mask, **sampling)
    batch.hard = teacher.hard_standardizer.inverse(x) * mask[..., None]
    batch.noise = noise
    return batch


@dataclass
class GeneratedJets:
    """Posterior samples: per (jet, sample) the constituents and the summed jet.

    Attributes:
        jet_index: the observed jet of each row ``[J·K]``; sample_index: ``[J·K]``.
        constituents: jagged records (pt, eta, phi) per row: the generated particles, then the passed-through ones.
        pt, eta, phi, mass: the jet four-momentum per row ``[J·K]`` (charged-pion mass hypothesis).
    """

    jet_index: np.ndarray
    sample_index: np.ndarray
    constituents: ak.Array
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray


def refuse_diverged(clouds: Tensor, mask: Tensor, asked: str) -> None:
    """HepgenInputError when a sampled constituent of ``clouds [B·K, N, 3]`` (within ``mask [B·K, N]``) is not
    finite: the sampler diverged at the steps ``asked`` (EDM's Heun does at 3 and 7 evaluations,
    analyses/pileup/nfe_study/nfe.md), and a NaN jet would silently leave the posterior."""
    finite = torch.isfinite(clouds).all(-1)[mask]
    if not bool(finite.all()):
        raise HepgenInputError(
            f"the sampler diverged: {float((~finite).float().mean()):.1%} of the sampled constituents are not "
            f"finite with {asked}; sample with more steps or another sampler"
        )


def to_generated_jets(
    clouds: Tensor, mask: Tensor, axis: np.ndarray, samples: int, passthrough: ak.Array | None = None
) -> GeneratedJets:
    """Sampled (Δη, Δφ, log pT) clouds as absolute constituents, with the ``passthrough`` particles of each jet
    appended to every sample, and the jets they sum to (charged-pion mass for every constituent)."""
    clouds, mask = clouds.cpu().numpy().astype(np.float64), mask.cpu().numpy()
    rows = len(clouds)
    jet_index = np.repeat(np.arange(rows // samples), samples)
    counts = mask.sum(axis=1)
    flat = clouds[mask]
    row = np.repeat(np.arange(rows), counts)
    generated = ak.unflatten(
        ak.zip(
            {
                "pt": np.exp(flat[:, 2]),
                "eta": flat[:, 0] + axis[jet_index[row], 0],
                "phi": delta_phi(flat[:, 1] + axis[jet_index[row], 1], 0.0),
            }
        ),
        counts,
    )
    if passthrough is not None:
        extra = passthrough[jet_index]
        generated = ak.concatenate(
            [generated, ak.zip({k: ak.values_astype(extra[k], np.float64) for k in ("pt", "eta", "phi")})], axis=1
        )
    constituents = ak.zip({k: ak.values_astype(generated[k], np.float32) for k in ("pt", "eta", "phi")})
    pt, eta, phi, mass = pt_eta_phi_mass(summed_p4(generated, mass=PION_MASS))
    return GeneratedJets(jet_index, np.tile(np.arange(samples), rows // samples), constituents, pt, eta, phi, mass)
