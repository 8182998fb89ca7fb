"""VIPR: sample the pileup-free constituents of a jet given the observed, pileup-contaminated jet.

The whole story in one file:

* **representation** — constituents as (Δη, Δφ, log pT) relative to the
  *observed* jet axis (the only axis known in data), standardised inside the
  model; jet context: observed log pT, η, mass, log(constituent count), μ;
* **training data** — hard-scatter jets (``hepgen generate jets``) and a
  minimum-bias pool (``hepgen generate minbias``); pileup is overlaid on the fly
  from a configurable μ law (default |N(60, 10)|), fresh in every epoch;
* **model** — :class:`VIPRModel`: EDM preconditioning around the VIPR denoiser
  (self-attention over the noisy hard cloud, cross-attention to the observed
  cloud), and a categorical multiplicity model sampled first;
* **posterior** — K samples per observed jet, each converted back to
  four-vectors (massless constituents) and summed into the jet.
"""

from __future__ import annotations

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
from hepgen.physics.kinematics import delta_phi
from hepgen.sim.pileup import HardJets, OverlaidJets

__all__ = ["CONSTITUENT_FEATURES", "CONTEXT_FEATURES", "JetBatch", "jet_batch", "VIPRModel", "GeneratedJets"]

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
    observed: OverlaidJets, mu: np.ndarray | float, *, hard: HardJets | None = None, max_hard: int = 128,
    index: np.ndarray | None = None,
) -> JetBatch:  # fmt: skip
    """Padded model inputs for jets ``index`` (all by default) of an overlay, and their hard clouds if given.

    Observed clouds are padded to the longest in the batch; hard clouds, sorted
    by decreasing pT, to the longest in the batch but at most ``max_hard`` (softer
    constituents beyond it are dropped and counted in ``truncated``).
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
        h_counts = np.diff(hard.offsets)[index]
        starts = hard.offsets[index]
        take = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, h_counts)]) if len(index) else np.zeros(0, int)
        h_event = np.repeat(np.arange(len(index)), h_counts)
        order = np.lexsort((-hard.pt[take], h_event))  # decreasing pT within each jet
        take, h_event = take[order], h_event[order]
        cols = _relative(hard.pt[take], hard.c_eta[take], hard.c_phi[take], jet_eta[h_event], jet_phi[h_event])
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
