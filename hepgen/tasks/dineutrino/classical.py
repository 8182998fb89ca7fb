"""The classical dilepton reconstructions where the flow meets them: the b-jet candidates, the ellipse method's and
Neutrino Weighting's answers as model inputs (the ``constrained`` input set), and the flow's b-jet pairing."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgen.physics.dilepton_neutrinos import b_jet_candidates, ellipse_method, neutrino_weighting
from hepgen.physics.kinematics import invariant_mass, massless_p4
from hepgen.physics.ttbar_reconstruction import TOP_MASS

__all__ = [
    "SOLUTION_FEATURES",
    "CLASSICAL_METHODS",
    "b_candidates_p4",
    "b_candidates_of",
    "classical_tokens",
    "flow_pairing",
    "sampled_b_jets",
]

#: A classical (ν, ν̄) answer as a token: both momenta [GeV], the pair's m(tt̄) [GeV] and whether the b candidates
#: were swapped (1: the second candidate is the top's b).
SOLUTION_FEATURES = ("nu_px", "nu_py", "nu_pz", "nubar_px", "nubar_py", "nubar_pz", "m_ttbar", "swapped")
#: Events per call of the classical methods while building inputs (Neutrino Weighting's grid: ~1.4 MB per event).
_CLASSICAL_CHUNK = 2000

#: The classical methods ``predict --method`` runs (no training).
CLASSICAL_METHODS = {"ellipse": ellipse_method, "weighting": neutrino_weighting}


def b_candidates_p4(arrays: Any) -> np.ndarray:
    """The two jets taken as b quarks per event ``[B, 2, 4]`` (zero where an event has one jet):
    :func:`~hepgen.physics.dilepton_neutrinos.b_jet_candidates`."""
    return b_candidates_of(arrays.objects["jets"][..., 4], arrays.jets_p4, arrays.masks["jets"])


def b_candidates_of(btag: np.ndarray, jets_p4: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The b candidates (px, py, pz, E) ``[B, 2, 4]`` of jets ``[B, N, 4]`` with b-tag flags and masks ``[B, N]``."""
    chosen = b_jet_candidates(btag, np.hypot(jets_p4[..., 0], jets_p4[..., 1]), mask)
    p4 = np.take_along_axis(jets_p4.astype(np.float64), np.maximum(chosen, 0)[..., None], axis=1)
    return np.where((chosen >= 0)[..., None], p4, 0.0)


def classical_tokens(
    b_pair: np.ndarray, leptons: np.ndarray, met: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The classical answers as model inputs: ``{"ellipse": (values [B, 8, 8], mask [B, 8]), "weighting": (values
    [B, 2, 8], mask [B, 2])}`` (:data:`SOLUTION_FEATURES`; zero where masked). The ellipse method's up to four
    solutions and Neutrino Weighting's best pair, each with the b candidates ``b_pair`` ``[B, 2, 4]`` in both orders
    (ℓ⁺ ``leptons[:, 0]`` with the first, then with the second); ``met`` (px, py) ``[B, 2]`` [GeV]."""
    out: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in CLASSICAL_METHODS}
    for start in range(0, len(b_pair), _CLASSICAL_CHUNK):
        rows = slice(start, start + _CLASSICAL_CHUNK)
        b, lep, m = b_pair[rows], leptons[rows], np.asarray(met[rows], dtype=np.float64)
        for name, method in CLASSICAL_METHODS.items():
            values, masks = [], []
            for swapped in (0, 1):
                bt, bbar = b[:, swapped], b[:, 1 - swapped]
                with np.errstate(all="ignore"):
                    solutions = method(bt, lep[:, 0], bbar, lep[:, 1], m)
                valid = solutions.valid & (np.abs(bt[:, 3]) > 0)[:, None] & (np.abs(bbar[:, 3]) > 0)[:, None]
                nu, nubar = np.nan_to_num(solutions.nu), np.nan_to_num(solutions.nubar)
                total = (bt + bbar + lep[:, 0] + lep[:, 1])[:, None] + massless_p4(nu) + massless_p4(nubar)
                m_ttbar = np.sqrt(np.maximum(total[..., 3] ** 2 - (total[..., :3] ** 2).sum(-1), 0.0))
                v = np.concatenate([nu, nubar, m_ttbar[..., None], np.full(m_ttbar.shape + (1,), float(swapped))], -1)
                values.append(np.where(valid[..., None], v, 0.0))
                masks.append(valid)
            out[name][0].append(np.concatenate(values, axis=1))
            out[name][1].append(np.concatenate(masks, axis=1))
    widths = {"ellipse": 8, "weighting": 2}
    return {
        name: (
            np.concatenate(v).astype(np.float32)
            if v
            else np.zeros((0, widths[name], len(SOLUTION_FEATURES)), np.float32),
            np.concatenate(k) if k else np.zeros((0, widths[name]), bool),
        )
        for name, (v, k) in out.items()
    }


def flow_pairing(b_pair: np.ndarray, leptons: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """The b candidates in top order ``[B, 2, 4]`` for the flow: the pairing whose m(ℓ⁺ν b), m(ℓ⁻ν̄ b̄) are nearer
    m_t on average over the posterior ``samples`` (px, py, pz) ``[B, S, 2, 3]`` (mean squared distance). Confirmed
    on the early-stopping validation events of the 100 000-event training (``analyses/dineutrino/point_estimators.py``):
    cos θ⁺ / cos θ⁻ resolution 0.328 / 0.347 against 0.358 / 0.378 with the median neutrinos' pairing (paired
    differences 0.030 ± 0.005, 0.031 ± 0.006), top pT 0.286 against 0.305 (m(tt̄) does not depend on the pairing)."""
    nus = massless_p4(samples.astype(np.float64))
    lep = leptons[:, None, :, :]
    cost = [
        (
            (invariant_mass(lep[:, :, 0], nus[:, :, 0], b_pair[:, None, k]) - TOP_MASS) ** 2
            + (invariant_mass(lep[:, :, 1], nus[:, :, 1], b_pair[:, None, 1 - k]) - TOP_MASS) ** 2
        ).mean(axis=1)
        for k in (0, 1)
    ]
    swap = cost[1] < cost[0]
    return np.where(swap[:, None, None], b_pair[:, ::-1], b_pair)


def sampled_b_jets(model: Any, arrays: Any, settings: Any, block: Any) -> tuple[np.ndarray, np.ndarray]:
    """The flow's b jets with its jet-assignment head: per posterior sample a (b, b̄) pair of distinct jets drawn from
    the head's probabilities ``[B, S, 2]`` (int8; −1 where an event has no jet left), and the most probable distinct
    pair's four-momenta ``[B, 2, 4]`` (the point estimate's b jets). The draws' stream is seeded by the block."""
    import torch

    from hepgen.models.assignment import sample_distinct_jets

    generator = torch.Generator().manual_seed(int(block.seed) + 1)
    draws, best = [], []
    for part in arrays.batches(settings.batch_size):
        p = model.assignment_probability(*part.tensors())  # [B, N, 2]
        draws.append(sample_distinct_jets(p, settings.samples, generator).numpy())
        joint = p[..., 0, None] * p[:, None, :, 1]  # p(b = i) p(b̄ = j), i ≠ j
        joint = joint * (1 - torch.eye(joint.shape[1]))[None]
        flat = joint.flatten(1).argmax(1)
        best.append(torch.stack([flat // joint.shape[1], flat % joint.shape[1]], 1).numpy())
    n = arrays.jets_p4.shape[1]
    b_index = np.concatenate(draws) if draws else np.zeros((0, settings.samples, 2), np.int64)
    pair = np.concatenate(best) if best else np.zeros((0, 2), np.int64)
    p4 = np.take_along_axis(arrays.jets_p4.astype(np.float64), np.clip(pair, 0, n - 1)[..., None], axis=1)
    return b_index.astype(np.int8), p4
