"""VIPR: sample the pileup-free constituents of a jet given the observed, pileup-contaminated jet.

The whole story in one file:

* **representation** — constituents as (Δη, Δφ, log pT) relative to the
  *observed* jet axis (the only axis known in data), standardised inside the
  model; jet context: observed log pT, η, mass, log(constituent count), μ;
* **data** — hard-scatter jets (``hepgen generate jets``) and a minimum-bias pool
  (``hepgen generate minbias``), read through :mod:`hepgen.io` (:mod:`hepgen.sim.pileup`);
  pileup is overlaid on the fly from a configurable μ law (default |N(60, 10)|), fresh
  in every epoch;
* **model** — :class:`VIPRModel`: EDM preconditioning around the VIPR denoiser
  (self-attention over the noisy hard cloud, cross-attention to the observed
  cloud), and a categorical multiplicity model sampled first;
* **posterior** — K samples per observed jet, each converted back to
  four-vectors (massless constituents) and summed into the jet;
* **task** — :data:`PILEUP`: the settings of ``hepgen train|predict|validate pileup``, the
  loss (EDM denoising + multiplicity NLL), and the prediction file: tree ``VIPR`` with one
  row per (jet, sample) and tree ``Jets`` with the observed and truth constituents of each
  jet, which :mod:`hepgen.validation.pileup_comparison` compares.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor, nn

from hepgen.io.pointcloud import pad_flat
from hepgen.models.edm import SAMPLERS, EDMLoss, EDMPrecond, karras_sigmas
from hepgen.models.vipr import MultiplicityModel, VIPRDenoiser
from hepgen.nn import MaskedStandardizer
from hepgen.physics.kinematics import delta_phi, pt_eta_phi_mass, summed_p4
from hepgen.shards import derive_seed
from hepgen.sim.pileup import OverlaidJets, count_jets, draw_pileup_counts, overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, Task, TrainingData, TrainSettings, ValidateSettings
from hepgen.tasks.data_parallel import EpochBatches
from hepgen.tasks.settings import redefault, setting

__all__ = ["CONSTITUENT_FEATURES", "CONTEXT_FEATURES", "JetBatch", "jet_batch", "VIPRModel", "GeneratedJets",
           "to_generated_jets", "PileupTraining", "PileupPrediction", "PileupValidation", "PileupTask", "PILEUP"]  # fmt: skip

#: Per-constituent features, relative to the observed jet axis.
CONSTITUENT_FEATURES = ("deta", "dphi", "log_pt")
#: Jet-level context of the observed jet.
CONTEXT_FEATURES = ("log_pt", "eta", "mass", "log_count", "mu")


@dataclass
class JetBatch:
    """Padded tensors of a batch of jets (numpy or torch) for training or sampling.

    Attributes:
        observed, observed_mask: the observed cloud ``[B, M, 3]``, ``[B, M]``.
        hard, hard_mask: the hard-scatter cloud ``[B, N, 3]``, ``[B, N]`` (None when unknown).
        context: ``[B, 5]`` jet context; axis: observed jet (η, φ) ``[B, 2]``.
        truncated: hard constituents dropped by ``max_hard``.
    """

    observed: Any
    observed_mask: Any
    context: Any
    axis: Any
    hard: Any = None
    hard_mask: Any = None
    truncated: int = 0

    def to_torch(self, device: str | torch.device = "cpu") -> JetBatch:
        conv = lambda a: None if a is None else torch.as_tensor(a, device=device)  # noqa: E731
        return JetBatch(conv(self.observed), conv(self.observed_mask), conv(self.context), conv(self.axis),
                        conv(self.hard), conv(self.hard_mask), self.truncated)  # fmt: skip


def _relative(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray) -> list[np.ndarray]:
    return [eta - jet_eta, delta_phi(phi, jet_phi), np.log(pt)]


def jet_batch(
    observed: OverlaidJets, mu: np.ndarray | float, *, hard: ak.Array | None = None, max_hard: int = 128,
    index: np.ndarray | None = None,
) -> JetBatch:  # fmt: skip
    """Padded model inputs for jets ``index`` (all by default) of an overlay, and their hard clouds if given.

    ``hard`` are the hard-jet records the overlay was made from (:mod:`hepgen.sim.pileup`). Observed clouds
    are padded to the longest in the batch; hard clouds, sorted by decreasing pT, to the longest in the batch
    but at most ``max_hard`` (softer constituents beyond it are dropped and counted in ``truncated``).
    """
    J = len(observed.jet_pt)
    index = np.arange(J) if index is None else np.asarray(index)
    c = observed.constituents[index]
    counts = ak.to_numpy(ak.num(c)).astype(np.int64)
    jet_eta, jet_phi = observed.jet_eta[index], observed.jet_phi[index]
    event = np.repeat(np.arange(len(index)), counts)
    flat = {k: ak.to_numpy(ak.flatten(c[k])).astype(np.float64) for k in ("pt", "eta", "phi")}
    cols = _relative(flat["pt"], flat["eta"], flat["phi"], jet_eta[event], jet_phi[event])
    obs, obs_mask, _, _ = pad_flat(cols, event, counts, max(int(counts.max()) if len(counts) else 1, 1))
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), (J,))[index]
    context = np.stack(
        [np.log(observed.jet_pt[index]), jet_eta, observed.jet_mass[index], np.log(np.maximum(counts, 1)), mu], axis=1
    ).astype(np.float32)
    batch = JetBatch(obs, obs_mask, context, np.stack([jet_eta, jet_phi], axis=1).astype(np.float32))
    if hard is not None:
        constituents = hard.constituents[index]
        h_counts = ak.to_numpy(ak.num(constituents)).astype(np.int64)
        h = {k: ak.to_numpy(ak.flatten(constituents[k])).astype(np.float64) for k in ("pt", "eta", "phi")}
        h_event = np.repeat(np.arange(len(index)), h_counts)
        order = np.lexsort((-h["pt"], h_event))  # decreasing pT within each jet
        h_event = h_event[order]
        cols = _relative(h["pt"][order], h["eta"][order], h["phi"][order], jet_eta[h_event], jet_phi[h_event])
        width = max(1, min(max_hard, int(h_counts.max()) if len(h_counts) else 1))  # pad to the batch, truncate at max_hard
        batch.hard, batch.hard_mask, _, batch.truncated = pad_flat(cols, h_event, h_counts, width)
    return batch


@dataclass
class GeneratedJets:
    """Posterior samples: per (jet, sample) the constituents and the summed jet.

    Attributes:
        jet_index: the observed jet of each row ``[J·K]``; sample_index: ``[J·K]``.
        constituents: jagged records (pt, eta, phi) per row.
        pt, eta, phi, mass: the generated jet four-momentum per row ``[J·K]``.
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

    def __init__(self, *, dim: int = 64, heads: int = 4, blocks: int = 3, encoder_blocks: int = 2,
                 latents: int = 0, max_hard: int = 128) -> None:  # fmt: skip
        super().__init__()
        self.config = {"dim": dim, "heads": heads, "blocks": blocks, "encoder_blocks": encoder_blocks,
                       "latents": latents, "max_hard": max_hard}  # fmt: skip
        n_f, n_c = len(CONSTITUENT_FEATURES), len(CONTEXT_FEATURES)
        self.observed_standardizer = MaskedStandardizer(n_f)
        self.hard_standardizer = MaskedStandardizer(n_f)
        self.context_standardizer = MaskedStandardizer(n_c)
        self.denoiser = EDMPrecond(
            VIPRDenoiser(features=n_f, observed_features=n_f, context=n_c, dim=dim, heads=heads, blocks=blocks,
                         encoder_blocks=encoder_blocks, latents=latents),
            sigma_data=1.0,
        )  # fmt: skip
        self.multiplicity = MultiplicityModel(observed_features=n_f, context=n_c, dim=dim, heads=heads,
                                              blocks=encoder_blocks, latents=latents, max_count=max_hard)  # fmt: skip
        self.edm_loss = EDMLoss(sigma_data=1.0)

    def fit_standardization(self, batch: JetBatch) -> None:
        t = batch.to_torch()
        self.observed_standardizer.fit(t.observed, t.observed_mask)
        self.hard_standardizer.fit(t.hard, t.hard_mask)
        self.context_standardizer.fit(t.context)

    def _conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        obs = self.observed_standardizer(batch.observed, batch.observed_mask)
        return obs, batch.observed_mask, self.context_standardizer(batch.context)

    def loss(self, batch: JetBatch, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(EDM denoising loss, multiplicity negative log-likelihood) of a training batch."""
        obs, obs_mask, ctx = self._conditioning(batch)
        hard = self.hard_standardizer(batch.hard, batch.hard_mask)
        diffusion = self.edm_loss(self.denoiser, hard, mask=batch.hard_mask, generator=generator, observed=obs,
                                  observed_mask=obs_mask, context=ctx)  # fmt: skip
        counts = batch.hard_mask.sum(dim=1).clamp(1, self.multiplicity.max_count)
        nll = -self.multiplicity(obs, obs_mask, ctx).log_prob(counts).mean()
        return diffusion, nll

    @torch.no_grad()
    def sample(
        self, batch: JetBatch, samples: int, *, steps: int = 50, sampler: str = "heun", churn: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """``samples`` hard clouds per jet: (Δη, Δφ, log pT) ``[B·K, N, 3]`` and masks ``[B·K, N]`` (jet-major)."""
        obs, obs_mask, ctx = self._conditioning(batch)
        rep = lambda t: t.repeat_interleave(samples, dim=0)  # noqa: E731
        obs, obs_mask, ctx = rep(obs), rep(obs_mask), rep(ctx)
        if obs.shape[0] == 0:  # no jets: empty clouds
            return torch.zeros(0, 1, len(CONSTITUENT_FEATURES), device=obs.device), torch.zeros(0, 1, dtype=torch.bool, device=obs.device)
        counts = self.multiplicity(obs, obs_mask, ctx).sample_with(generator)
        N = int(counts.max())
        mask = torch.arange(N, device=counts.device)[None, :] < counts[:, None]
        sigmas = karras_sigmas(steps, device=obs.device).to(obs.dtype)
        x = torch.randn(mask.shape + (len(CONSTITUENT_FEATURES),), generator=generator, device=obs.device) * sigmas[0]
        encoded = self.denoiser.network.encoder(obs, obs_mask, ctx)
        x = SAMPLERS[sampler](self.denoiser, x, sigmas, mask=mask, churn=churn, generator=generator,
                              observed=obs, observed_mask=obs_mask, context=ctx, encoded=encoded)  # fmt: skip
        return self.hard_standardizer.inverse(x) * mask[..., None], mask


def to_generated_jets(clouds: Tensor, mask: Tensor, axis: np.ndarray, samples: int) -> GeneratedJets:
    """Convert sampled (Δη, Δφ, log pT) clouds to absolute constituents and jet four-momenta (via `vector`)."""
    import vector

    clouds, mask = clouds.cpu().numpy().astype(np.float64), mask.cpu().numpy()
    rows = len(clouds)
    jet_index = np.repeat(np.arange(rows // samples), samples)
    counts = mask.sum(axis=1)
    flat = clouds[mask]
    row = np.repeat(np.arange(rows), counts)
    eta = flat[:, 0] + axis[jet_index[row], 0]
    phi = delta_phi(flat[:, 1] + axis[jet_index[row], 1], 0.0)
    pt = np.exp(flat[:, 2])
    p4 = vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": np.zeros_like(pt)})
    sums = {k: np.bincount(row, getattr(p4, k), minlength=rows) for k in ("px", "py", "pz", "E")}
    jets = vector.array({"px": sums["px"], "py": sums["py"], "pz": sums["pz"], "E": sums["E"]})
    constituents = ak.unflatten(ak.zip({"pt": pt.astype(np.float32), "eta": eta.astype(np.float32),
                                        "phi": phi.astype(np.float32)}), counts)  # fmt: skip
    return GeneratedJets(jet_index, np.tile(np.arange(samples), rows // samples), constituents,
                         np.asarray(jets.pt), np.asarray(jets.eta), np.asarray(jets.phi), np.asarray(jets.mass))  # fmt: skip


# -- the task -------------------------------------------------------------------------------------------------------


@dataclass
class PileupTraining(TrainSettings):
    """``hepgen train pileup``: VIPR with pileup overlaid on the fly."""

    jets: list[str] = setting([], "hard-scatter jets (hepgen generate jets; globs allowed)", required=True, metavar="FILE")
    pileup: list[str] = setting([], "minimum-bias pool (hepgen generate minbias)", required=True, metavar="POOL")
    mu: float = setting(60.0, "mean number of overlaid interactions in training")
    mu_sigma: float = setting(10.0, "μ of each jet drawn from |N(mu, mu_sigma)|")
    radius: float = setting(1.0, "pileup particles within ΔR < radius of the jet axis join the jet")
    dim: int = setting(64, "token width of the networks")
    heads: int = setting(4, "attention heads")
    blocks: int = setting(3, "denoiser blocks (self-attention + cross-attention to the observed jet)")
    encoder_blocks: int = setting(2, "observed-jet encoder blocks")
    latents: int = setting(0, "Perceiver latents for large observed clouds (0: full self-attention)")
    max_hard: int = setting(128, "hard constituents generated at most per jet (the hardest are kept)")
    batch_size: int = redefault(TrainSettings, "batch_size", 64)
    learning_rate: float = redefault(TrainSettings, "learning_rate", 5e-4)
    weight_decay: float = redefault(TrainSettings, "weight_decay", 0.01)
    lr_floor: float = redefault(TrainSettings, "lr_floor", 0.05)
    patience: int = redefault(TrainSettings, "patience", 10)
    ema_decay: float = redefault(TrainSettings, "ema_decay", 0.999)


@dataclass
class PileupPrediction(PredictSettings):
    """``hepgen predict pileup``: overlay pileup on hard jets and sample VIPR's posterior for each."""

    jets: list[str] = setting([], "hard-scatter jets to contaminate and clean", required=True, metavar="FILE")
    pileup: list[str] = setting([], "minimum-bias pool to overlay", required=True, metavar="POOL")
    mu: float = setting(60.0, "Poisson mean of the overlaid interactions")
    samples: int = redefault(PredictSettings, "samples", 16)
    steps: int = setting(50, "sampler steps (Heun: 2·steps − 1 network evaluations)")
    sampler: str = setting("heun", "EDM sampler", choices=tuple(SAMPLERS))


@dataclass
class PileupValidation(ValidateSettings):
    """``hepgen validate pileup``: observed jets, SoftDrop and VIPR against the truth, per μ."""

    validation_fraction: float = setting(0.3, "share of jets used only to tune SoftDrop")


@dataclass
class VIPRPredictor:
    """A trained VIPR model and the pool it overlays."""

    model: VIPRModel
    pool: ak.Array


def _jet_table(jets: ak.Array, observed: OverlaidJets) -> dict[str, np.ndarray | ak.Array]:
    """One row per jet: the observed constituents (with ``is_pileup``) and the truth (hard) constituents and jets."""
    truth = ak.zip({k: jets.constituents[k] for k in ("pt", "eta", "phi", "mass")})
    truth_jet = dict(zip(("pt", "eta", "phi", "mass"), pt_eta_phi_mass(summed_p4(truth))))
    return {
        **{f"observed_constituent_{k}": ak.values_astype(observed.constituents[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        "observed_constituent_is_pileup": ak.values_astype(observed.constituents.is_pileup, bool),
        **{f"truth_constituent_{k}": ak.values_astype(truth[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"observed_jet_{k}": getattr(observed, f"jet_{k}").astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"truth_jet_{k}": truth_jet[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        "n_pileup": observed.n_interactions.astype(np.int32),
    }  # fmt: skip


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
    group_name = "μ point"

    def build_model(self, settings: PileupTraining) -> VIPRModel:
        return VIPRModel(dim=settings.dim, heads=settings.heads, blocks=settings.blocks,
                         encoder_blocks=settings.encoder_blocks, latents=settings.latents, max_hard=settings.max_hard)  # fmt: skip

    def _overlay_batches(self, jets: ak.Array, pool: ak.Array, settings: PileupTraining, *, shuffle: bool,
                         seed: int) -> EpochBatches:  # fmt: skip
        """Every epoch overlays fresh pileup on all jets (from ``(seed, epoch)`` only) and yields padded batches."""
        n, size = len(jets), settings.batch_size

        def make(epoch: int) -> list:
            rng = np.random.default_rng([seed, epoch if shuffle else 0])
            counts = draw_pileup_counts(n, settings.mu, rng, distribution="gaussian", sigma=settings.mu_sigma)
            observed = overlay_pileup(jets, pool, mu=settings.mu, seed=rng, n_interactions=counts, radius=settings.radius)
            order = rng.permutation(n) if shuffle else np.arange(n)

            def build(index: np.ndarray) -> JetBatch:
                return jet_batch(observed, counts.astype(np.float64), hard=jets, max_hard=settings.max_hard, index=index).to_torch()

            return [lambda i=np.sort(order[s : s + size]): build(i) for s in range(0, n, size)]

        return EpochBatches(make, math.ceil(n / size))

    def training_data(self, settings: PileupTraining, model: VIPRModel) -> TrainingData:
        jets = read_hard_jets(settings.jets, entry_stop=settings.max_events)
        pool = read_pileup_pool(settings.pileup)
        order = np.random.default_rng(settings.seed).permutation(len(jets))
        n_val = max(1, int(round(settings.val_fraction * len(jets))))
        train, val = jets[np.sort(order[n_val:])], jets[np.sort(order[:n_val])]
        fit_rng = np.random.default_rng(settings.seed)
        counts = draw_pileup_counts(len(train), settings.mu, fit_rng, distribution="gaussian", sigma=settings.mu_sigma)
        model.fit_standardization(jet_batch(overlay_pileup(train, pool, mu=settings.mu, seed=fit_rng, n_interactions=counts),
                                            counts.astype(np.float64), hard=train, max_hard=settings.max_hard))  # fmt: skip
        return TrainingData(
            self._overlay_batches(train, pool, settings, shuffle=True, seed=settings.seed),
            self._overlay_batches(val, pool, settings, shuffle=False, seed=settings.seed + 1),
            f"{len(train)} training and {len(val)} validation jets, a pool of {len(pool)} events, "
            f"μ ~ |N({settings.mu:g}, {settings.mu_sigma:g})|",
        )

    def loss(self, model: VIPRModel, batch: JetBatch, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        diffusion, multiplicity = model.loss(batch, generator=generator)
        return {"diffusion": diffusion, "multiplicity": multiplicity}

    def model_file_extras(self, settings: PileupTraining) -> dict[str, Any]:
        return {"mu": settings.mu, "mu_sigma": settings.mu_sigma, "radius": settings.radius}

    def load_predictor(self, settings: PileupPrediction) -> VIPRPredictor:
        return VIPRPredictor(super().load_predictor(settings), read_pileup_pool(settings.pileup))

    def count_entries(self, settings: PileupPrediction) -> int:
        return count_jets(settings.jets)

    def input_files(self, settings: PileupPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.jets)

    def predict_block(self, predictor: VIPRPredictor, settings: PileupPrediction, block: Block) -> BlockOutput:
        """Overlay Poisson(μ) pileup on the block's hard jets, sample ``samples`` posteriors per jet.

        Tree ``VIPR``: one row per (jet, sample), the generated constituents and jet; tree ``Jets``: one row
        per jet, the observed constituents (``is_pileup`` marks the overlay) and the truth constituents.
        """
        jets = read_hard_jets(settings.jets, entry_start=block.start, entry_stop=block.stop)
        observed = overlay_pileup(jets, predictor.pool, mu=settings.mu, seed=block.seed)
        generator = torch.Generator(device=settings.device).manual_seed(derive_seed(settings.seed, block.index, 1))
        batch = jet_batch(observed, observed.n_interactions.astype(np.float64))
        clouds, mask = predictor.model.sample(batch.to_torch(settings.device), settings.samples, steps=settings.steps,
                                              sampler=settings.sampler, generator=generator)  # fmt: skip
        generated = to_generated_jets(clouds, mask, batch.axis, settings.samples)
        rows = generated.jet_index
        samples = {
            "sample": generated.sample_index.astype(np.int32),
            "constituent_pt": generated.constituents.pt,
            "constituent_eta": generated.constituents.eta,
            "constituent_phi": generated.constituents.phi,
            **{f"jet_{k}": getattr(generated, k).astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
            "observed_jet_mass": observed.jet_mass[rows].astype(np.float32),
            "observed_jet_pt": observed.jet_pt[rows].astype(np.float32),
            "truth_jet_mass": ak.to_numpy(jets.mass)[rows].astype(np.float32),
            "n_pileup": observed.n_interactions[rows].astype(np.int32),
        }  # fmt: skip
        return BlockOutput({
            "VIPR": (samples, {"entry": (rows + block.start).astype(np.int64)}),
            "Jets": (_jet_table(jets, observed), {"entry": np.arange(block.start, block.stop, dtype=np.int64)}),
        })  # fmt: skip

    def validation_groups(self, files: list[str]) -> dict[Any, list[str]]:
        """Prediction files grouped by μ (the μ points are independent)."""
        from hepgen.io.writer import read_metadata

        groups: dict[float, list[str]] = {}
        for path in files:
            groups.setdefault(float(read_metadata(path).get("mu", float("nan"))), []).append(os.fspath(path))
        return groups

    def validate(self, settings: PileupValidation) -> dict[str, Any]:
        from hepgen.validation.pileup_comparison import validate_pileup

        return validate_pileup(settings.pred, settings.out, validation_fraction=settings.validation_fraction,
                               label_text=settings.label, experiment=settings.experiment, progress=settings.progress,
                               scheduler=settings.scheduler, figures=settings.figures)  # fmt: skip

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated VIPR at μ = {', '.join(f'{m:g}' for m in metrics['mu'])}"


#: The VIPR task, as registered in :mod:`hepgen.tasks.registry`.
PILEUP = PileupTask()
