"""The smeared kinematic reconstruction of dilepton tt̄, as CMS's dilepton analyses run it (the DESY algorithm:
TopLJets2015 ``TopAnalysis/src/KinematicReconstruction.cc``, called "DESYSmeared" in CATTools).

For every ordered pair of jets taken as (b, b̄) — ℓ⁺ with b, ℓ⁻ with b̄ — whose m(ℓ⁺b) and m(ℓ⁻b̄) are both below
:data:`MLB_MAX`, ``trials`` times (100 in CMS):

* each jet's and lepton's energy is scaled by a factor E_true/E_reco drawn from its resolution template, |p| rescaled
  to keep its mass, and its direction rotated by an angle drawn from the angular template at a uniform azimuth;
* MET is recomputed with the rest of the event (the hadronic recoil) held fixed;
* m_W⁺ and m_W⁻ are drawn independently from the generator's W line shape; m_t = 172.5 GeV;
* the analytic solution (:func:`~hepgen.physics.dilepton_neutrinos.ellipse_method`, the smallest-m(tt̄) pair) is
  weighted by w = p(m(ℓ⁺b)) · p(m(ℓ⁻b̄)), the true m(ℓb) density at the smeared objects.

The pair's answer is the w-weighted mean of ν and ν̄ (and of the smeared b and b̄: the jets corrected to the b
quarks, which the tt̄ observables are built from, as CMS builds the tops from the weighted mean), its weight Σw. Among the pairs with an answer, those with more
b-tagged jets win (2, then 1, then 0), then the larger Σw. The templates come from training events
(:meth:`SmearingTemplates.from_events`: jets matched to the generator's b quarks, the generator's leptons and W
masses). Everything is vectorised over events, pairs and trials; the random numbers come from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.physics.dilepton_neutrinos import ellipse_method
from hepgen.physics.kinematics import invariant_mass

__all__ = [
    "KINRECO_TRIALS",
    "MLB_MAX",
    "KINRECO_MAX_JETS",
    "SmearingTemplates",
    "KinRecoResult",
    "kinematic_reconstruction",
]

#: Smearings per (b, b̄) pair (K1: 100).
KINRECO_TRIALS = 100
#: A pair is tried only if m(ℓ⁺b) and m(ℓ⁻b̄) are both below this [GeV] (K1: 180, the parton-level template).
MLB_MAX = 180.0
#: The jets considered as b candidates: the leading ones after ordering b-tagged first, then by pT.
KINRECO_MAX_JETS = 4
#: The bins [GeV] of the true m(ℓb) density that weights each smearing.
MLB_EDGES = np.arange(0.0, MLB_MAX + 5.0, 5.0)
#: Events per vectorised chunk (pairs × trials rows each).
_CHUNK_ROWS = 200_000


def _energy_p3(p4: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p4[..., :3], axis=-1)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The angle [rad] between the three-momenta of ``a`` and ``b`` ``[..., ≥3]``."""
    cos = (a[..., :3] * b[..., :3]).sum(-1) / (_energy_p3(a) * _energy_p3(b))
    return np.arccos(np.clip(cos, -1.0, 1.0))


@dataclass(frozen=True)
class SmearingTemplates:
    """What each smearing draws from (values from training events, drawn with replacement): the energy ratios
    E_true/E_reco and the angles [rad] between true and reconstructed directions of b jets and of leptons, the
    generator W masses [GeV], and the true m(ℓb) density in :data:`MLB_EDGES` (normalised to a maximum of 1)."""

    jet_energy_ratio: np.ndarray
    jet_angle: np.ndarray
    lepton_energy_ratio: np.ndarray
    lepton_angle: np.ndarray
    w_masses: np.ndarray
    mlb_density: np.ndarray

    @classmethod
    def from_events(
        cls,
        jets: np.ndarray,
        b_quarks: np.ndarray,
        leptons: np.ndarray,
        gen_leptons: np.ndarray,
        neutrinos: np.ndarray,
    ) -> SmearingTemplates:
        """Templates from training events: the reconstructed jets matched to the b and b̄ quarks ``[B, 2, 4]`` (NaN
        where unmatched), the quarks ``[B, 2, 4]``, the reconstructed and generator leptons (ℓ⁺, ℓ⁻) ``[B, 2, 4]``
        and the generator neutrinos (ν, ν̄) ``[B, 2, 4]``; four-momenta (px, py, pz, E) [GeV]."""
        matched = np.isfinite(jets).all(-1) & (jets[..., 3] > 0)
        if matched.sum() < 100:
            raise HepgenInputError(f"only {int(matched.sum())} jets matched to b quarks: too few for the templates")
        mlb = np.concatenate([invariant_mass(gen_leptons[:, k], b_quarks[:, k]) for k in (0, 1)])
        density, _ = np.histogram(mlb, MLB_EDGES)
        return cls(
            jet_energy_ratio=(b_quarks[..., 3] / jets[..., 3])[matched],
            jet_angle=_angle(b_quarks, jets)[matched],
            lepton_energy_ratio=(gen_leptons[..., 3] / leptons[..., 3]).ravel(),
            lepton_angle=_angle(gen_leptons, leptons).ravel(),
            w_masses=np.concatenate([invariant_mass(gen_leptons[:, k], neutrinos[:, k]) for k in (0, 1)]),
            mlb_density=density / density.max(),
        )

    def mlb_weight(self, mass: np.ndarray) -> np.ndarray:
        """The true m(ℓb) density at ``mass`` [GeV] (0 beyond :data:`MLB_EDGES`)."""
        index = np.searchsorted(MLB_EDGES, mass, side="right") - 1
        inside = (index >= 0) & (index < len(self.mlb_density)) & np.isfinite(mass)
        return np.where(inside, self.mlb_density[np.clip(index, 0, len(self.mlb_density) - 1)], 0.0)


@dataclass
class KinRecoResult:
    """Per event: ``nu``, ``nubar`` (px, py, pz) ``[B, 3]`` and the b and b̄ they go with, ``b``, ``bbar`` ``[B, 4]``
    (the weighted means of the smeared jets: the jets' energies corrected to the b quarks'; NaN where not answered),
    the jets taken as b and b̄ ``b_index`` ``[B, 2]`` (−1: none), their b-tags ``n_btags`` ``[B]`` and the summed
    weight ``weight`` ``[B]``."""

    nu: np.ndarray
    nubar: np.ndarray
    b: np.ndarray
    bbar: np.ndarray
    b_index: np.ndarray
    n_btags: np.ndarray
    weight: np.ndarray

    @property
    def answered(self) -> np.ndarray:
        return self.weight > 0


def _smear(p4: np.ndarray, ratio: np.ndarray, angle: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    """``p4`` ``[R, 4]`` with its energy scaled by ``ratio`` (|p| rescaled to keep the mass) and its direction rotated
    by ``angle`` about itself at ``azimuth`` ``[R]``."""
    p = _energy_p3(p4)
    m2 = np.maximum(p4[:, 3] ** 2 - p**2, 0.0)
    energy = ratio * p4[:, 3]
    scale = np.sqrt(np.maximum(energy**2 - m2, 0.0)) / np.maximum(p, 1e-12)
    u = p4[:, :3] / np.maximum(p, 1e-12)[:, None]
    helper = np.where((np.abs(u[:, 2]) < 0.9)[:, None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(u, e1)
    direction = np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * (
        np.cos(azimuth)[:, None] * e1 + np.sin(azimuth)[:, None] * e2
    )
    return np.concatenate([direction * (scale * p)[:, None], energy[:, None]], axis=1)


def _candidates(btag: np.ndarray, jets: np.ndarray, mask: np.ndarray, max_jets: int) -> np.ndarray:
    """The candidate jets ``[B, J]`` (−1: none): b-tagged first, then by pT, at most ``max_jets``."""
    pt = np.hypot(jets[..., 0], jets[..., 1])
    key = np.where(mask, pt + np.where(btag > 0.5, 1e6, 0.0), -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")[:, :max_jets]
    return np.where(np.take_along_axis(mask, order, axis=1), order, -1)


def kinematic_reconstruction(
    leptons: np.ndarray,
    jets: np.ndarray,
    btag: np.ndarray,
    mask: np.ndarray,
    met: np.ndarray,
    templates: SmearingTemplates,
    *,
    trials: int = KINRECO_TRIALS,
    max_jets: int = KINRECO_MAX_JETS,
    mlb_max: float = MLB_MAX,
    seed: int = 0,
) -> KinRecoResult:
    """The smeared kinematic reconstruction (module docstring) of ``B`` events: ``leptons`` (ℓ⁺, ℓ⁻) ``[B, 2, 4]``,
    ``jets`` ``[B, N, 4]`` with b-tag flags and masks ``[B, N]``, ``met`` (px, py) ``[B, 2]`` [GeV]."""
    if trials < 1 or max_jets < 2:
        raise HepgenInputError(
            f"the kinematic reconstruction needs trials >= 1 and max_jets >= 2; got {trials}, {max_jets}"
        )
    leptons, jets, met = (np.asarray(a, np.float64) for a in (leptons, jets, met))
    n = len(leptons)
    result = KinRecoResult(
        *(np.full((n, k), np.nan) for k in (3, 3, 4, 4)), np.full((n, 2), -1), np.zeros(n, np.int64), np.zeros(n)
    )
    candidates = _candidates(np.asarray(btag), jets, np.asarray(mask, bool), max_jets)
    j = candidates.shape[1]
    first, second = (a.ravel() for a in np.nonzero(~np.eye(j, dtype=bool)))  # every ordered pair of candidates
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_ROWS // max(1, len(first) * trials))
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n))
        chunk = (rows, leptons, jets, np.asarray(btag), met, candidates, (first, second))
        _reconstruct_chunk(result, *chunk, templates, trials, mlb_max, rng)
    return result


def _reconstruct_chunk(
    result: KinRecoResult,
    rows: np.ndarray,
    leptons: np.ndarray,
    jets: np.ndarray,
    btag: np.ndarray,
    met: np.ndarray,
    candidates: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray],
    templates: SmearingTemplates,
    trials: int,
    mlb_max: float,
    rng: np.random.Generator,
) -> None:
    """Fill ``result`` for the events ``rows``: every candidate pair × trial at once."""
    i_b, i_bbar = candidates[rows][:, pairs[0]], candidates[rows][:, pairs[1]]  # [E, P]
    event = np.broadcast_to(rows[:, None], i_b.shape)
    usable = (i_b >= 0) & (i_bbar >= 0)
    b = np.where(usable[..., None], jets[event, np.maximum(i_b, 0)], 0.0)
    bbar = np.where(usable[..., None], jets[event, np.maximum(i_bbar, 0)], 0.0)
    l_plus, l_minus = leptons[event, 0], leptons[event, 1]
    with np.errstate(invalid="ignore"):
        usable &= (invariant_mass(l_plus, b) <= mlb_max) & (invariant_mass(l_minus, bbar) <= mlb_max)
    pair_event, pair_index = np.nonzero(usable)
    if not len(pair_event):
        return
    # one row per (usable pair, trial)
    combo = np.repeat(np.arange(len(pair_event)), trials)
    e, p = pair_event[combo], pair_index[combo]
    objects = [b[e, p], bbar[e, p], l_plus[e, p], l_minus[e, p]]
    size = len(combo)
    draws = [(templates.jet_energy_ratio, templates.jet_angle)] * 2 + [
        (templates.lepton_energy_ratio, templates.lepton_angle)
    ] * 2
    smeared = [
        _smear(obj, rng.choice(ratio, size), rng.choice(angle, size), rng.uniform(0.0, 2 * np.pi, size))
        for obj, (ratio, angle) in zip(objects, draws)
    ]
    shift = sum(obj[:, :2] for obj in objects) - sum(s[:, :2] for s in smeared)  # the recoil held fixed
    met_smeared = met[rows][e] + shift
    w_plus, w_minus = rng.choice(templates.w_masses, size), rng.choice(templates.w_masses, size)
    b_s, bbar_s, l_plus_s, l_minus_s = smeared
    with np.errstate(all="ignore"):
        solutions = ellipse_method(b_s, l_plus_s, bbar_s, l_minus_s, met_smeared, w_mass=w_plus, w_mass_bar=w_minus)
        weight = templates.mlb_weight(invariant_mass(l_plus_s, b_s)) * templates.mlb_weight(
            invariant_mass(l_minus_s, bbar_s)
        )
    weight = np.where(solutions.failed, 0.0, weight)
    nu, nubar = np.nan_to_num(solutions.chosen_nu), np.nan_to_num(solutions.chosen_nubar)
    total = np.bincount(combo, weights=weight, minlength=len(pair_event))

    def weighted_sum(values: np.ndarray) -> np.ndarray:  # per usable pair, Σ w · values ``[pairs, k]``
        return np.stack([np.bincount(combo, weights=weight * v, minlength=len(pair_event)) for v in values.T], 1)

    sums = {"nu": weighted_sum(nu), "nubar": weighted_sum(nubar), "b": weighted_sum(b_s), "bbar": weighted_sum(bbar_s)}
    # per event: the most b-tags among the pairs with an answer, then the largest summed weight
    global_event = rows[pair_event]
    tags = btag[global_event, i_b[pair_event, pair_index]] + btag[global_event, i_bbar[pair_event, pair_index]]
    tags = np.rint(tags).astype(np.int64)
    answered_tags = np.where(total > 0, tags, -1)  # a pair without an answer never wins
    order = np.lexsort((total, answered_tags, pair_event))  # within each event: by b-tags, then by summed weight
    last = np.r_[pair_event[order][1:] != pair_event[order][:-1], True]
    c = order[last]  # each event's best pair
    c = c[total[c] > 0]
    target = rows[pair_event[c]]
    result.weight[target] = total[c]
    for name, summed in sums.items():
        getattr(result, name)[target] = summed[c] / total[c, None]
    result.n_btags[target] = tags[c]
    result.b_index[target] = np.stack([i_b[pair_event[c], pair_index[c]], i_bbar[pair_event[c], pair_index[c]]], 1)
