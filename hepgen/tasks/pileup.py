"""VIPR: sample the pileup-free constituents of a jet given the observed, pileup-contaminated jet.

The whole story in one file:

* **inputs** — what an experiment would have: the observed particles (Δη, Δφ, log pT relative to the
  observed jet axis, and whether each is a charged particle inside the tracker), and the jet context:
  observed log pT, η, mass, log(particle count), the *nominal* μ of the bunch crossing and the number of
  reconstructed vertices N_PV = 1 + Binomial(N_PU, ε_vtx) — never the true number of interactions N_PU;
* **input modes** — ``chs`` (the default): the model sees the cloud after charged-hadron subtraction and
  generates only what the tracker does not measure (the neutral hard particles, the charged ones outside
  |η| < 2.5, and those the detector lost); the tracker's charged particles are passed through. ``observed``:
  the model sees every observed particle and generates the whole hard jet;
* **data** — hard-scatter jets (``hepgen generate jets``) and a minimum-bias pool (``hepgen generate
  minbias``), read through :mod:`hepgen.io` (:mod:`hepgen.sim.pileup`); pileup is overlaid on the fly, fresh
  every epoch, with each jet's nominal μ drawn from a law over 0–220 (uniform, mixed with a |N(60, 10)| core)
  and an optional detector inefficiency;
* **model** — :class:`VIPRModel`: EDM preconditioning around the VIPR denoiser (self-attention over the
  noisy cloud, cross-attention to the observed cloud), and a categorical multiplicity model sampled first;
* **posterior** — K samples per observed jet, each converted back to four-vectors with the charged-pion
  mass hypothesis (as every jet the validation builds) and summed into the jet;
* **task** — :data:`PILEUP`: the settings of ``hepgen train|predict|validate pileup``, the loss (EDM
  denoising + multiplicity NLL), and the prediction file: tree ``VIPR`` with one row per (jet, sample) and
  tree ``Jets`` with the observed and truth constituents of each jet, which
  :mod:`hepgen.validation.pileup_comparison` compares with the classical baselines.

The overlay and input pieces (:func:`overlay_epochs`, :func:`jet_batch`, :func:`observe_block`,
:func:`jet_table`) are shared with the per-particle classifier of :mod:`hepgen.tasks.puppiml`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError
from hepgen.io.pointcloud import pad_flat
from hepgen.models.edm import SAMPLERS, EDMLoss, EDMPrecond, karras_sigmas
from hepgen.models.flow_matching import FlowMatchingLoss, FlowMatchingPrecond, uniform_t_sigmas
from hepgen.models.vipr import CountDistribution, MultiplicityModel, VIPRDenoiser
from hepgen.nn import MaskedStandardizer
from hepgen.physics.kinematics import PION_MASS, delta_phi, pt_eta_phi_mass, summed_p4
from hepgen.physics.pileup_mitigation import chs_keep, tracker_charged
from hepgen.shards import derive_seed
from hepgen.sim.pileup import OverlaidJets, count_jets, overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, Task, TrainingData, TrainSettings, ValidateSettings
from hepgen.tasks.data_parallel import EpochBatches
from hepgen.tasks.settings import redefault, setting

__all__ = [
    "CONSTITUENT_FEATURES",
    "OBSERVED_FEATURES",
    "CONTEXT_FEATURES",
    "INPUTS",
    "PASSTHROUGH_PT",
    "OBJECTIVES",
    "SCHEDULES",
    "DEFAULT_SCHEDULE",
    "DEFAULT_SAMPLER",
    "DEFAULT_STEPS",
    "STUDENT_SAMPLING",
    "network_evaluations",
    "steps_for",
    "sampling_defaults",
    "sample_clouds",
    "OnnxVIPR",
    "vipr_export_graphs",
    "with_teacher_targets",
    "JetBatch",
    "passed_through",
    "jet_batch",
    "draw_training_mu",
    "overlay_epochs",
    "observe_block",
    "jet_table",
    "VIPRModel",
    "GeneratedJets",
    "to_generated_jets",
    "OverlayTraining",
    "OverlayPrediction",
    "PileupTraining",
    "PileupPrediction",
    "PileupValidation",
    "PileupTask",
    "PILEUP",
]

#: Features of a generated constituent, relative to the observed jet axis.
CONSTITUENT_FEATURES = ("deta", "dphi", "log_pt")
#: Features of an observed particle: the same, whether it is a charged particle inside the tracker, and whether it is
#: passed through to the output (``chs`` input: the tracker's charged particles and the neutral ones above the
#: pass-through pT).
OBSERVED_FEATURES = ("deta", "dphi", "log_pt", "tracker_charged", "passed_through")
#: The jet context: the observed (input-cloud) jet, the nominal μ, the reconstructed vertices and the detector's
#: particle inefficiency (all known in data).
CONTEXT_FEATURES = ("log_pt", "eta", "mass", "log_count", "mu", "n_vertices", "inefficiency")
#: ``chs``: the input is the cloud after charged-hadron subtraction; the tracker's charged particles, and the neutral
#: ones harder than the pass-through pT (pileup rarely makes one), are passed through, and the rest of the hard jet
#: is generated. ``observed``: every observed particle is input and the whole hard jet is generated.
INPUTS = ("chs", "observed")

#: Training objectives of the denoiser: EDM diffusion, or conditional flow matching on straight paths (the same
#: network; both sample with EDM's samplers, see :mod:`hepgen.models.flow_matching`).
OBJECTIVES = ("edm", "flow_matching")
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


#: Observed neutral particles above this pT [GeV] are passed through in ``chs`` mode: in the minimum-bias pool a
#: neutral particle above 5 GeV within ΔR < 1 of a jet comes ~0.2 times per jet at μ = 200 (1.3 GeV of pT), while
#: the hard neutral particles below it carry ~8 % of a top jet's pT — what is left to generate.
PASSTHROUGH_PT = 5.0


@dataclass
class JetBatch:
    """Padded arrays of a batch of jets (numpy or torch) for training, sampling or classifying.

    Attributes:
        observed, observed_mask: the input cloud ``[B, M, 5]`` (:data:`OBSERVED_FEATURES`), ``[B, M]``.
        observed_is_pileup: ``[B, M]`` the truth of every input particle (the classifier's target).
        context: ``[B, 7]`` (:data:`CONTEXT_FEATURES`); axis: the input-cloud jet (η, φ) ``[B, 2]``.
        hard, hard_mask: the particles to generate ``[B, N, 3]``, ``[B, N]`` (None when unknown).
        truncated: hard particles dropped by ``max_hard``.
        passthrough: per jet the particles passed through to the output (in ``chs`` mode the tracker's charged ones
            and the neutral ones above the pass-through pT; none in ``observed`` mode): jagged (pt, eta, phi) records,
            not converted by :meth:`to_torch`.
        noise: for distillation, the standardised noise ``[B, N, 3]`` from which a teacher generated ``hard``
            (:func:`with_teacher_targets`); None otherwise.
    """

    observed: Any
    observed_mask: Any
    observed_is_pileup: Any
    context: Any
    axis: Any
    hard: Any = None
    hard_mask: Any = None
    truncated: int = 0
    passthrough: Any = None
    noise: Any = None

    def to_torch(self, device: str | torch.device = "cpu") -> JetBatch:
        def conv(a):
            return None if a is None else torch.as_tensor(a, device=device)

        return JetBatch(
            conv(self.observed),
            conv(self.observed_mask),
            conv(self.observed_is_pileup),
            conv(self.context),
            conv(self.axis),
            conv(self.hard),
            conv(self.hard_mask),
            self.truncated,
            self.passthrough,
            conv(self.noise),
        )


def _relative(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray
) -> list[np.ndarray]:
    return [eta - jet_eta, delta_phi(phi, jet_phi), np.log(pt)]


def _flat(particles: ak.Array, fields: tuple[str, ...] = ("pt", "eta", "phi")) -> dict[str, np.ndarray]:
    return {k: ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in fields}


def input_cloud(observed: OverlaidJets, input: str, index: np.ndarray | None = None) -> ak.Array:
    """The particles a model sees: all observed ones, or those left by charged-hadron subtraction."""
    if input not in INPUTS:
        raise HepgenInputError(f"unknown VIPR input {input!r}; choose one of {INPUTS}")
    cloud = observed.constituents if index is None else observed.constituents[index]
    return cloud[chs_keep(cloud)] if input == "chs" else cloud


def passed_through(particles: ak.Array, input: str, passthrough_pt: float = PASSTHROUGH_PT) -> ak.Array:
    """Which particles go to the output as they are: in ``chs`` mode the tracker's charged ones and the neutral
    ones above ``passthrough_pt``; in ``observed`` mode none."""
    if input == "observed":
        return ak.zeros_like(particles.pt, dtype=bool)
    return tracker_charged(particles) | (particles.pt > passthrough_pt)


def jet_batch(
    observed: OverlaidJets,
    *,
    input: str = "chs",
    passthrough_pt: float = PASSTHROUGH_PT,
    hard: ak.Array | None = None,
    max_hard: int = 128,
    index: np.ndarray | None = None,
) -> JetBatch:
    """Padded model inputs for jets ``index`` (all by default) of an overlay, and what to generate if ``hard`` is given.

    The context jet is the input cloud's, with the charged-pion mass hypothesis for every particle; the nominal μ
    and the vertex count come from the overlay. ``hard`` are the hard-jet records the overlay was made from: the
    particles to generate are the hard ones not passed through (:func:`passed_through`: in ``chs`` mode those the
    tracker did not measure and the neutral ones below ``passthrough_pt``, and every hard particle the detector
    lost; in ``observed`` mode all of them). They are sorted by decreasing pT and padded to the longest in the
    batch but at most ``max_hard`` (softer ones beyond it are dropped and counted).
    """
    J = len(observed.jet_pt)
    index = np.arange(J) if index is None else np.asarray(index)
    cloud = input_cloud(observed, input, index)
    counts = ak.to_numpy(ak.num(cloud)).astype(np.int64)
    jet_pt, jet_eta, jet_phi, jet_mass = pt_eta_phi_mass(summed_p4(cloud, mass=PION_MASS))
    event = np.repeat(np.arange(len(index)), counts)
    flat = _flat(cloud)
    charged = ak.to_numpy(ak.flatten(tracker_charged(cloud))).astype(np.float64)
    passed = passed_through(cloud, input, passthrough_pt)
    cols = [
        *_relative(flat["pt"], flat["eta"], flat["phi"], jet_eta[event], jet_phi[event]),
        charged,
        ak.to_numpy(ak.flatten(passed)).astype(np.float64),
        ak.to_numpy(ak.flatten(cloud.is_pileup)).astype(np.float64),
    ]
    width = max(int(counts.max()) if len(counts) else 1, 1)
    values, obs_mask, _, _ = pad_flat(cols, event, counts, width)
    context = np.stack(
        [
            np.log(np.maximum(jet_pt, 1e-3)),
            jet_eta,
            jet_mass,
            np.log(np.maximum(counts, 1)),
            observed.mu[index],
            observed.n_vertices[index],
            observed.inefficiency[index],
        ],
        axis=1,
    ).astype(np.float32)
    passthrough = cloud[passed][["pt", "eta", "phi"]] if input == "chs" else None
    batch = JetBatch(
        values[..., :5],
        obs_mask,
        values[..., 5] > 0.5,
        context,
        np.stack([jet_eta, jet_phi], axis=1).astype(np.float32),
        passthrough=passthrough,
    )
    if hard is not None:
        particles = hard.constituents[index]
        if input == "chs":  # what is passed through is not generated (unless the detector lost it)
            particles = particles[~(observed.hard_kept[index] & passed_through(particles, input, passthrough_pt))]
        h_counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
        h = _flat(particles)
        h_event = np.repeat(np.arange(len(index)), h_counts)
        order = np.lexsort((-h["pt"], h_event))  # decreasing pT within each jet
        h_event = h_event[order]
        cols = _relative(h["pt"][order], h["eta"][order], h["phi"][order], jet_eta[h_event], jet_phi[h_event])
        width = max(
            1, min(max_hard, int(h_counts.max()) if len(h_counts) else 1)
        )  # pad to the batch, truncate at max_hard
        batch.hard, batch.hard_mask, _, batch.truncated = pad_flat(cols, h_event, h_counts, width)
    return batch


def draw_training_mu(
    n: int,
    rng: np.random.Generator,
    *,
    mu_min: float,
    mu_max: float,
    core: float,
    core_sigma: float,
    core_fraction: float,
) -> np.ndarray:
    """Nominal μ of ``n`` training jets: uniform in [mu_min, mu_max], a share ``core_fraction`` from |N(core, σ)|."""
    if not 0 <= mu_min <= mu_max:
        raise HepgenInputError(f"the training μ range must satisfy 0 <= mu_min <= mu_max; got [{mu_min}, {mu_max}]")
    if not 0 <= core_fraction <= 1:
        raise HepgenInputError(f"mu_core_fraction must be in [0, 1]; got {core_fraction}")
    from_core = rng.uniform(size=n) < core_fraction
    uniform = rng.uniform(mu_min, mu_max, n)
    gaussian = np.abs(rng.normal(core, core_sigma, n))
    return np.where(from_core, gaussian, uniform)


def overlay_epochs(
    jets: ak.Array,
    pool: ak.Array,
    settings: OverlayTraining,
    build: Callable[[OverlaidJets, np.ndarray], Any],
    *,
    shuffle: bool,
    seed: int,
) -> EpochBatches:
    """Every epoch overlays fresh pileup on all jets (from ``(seed, epoch)`` only); ``build(observed, index)`` makes
    each batch. The nominal μ of each jet is drawn from the training law, its interactions from Poisson(μ)."""
    n, size = len(jets), settings.batch_size

    def make(epoch: int) -> list:
        rng = np.random.default_rng([seed, epoch if shuffle else 0])
        observed = training_overlay(jets, pool, settings, rng)
        if not shuffle:
            return [partial(build, observed, np.arange(s, min(s + size, n))) for s in range(0, n, size)]
        # buckets: within groups of 16 batches, jets of similar size share a batch (less padding, same epoch)
        order, sizes = rng.permutation(n), ak.to_numpy(ak.num(observed.constituents))
        batches = []
        for start in range(0, n, _BUCKET * size):
            group = order[start : start + _BUCKET * size]
            group = group[np.argsort(sizes[group], kind="stable")]
            batches += [np.sort(group[s : s + size]) for s in range(0, len(group), size)]
        return [partial(build, observed, batches[b]) for b in rng.permutation(len(batches))]

    return EpochBatches(make, math.ceil(n / size))


#: Batches per bucket of :func:`overlay_epochs`.
_BUCKET = 16


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


class VIPRModel(nn.Module):
    """EDM denoiser + multiplicity model with in-model standardisation of clouds and context."""

    def __init__(
        self,
        *,
        dim: int = 64,
        heads: int = 4,
        blocks: int = 3,
        encoder_blocks: int = 2,
        latents: int = 0,
        max_hard: int = 128,
        objective: str = "edm",
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise HepgenInputError(f"unknown VIPR objective {objective!r}; choose one of {OBJECTIVES}")
        self.objective = objective
        self.config = {
            "dim": dim,
            "heads": heads,
            "blocks": blocks,
            "encoder_blocks": encoder_blocks,
            "latents": latents,
            "max_hard": max_hard,
            "objective": objective,
        }
        n_f, n_o, n_c = len(CONSTITUENT_FEATURES), len(OBSERVED_FEATURES), len(CONTEXT_FEATURES)
        self.observed_standardizer = MaskedStandardizer(n_o)
        self.hard_standardizer = MaskedStandardizer(n_f)
        self.context_standardizer = MaskedStandardizer(n_c)
        network = VIPRDenoiser(
            features=n_f,
            observed_features=n_o,
            context=n_c,
            dim=dim,
            heads=heads,
            blocks=blocks,
            encoder_blocks=encoder_blocks,
            latents=latents,
        )
        self.denoiser = EDMPrecond(network, sigma_data=1.0) if objective == "edm" else FlowMatchingPrecond(network)
        self.multiplicity = MultiplicityModel(
            observed_features=n_o,
            context=n_c,
            dim=dim,
            heads=heads,
            blocks=encoder_blocks,
            latents=latents,
            max_count=max_hard,
        )
        self.denoiser_loss = EDMLoss(sigma_data=1.0) if objective == "edm" else FlowMatchingLoss()

    def fit_standardization(self, batch: JetBatch) -> None:
        t = batch.to_torch()
        self.observed_standardizer.fit(t.observed, t.observed_mask)
        self.hard_standardizer.fit(t.hard, t.hard_mask)
        self.context_standardizer.fit(t.context)

    def conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The standardised (observed ``[B, M, 5]``, observed mask ``[B, M]``, context ``[B, 7]``) of a batch."""
        obs = self.observed_standardizer(batch.observed, batch.observed_mask)
        return obs, batch.observed_mask, self.context_standardizer(batch.context)

    def loss(self, batch: JetBatch, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(denoising loss — EDM's or flow matching's —, multiplicity negative log-likelihood) of a training batch."""
        obs, obs_mask, ctx = self.conditioning(batch)
        hard = self.hard_standardizer(batch.hard, batch.hard_mask)
        paired = {} if batch.noise is None else {"noise": batch.noise}  # distillation: the teacher's noise
        diffusion = self.denoiser_loss(
            self.denoiser,
            hard,
            mask=batch.hard_mask,
            generator=generator,
            observed=obs,
            observed_mask=obs_mask,
            context=ctx,
            **paired,
        )
        counts = batch.hard_mask.sum(dim=1).clamp(0, self.multiplicity.max_count)
        nll = -self.multiplicity(obs, obs_mask, ctx).log_prob(counts).mean()
        return diffusion, nll

    # -- the parts :func:`sample_clouds` samples with (also provided by :class:`OnnxVIPR`) --------------------------
    def count_probabilities(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """p(n constituents to generate) ``[B, max_hard + 1]``."""
        return self.multiplicity(*conditioning).probs

    def encode(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The denoiser's encoding of the observed jet ``[B, K, dim]`` and its mask ``[B, K]`` (once per jet)."""
        return self.denoiser.network.encoder(*conditioning)

    def destandardize(self, x: Tensor) -> Tensor:
        """Standardised generated constituents → (Δη, Δφ, log pT)."""
        return self.hard_standardizer.inverse(x)

    @torch.no_grad()
    def sample(
        self,
        batch: JetBatch,
        samples: int,
        *,
        steps: int | None = None,
        sampler: str | None = None,
        schedule: str | None = None,
        churn: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``samples`` generated clouds per jet: (Δη, Δφ, log pT) ``[B·K, N, 3]`` and masks ``[B·K, N]`` (jet-major).

        ``steps`` of ``sampler`` (heun, euler, heun_t; :func:`network_evaluations`) on ``schedule`` (karras,
        uniform_t); None: the model's (:meth:`sampling_defaults`)."""
        return sample_clouds(
            self, batch, samples, steps=steps, sampler=sampler, schedule=schedule, churn=churn, generator=generator
        )

    def sampling_defaults(self) -> tuple[str, str, int]:
        """(sampler, schedule, steps) this model samples with unless told otherwise: a distilled student's
        (:data:`STUDENT_SAMPLING`), else its objective's."""
        return sampling_defaults(self.objective, getattr(self, "saved_with", {}))

    @torch.no_grad()
    def solve(
        self,
        conditioning: tuple[Tensor, Tensor, Tensor],
        noise: Tensor,
        mask: Tensor,
        *,
        steps: int,
        sampler: str,
        schedule: str,
        churn: float = 0.0,
        generator: torch.Generator | None = None,
        encoded: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """The standardised clouds ``[B, N, 3]`` the sampler reaches from unit ``noise`` ``[B, N, 3]`` (scaled by the
        schedule's first σ) for the standardised conditioning ``(observed, observed_mask, context)`` and ``mask``
        (``encoded``: the denoiser's encoding of that conditioning, if already computed)."""
        obs, obs_mask, ctx = conditioning
        sigmas = SCHEDULES[schedule](steps, device=obs.device).to(obs.dtype)
        if encoded is None:
            encoded = self.denoiser.network.encoder(obs, obs_mask, ctx)
        return SAMPLERS[sampler](
            self.denoiser,
            noise * sigmas[0],
            sigmas,
            mask=mask,
            churn=churn,
            generator=generator,
            observed=obs,
            observed_mask=obs_mask,
            context=ctx,
            encoded=encoded,
        )


def sampling_defaults(objective: str, saved_with: dict[str, Any]) -> tuple[str, str, int]:
    """(sampler, schedule, steps) of a model of ``objective`` saved with ``saved_with``: a distilled student's
    (:data:`STUDENT_SAMPLING`), else the objective's."""
    if saved_with.get("teacher"):
        return STUDENT_SAMPLING
    return DEFAULT_SAMPLER[objective], DEFAULT_SCHEDULE[objective], DEFAULT_STEPS[objective]


@torch.no_grad()
def sample_clouds(
    networks: Any,
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
    noise = torch.randn(mask.shape + (len(CONSTITUENT_FEATURES),), generator=generator, device=obs.device)
    memory, memory_mask = networks.encode(conditioning)
    sigmas = SCHEDULES[schedule](steps, device=obs.device).to(obs.dtype)
    x = SAMPLERS[sampler](
        networks.denoiser,
        noise * sigmas[0],
        sigmas,
        mask=mask,
        churn=churn,
        generator=generator,
        observed=rep(obs),
        observed_mask=rep(obs_mask),
        context=rep(ctx),
        encoded=(rep(memory), rep(memory_mask)),
    )
    return networks.destandardize(x) * mask[..., None], mask


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

    g = torch.Generator().manual_seed(0)
    obs_std, ctx_std = model.observed_standardizer, model.context_standardizer
    observed_mask = torch.arange(particles)[None, :] < torch.randint(1, particles + 1, (jets,), generator=g)[:, None]
    observed = (
        obs_std.mean + obs_std.std * torch.randn(jets, particles, len(OBSERVED_FEATURES), generator=g)
    ) * observed_mask[..., None]
    context = ctx_std.mean + ctx_std.std * torch.randn(jets, len(CONTEXT_FEATURES), generator=g)
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
            ("jets", len(CONTEXT_FEATURES)),
            "float32",
            f"the jet context ({', '.join(CONTEXT_FEATURES)}): ln(pT / GeV), η, mass [GeV] of the "
            "input-cloud jet, ln(particles), the nominal μ, reconstructed vertices, particle "
            "inefficiency",
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
            f"ones above {model.saved_with.get('passthrough_pt', PASSTHROUGH_PT) if hasattr(model, 'saved_with') else PASSTHROUGH_PT} GeV) are added",
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
    x = teacher.solve(
        teacher.conditioning(batch),
        noise,
        mask,
        steps=steps,
        sampler=DEFAULT_SAMPLER[objective],
        schedule=DEFAULT_SCHEDULE[objective],
    )
    batch.hard = teacher.hard_standardizer.inverse(x) * mask[..., None]
    batch.noise = noise
    return batch


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


# -- the task -------------------------------------------------------------------------------------------------------


@dataclass
class OverlayTraining(TrainSettings):
    """What every pileup task trains on: hard jets, a pool overlaid on the fly, the μ law, the detector, the input."""

    jets: list[str] = setting(
        [], "hard-scatter jets (hepgen generate jets; globs allowed)", required=True, metavar="FILE"
    )
    pileup: list[str] = setting([], "minimum-bias pool (hepgen generate minbias)", required=True, metavar="POOL")
    input: str = setting(
        "chs",
        "the particles the model sees: chs (after charged-hadron subtraction, the tracker's "
        "charged particles passed through) or observed (all)",
        choices=INPUTS,
    )
    mu_min: float = setting(0.0, "nominal μ of the training jets: uniform in [mu_min, mu_max] ...")
    mu_max: float = setting(220.0, "... (the range the model is meant for)")
    mu: float = setting(60.0, "... mixed with a core |N(mu, mu_sigma)|")
    mu_sigma: float = setting(10.0, "width of the μ core")
    mu_core_fraction: float = setting(0.3, "share of the training jets whose μ comes from the core")
    vertex_efficiency: float = setting(0.7, "probability that a pileup interaction gives a reconstructed vertex (N_PV)")
    passthrough_pt: float = setting(
        PASSTHROUGH_PT,
        "chs input: observed neutral particles above this pT [GeV] are passed through (pileup rarely makes one)",
    )
    inefficiencies: list[float] = setting(
        [0.0],
        "detector inefficiencies (probability to lose an observed particle) "
        "the training jets are drawn with, one per jet; a context feature",
    )
    radius: float = setting(1.0, "pileup particles within ΔR < radius of the jet axis join the jet")
    batch_size: int = redefault(TrainSettings, "batch_size", 64)
    learning_rate: float = redefault(TrainSettings, "learning_rate", 5e-4)
    weight_decay: float = redefault(TrainSettings, "weight_decay", 0.01)
    lr_floor: float = redefault(TrainSettings, "lr_floor", 0.05)
    patience: int = redefault(TrainSettings, "patience", 10)


@dataclass
class PileupTraining(OverlayTraining):
    """``hepgen train pileup``: VIPR with pileup overlaid on the fly."""

    dim: int = setting(64, "token width of the networks")
    heads: int = setting(4, "attention heads")
    blocks: int = setting(3, "denoiser blocks (self-attention + cross-attention to the observed jet)")
    encoder_blocks: int = setting(2, "observed-jet encoder blocks")
    latents: int = setting(0, "Perceiver latents for large observed clouds (0: full self-attention)")
    max_hard: int = setting(128, "particles generated at most per jet (the hardest are kept)")
    objective: str = setting(
        "edm", "denoiser objective: edm (diffusion) or flow_matching (straight paths)", choices=OBJECTIVES
    )
    init: str = setting(
        "",
        "start from the weights of this run's model (same network; e.g. a flow-matching run before distillation)",
        metavar="RUN",
    )
    teacher: str = setting(
        "",
        "distil this run's model (rectified-flow distillation, --objective flow_matching): "
        "the targets are the teacher's samples, each paired with its noise",
        metavar="RUN",
    )
    teacher_steps: int = setting(25, "sampler steps of the teacher (its own sampler and schedule)")
    ema_decay: float = redefault(TrainSettings, "ema_decay", 0.999)


@dataclass
class OverlayPrediction(PredictSettings):
    """What every pileup prediction observes: hard jets with pileup overlaid at a nominal μ, through the detector."""

    jets: list[str] = setting([], "hard-scatter jets to contaminate and clean", required=True, metavar="FILE")
    pileup: list[str] = setting(
        [], "minimum-bias pool to overlay (use one the model did not train on)", required=True, metavar="POOL"
    )
    mu: float = setting(60.0, "nominal μ: each jet's interactions are Poisson(μ)")
    vertex_efficiency: float = setting(0.7, "probability that a pileup interaction gives a reconstructed vertex (N_PV)")
    inefficiency: float = setting(0.0, "probability that the detector loses an observed particle (the truth keeps it)")


@dataclass
class PileupPrediction(OverlayPrediction):
    """``hepgen predict pileup``: overlay pileup on hard jets and sample VIPR's posterior for each."""

    samples: int = redefault(PredictSettings, "samples", 16)
    steps: int = setting(
        0,
        "sampler steps (Heun: 2·steps − 1 network evaluations, Euler: steps); 0: the model's "
        "default (EDM 50 Heun steps, flow matching 8 heun_t steps, a distilled student 4 Euler steps)",
    )
    sampler: str = setting(
        "",
        "sampler: heun (EDM's, in σ), euler, heun_t (Heun in the flow's time t); default: the "
        "model's objective's (EDM heun, flow matching heun_t)",
        choices=("", *SAMPLERS),
    )
    schedule: str = setting(
        "",
        "noise schedule: karras or uniform_t (default: the model's objective's: EDM karras, flow matching uniform_t)",
        choices=("", *SCHEDULES),
    )


@dataclass
class PileupValidation(ValidateSettings):
    """``hepgen validate pileup``: VIPR, the learned classifier and the classical baselines against the truth, per μ."""

    validation_fraction: float = setting(0.3, "share of jets used only to tune the baselines' parameters")
    bootstrap: int = setting(200, "bootstrap resamples (over jets) for the statistical error of every figure of merit")


@dataclass
class VIPRPredictor:
    """A trained pileup model and the pool it overlays."""

    model: Any
    pool: ak.Array


def observe_block(settings: OverlayPrediction, pool: ak.Array, block: Block) -> tuple[ak.Array, OverlaidJets]:
    """The hard jets of a prediction block and their overlay (seeded by the block: every pileup task that
    predicts the same jets with the same seed sees the same observed jets)."""
    jets = read_hard_jets(settings.jets, entry_start=block.start, entry_stop=block.stop)
    observed = overlay_pileup(
        jets,
        pool,
        mu=settings.mu,
        seed=block.seed,
        vertex_efficiency=settings.vertex_efficiency,
        inefficiency=settings.inefficiency,
    )
    return jets, observed


def jet_table(jets: ak.Array, observed: OverlaidJets) -> dict[str, np.ndarray | ak.Array]:
    """One row per jet: the observed constituents (with charge and ``is_pileup``), the truth (hard) constituents,
    both jets, and what data knows of the pileup (nominal μ, vertices) beside the truth (interactions)."""
    truth = ak.zip({k: jets.constituents[k] for k in ("pt", "eta", "phi", "mass")})
    truth_jet = dict(zip(("pt", "eta", "phi", "mass"), pt_eta_phi_mass(summed_p4(truth))))
    return {
        **{
            f"observed_constituent_{k}": ak.values_astype(observed.constituents[k], np.float32)
            for k in ("pt", "eta", "phi", "mass", "charge")
        },
        "observed_constituent_is_pileup": ak.values_astype(observed.constituents.is_pileup, bool),
        **{f"truth_constituent_{k}": ak.values_astype(truth[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"observed_jet_{k}": getattr(observed, f"jet_{k}").astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"truth_jet_{k}": truth_jet[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        "n_pileup": observed.n_interactions.astype(np.int32),
        "n_vertices": observed.n_vertices.astype(np.int32),
        "mu": observed.mu.astype(np.float32),
    }


def read_training_jets(settings: OverlayTraining) -> tuple[ak.Array, ak.Array, ak.Array, ak.Array]:
    """(training jets, validation jets, all of them, the pool) of a pileup task's training settings."""
    jets = read_hard_jets(settings.jets, entry_stop=settings.max_events)
    pool = read_pileup_pool(settings.pileup)
    order = np.random.default_rng(settings.seed).permutation(len(jets))
    n_val = max(1, int(round(settings.val_fraction * len(jets))))
    return jets[np.sort(order[n_val:])], jets[np.sort(order[:n_val])], jets, pool


def training_overlay(
    jets: ak.Array, pool: ak.Array, settings: OverlayTraining, rng: np.random.Generator
) -> OverlaidJets:
    """An overlay of ``jets`` with the training laws: each jet's nominal μ (:func:`draw_training_mu`) and
    inefficiency (one of ``settings.inefficiencies``), its interactions Poisson(μ)."""
    n = len(jets)
    mu = draw_training_mu(
        n,
        rng,
        mu_min=settings.mu_min,
        mu_max=settings.mu_max,
        core=settings.mu,
        core_sigma=settings.mu_sigma,
        core_fraction=settings.mu_core_fraction,
    )
    lost = np.asarray(settings.inefficiencies, dtype=np.float64)[rng.integers(0, len(settings.inefficiencies), n)]
    return overlay_pileup(
        jets,
        pool,
        mu=mu,
        seed=rng,
        radius=settings.radius,
        vertex_efficiency=settings.vertex_efficiency,
        inefficiency=lost,
    )


def check_prediction_input(model_settings: dict[str, Any], settings: OverlayPrediction) -> None:
    """Refuse a prediction outside what the model was trained for (μ beyond its range)."""
    if settings.mu < 0:
        raise HepgenInputError(f"--mu must be >= 0; got {settings.mu}")
    mu_max = model_settings.get("mu_max")
    if mu_max is not None and settings.mu > 1.2 * float(mu_max):
        import logging

        logging.getLogger("hepgen.pileup").warning(
            "μ = %g is beyond the training range (up to %g)", settings.mu, mu_max
        )
    trained = model_settings.get("inefficiencies", [0.0])
    if not min(trained) - 1e-9 <= settings.inefficiency <= max(trained) + 1e-9:
        raise HepgenInputError(
            f"--inefficiency {settings.inefficiency} is outside the inefficiencies the model trained "
            f"with ({trained}): train with --inefficiencies covering it"
        )


class PileupTask(Task):
    """VIPR (see the module docstring)."""

    name = "pileup"
    summary = "VIPR: the pileup-free constituents of a jet, sampled by conditional diffusion"
    Training = PileupTraining
    Prediction = PileupPrediction
    Validation = PileupValidation
    model_class = VIPRModel
    output_tree = "VIPR"
    block_size = 32
    group_name = "point (μ, inefficiency)"
    #: The method's name in prediction files and the validation.
    method_name = "vipr"

    def build_model(self, settings: PileupTraining) -> VIPRModel:
        model = VIPRModel(
            dim=settings.dim,
            heads=settings.heads,
            blocks=settings.blocks,
            encoder_blocks=settings.encoder_blocks,
            latents=settings.latents,
            max_hard=settings.max_hard,
            objective=settings.objective,
        )
        if settings.init:
            from hepgen.tasks.run_folder import load_model

            start = load_model(self, settings.init)
            if {k: v for k, v in start.config.items() if k != "objective"} != {
                k: v for k, v in model.config.items() if k != "objective"
            }:
                raise HepgenInputError(
                    f"--init {settings.init}: its network {start.config} differs from this one {model.config}"
                )
            model.load_state_dict(start.state_dict())
            model.initialised_from = settings.init
        return model

    def training_data(self, settings: PileupTraining, model: VIPRModel) -> TrainingData:
        train, val, _, pool = read_training_jets(settings)
        if not getattr(model, "initialised_from", None):  # a started model keeps its standardisation
            model.fit_standardization(
                jet_batch(
                    training_overlay(train, pool, settings, np.random.default_rng(settings.seed)),
                    input=settings.input,
                    passthrough_pt=settings.passthrough_pt,
                    hard=train,
                    max_hard=settings.max_hard,
                )
            )
        teacher = self._teacher(settings, model)

        def build(observed: OverlaidJets, index: np.ndarray, jets: ak.Array) -> JetBatch:
            batch = jet_batch(
                observed,
                input=settings.input,
                passthrough_pt=settings.passthrough_pt,
                hard=jets,
                max_hard=settings.max_hard,
                index=index,
            ).to_torch()
            if teacher is None:
                return batch
            generator = torch.Generator().manual_seed(
                derive_seed(settings.seed, int(observed.n_interactions[index].sum()), int(index[0]))
            )
            return with_teacher_targets(teacher, batch, steps=settings.teacher_steps, generator=generator)

        return TrainingData(
            overlay_epochs(train, pool, settings, lambda o, i: build(o, i, train), shuffle=True, seed=settings.seed),
            overlay_epochs(val, pool, settings, lambda o, i: build(o, i, val), shuffle=False, seed=settings.seed + 1),
            f"{len(train)} training and {len(val)} validation jets, a pool of {len(pool)} events, input {settings.input}, "
            f"μ uniform in [{settings.mu_min:g}, {settings.mu_max:g}] with {settings.mu_core_fraction:.0%} from "
            f"|N({settings.mu:g}, {settings.mu_sigma:g})|",
        )

    def _teacher(self, settings: PileupTraining, student: VIPRModel) -> VIPRModel | None:
        """The teacher of a distillation (checked: flow-matching student, the same input and standardisation)."""
        if not settings.teacher:
            return None
        from hepgen.tasks.run_folder import load_model

        if settings.objective != "flow_matching":
            raise HepgenInputError("--teacher distils into straight paths: use it with --objective flow_matching")
        teacher = load_model(self, settings.teacher)
        if teacher.saved_with.get("input") != settings.input:
            raise HepgenInputError(
                f"--teacher {settings.teacher} was trained on input {teacher.saved_with.get('input')!r}, "
                f"this run uses {settings.input!r}"
            )
        for name in ("observed_standardizer", "hard_standardizer", "context_standardizer"):
            mine, theirs = getattr(student, name).state_dict(), getattr(teacher, name).state_dict()
            if any(not torch.allclose(mine[k], theirs[k], rtol=1e-4, atol=1e-6) for k in mine):
                raise HepgenInputError(
                    f"--teacher {settings.teacher}: its {name} differs from this run's; train the "
                    "student on the teacher's jets and seed (or --init from a run that was)"
                )
        return teacher

    def loss(self, model: VIPRModel, batch: JetBatch, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        diffusion, multiplicity = model.loss(batch, generator=generator)
        return {"diffusion": diffusion, "multiplicity": multiplicity}

    def model_file_extras(self, settings: PileupTraining) -> dict[str, Any]:
        keys = (
            "input",
            "passthrough_pt",
            "mu_min",
            "mu_max",
            "mu",
            "mu_sigma",
            "mu_core_fraction",
            "vertex_efficiency",
            "inefficiencies",
            "radius",
            "init",
            "teacher",
            "teacher_steps",
        )
        return {k: getattr(settings, k) for k in keys if hasattr(settings, k)}  # the classifier has no teacher

    def load_predictor(self, settings: OverlayPrediction) -> VIPRPredictor:
        model = super().load_predictor(settings)
        check_prediction_input(model.saved_with, settings)
        return VIPRPredictor(model, read_pileup_pool(settings.pileup))

    def load_onnx_predictor(self, settings: OverlayPrediction) -> OnnxVIPR:
        return OnnxVIPR(settings.onnx)

    def export_graphs(self, model: VIPRModel) -> tuple[list[Any], dict[str, Any]]:
        return vipr_export_graphs(model)

    def count_entries(self, settings: OverlayPrediction) -> int:
        return count_jets(settings.jets)

    def input_files(self, settings: OverlayPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.jets)

    def prediction_metadata(self, predictor: VIPRPredictor, settings: OverlayPrediction) -> dict[str, Any]:
        """The method's name in the validation (``vipr`` on CHS input, ``vipr_observed`` on all particles; the same
        for ``puppiml``) and what the model trained on."""
        model_input = predictor.model.saved_with.get("input", "observed")
        name = self.method_name if model_input == "chs" else f"{self.method_name}_{model_input}"
        out = {
            "method": name,
            "input": model_input,
            "trained_with": {k: v for k, v in predictor.model.saved_with.items() if k != "task"},
        }
        if hasattr(predictor.model, "sampling_defaults"):  # the sampling actually used (settings or the model's)
            sampler, schedule, steps = predictor.model.sampling_defaults()
            sampler, schedule, steps = (
                settings.sampler or sampler,
                settings.schedule or schedule,
                settings.steps or steps,
            )
            out["sampling"] = {
                "sampler": sampler,
                "schedule": schedule,
                "steps": steps,
                "network_evaluations": network_evaluations(steps, sampler),
            }
        return out

    def predict_block(self, predictor: VIPRPredictor, settings: PileupPrediction, block: Block) -> BlockOutput:
        """Overlay Poisson(μ) pileup on the block's hard jets, sample ``samples`` posteriors per jet.

        Tree ``VIPR``: one row per (jet, sample), the generated constituents (and the passed-through ones) and the
        jet; tree ``Jets``: one row per jet (:func:`jet_table`).
        """
        jets, observed = observe_block(settings, predictor.pool, block)
        model_input = predictor.model.saved_with.get("input", "observed")
        generator = torch.Generator(device=settings.device).manual_seed(derive_seed(settings.seed, block.index, 1))
        batch = jet_batch(
            observed, input=model_input, passthrough_pt=predictor.model.saved_with.get("passthrough_pt", PASSTHROUGH_PT)
        )
        clouds, mask = predictor.model.sample(
            batch.to_torch(settings.device),
            settings.samples,
            steps=settings.steps or None,
            sampler=settings.sampler or None,
            schedule=settings.schedule or None,
            generator=generator,
        )
        generated = to_generated_jets(clouds, mask, batch.axis, settings.samples, batch.passthrough)
        rows = generated.jet_index
        samples = {
            "sample": generated.sample_index.astype(np.int32),
            "constituent_pt": generated.constituents.pt,
            "constituent_eta": generated.constituents.eta,
            "constituent_phi": generated.constituents.phi,
            **{f"jet_{k}": getattr(generated, k).astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
            "observed_jet_mass": observed.jet_mass[rows].astype(np.float32),
            "truth_jet_mass": ak.to_numpy(jets.mass)[rows].astype(np.float32),
        }
        return BlockOutput(
            {
                "VIPR": (samples, {"entry": (rows + block.start).astype(np.int64)}),
                "Jets": (jet_table(jets, observed), {"entry": np.arange(block.start, block.stop, dtype=np.int64)}),
            }
        )

    def validation_groups(self, files: list[str]) -> dict[Any, list[str]]:
        """Prediction files grouped by point (μ, inefficiency): the points are independent."""
        from hepgen.io.writer import read_metadata

        groups: dict[tuple[float, float], list[str]] = {}
        for path in files:
            metadata = read_metadata(path)
            point = (float(metadata.get("mu", float("nan"))), float(metadata.get("inefficiency", 0.0)))
            groups.setdefault(point, []).append(os.fspath(path))
        return groups

    def validate(self, settings: PileupValidation) -> dict[str, Any]:
        from hepgen.validation.pileup_comparison import validate_pileup

        return validate_pileup(
            settings.pred,
            settings.out,
            validation_fraction=settings.validation_fraction,
            bootstrap=settings.bootstrap,
            label_text=settings.label,
            experiment=settings.experiment,
            progress=settings.progress,
            scheduler=settings.scheduler,
            figures=settings.figures,
        )

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated the pileup methods at μ = {', '.join(f'{m:g}' for m in metrics['mu'])}"


#: The VIPR task, as registered in :mod:`hepgen.tasks.registry`.
PILEUP = PileupTask()
