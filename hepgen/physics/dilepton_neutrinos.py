"""The two neutrinos of dilepton tt̄ (tt̄ → bℓ⁺ν b̄ℓ⁻ν̄): the analytic ellipse method and Neutrino Weighting.

**The ellipse method** (Betchart, Demina, Harel, NIM A 736 (2014) 169, after Sonnenschein): for one top, the
neutrino momenta that satisfy m(ℓν) = m_W and m(ℓνb) = m_t (ν massless) lie on an ellipse in momentum space,
ν(t) = H (cos t, sin t, 1)ᵀ, with H a 3×3 matrix of the lepton and b momenta (:func:`neutrino_ellipse`; no ellipse
when the masses cannot be reached: Z² < 0). The two neutrinos must also sum to MET in the transverse plane: ν̄⊥ =
MET − ν⊥(t) must lie on ν̄'s transverse ellipse, a trigonometric quadratic in t, i.e. a quartic in u = tan(t/2),
solved for every event at once through the eigenvalues of its companion matrix (:func:`ellipse_method`). Up to
four solutions; none when the ellipses do not meet (mismeasured MET, or a wrong b–lepton pairing): the event fails.

**Neutrino Weighting** (D0, CMS): for each assumed pair of neutrino pseudorapidities (η, η̄) and top mass m_t the
constraints m(ℓν) = m_W and m(ℓνb) = m_t fix each neutrino's transverse momentum (up to two solutions each), and the
weight exp(−ΔMET_x²/2σ² − ΔMET_y²/2σ²) says how well the pair explains the measured MET; the answer is the solution
of largest weight over a grid of η, η̄ and m_t (:func:`neutrino_weighting`). An event fails when no grid point has a
solution.

Everything is vectorised over events (numpy), four-momenta as (px, py, pz, E) in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgen.physics.neutrino import W_MASS
from hepgen.physics.ttbar_observables import ttbar_observables
from hepgen.physics.ttbar_reconstruction import TOP_MASS

__all__ = [
    "neutrino_ellipse",
    "DileptonSolutions",
    "ellipse_method",
    "neutrino_weighting",
    "NW_ETA_GRID",
    "NW_TOP_MASSES",
    "NW_MET_RESOLUTION",
    "b_jet_candidates",
    "solve_with_pairings",
    "ttbar_observables",
]

#: Neutrino Weighting's grid: neutrino pseudorapidities (the truth is within |η| < 2.5 for ~93 % of tt̄ neutrinos),
#: top masses [GeV] and the MET resolution σ [GeV] of the weight.
NW_ETA_GRID = np.linspace(-2.5, 2.5, 21)
NW_TOP_MASSES = np.arange(165.0, 180.1, 2.5)
NW_MET_RESOLUTION = 20.0


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations by ``angle`` [B] about coordinate ``axis`` (0, 1, 2), ``[B, 3, 3]``."""
    c, s = np.cos(angle), np.sin(angle)
    r = np.zeros(angle.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    r[..., axis, axis] = 1.0
    r[..., i, i], r[..., j, j] = c, c
    r[..., j, i], r[..., i, j] = s, -s
    return r


def neutrino_ellipse(
    b: np.ndarray,
    lepton: np.ndarray,
    *,
    top_mass: float | np.ndarray = TOP_MASS,
    w_mass: float | np.ndarray = W_MASS,
) -> tuple[np.ndarray, np.ndarray]:
    """The ellipse of neutrino momenta of t → bℓν: ``H`` ``[B, 3, 3]`` with ν(t) = H (cos t, sin t, 1) for every t,
    and whether the ellipse exists ``[B]`` (m_t and m_W reachable with this b and lepton; H is zero-sized otherwise).

    Betchart et al. 2014, Eqs. 1–11: in a frame with the lepton along x and the b in the x–y plane, then rotated to
    the laboratory frame.
    """
    b, lepton = np.asarray(b, dtype=np.float64), np.asarray(lepton, dtype=np.float64)
    top_mass = np.asarray(top_mass, dtype=np.float64)
    p_l, p_b = np.linalg.norm(lepton[..., :3], axis=-1), np.linalg.norm(b[..., :3], axis=-1)
    e_l, e_b = lepton[..., 3], b[..., 3]
    beta_l, beta_b = p_l / e_l, p_b / e_b
    m2_l = np.maximum(e_l**2 - p_l**2, 0.0)
    m2_b = np.maximum(e_b**2 - p_b**2, 0.0)
    c = np.clip((b[..., :3] * lepton[..., :3]).sum(-1) / (p_b * p_l), -1.0, 1.0)
    s = np.sqrt(1.0 - c**2)
    mw2, mt2 = w_mass**2, top_mass**2
    x0p = -(mt2 - mw2 - m2_b) / (2 * e_b)
    x0 = -(mw2 - m2_l) / (2 * e_l)
    sx = (x0 * beta_l - p_l * (1 - beta_l**2)) / beta_l**2
    sy = (x0p / beta_b - c * sx) / s
    w = (beta_l / beta_b - c) / s
    om2 = w**2 + 1 - beta_l**2
    eps2 = mw2 * (1 - beta_l**2)
    x1 = sx - (sx + w * sy) / om2
    y1 = sy - (sx + w * sy) * w / om2
    z2 = x1**2 * om2 - (sy - w * sx) ** 2 - (mw2 - x0**2 - eps2)
    exists = np.isfinite(z2) & (z2 > 0)
    z = np.sqrt(np.where(exists, z2, 0.0))
    om = np.sqrt(om2)
    h_tilde = np.zeros(z.shape + (3, 3))
    h_tilde[..., 0, 0], h_tilde[..., 0, 2] = z / om, x1 - p_l
    h_tilde[..., 1, 0], h_tilde[..., 1, 2] = w * z / om, y1
    h_tilde[..., 2, 1] = z
    # the frame: the lepton along x, the b in the x–y plane (y > 0); R_T takes it back to the laboratory
    phi_l = np.arctan2(lepton[..., 1], lepton[..., 0])
    theta_l = np.arctan2(np.hypot(lepton[..., 0], lepton[..., 1]), lepton[..., 2])
    r_z = _rotation(2, -phi_l)
    r_y = _rotation(1, 0.5 * np.pi - theta_l)
    b_rotated = np.einsum("...ij,...j->...i", r_y @ r_z, b[..., :3])
    r_x = _rotation(0, -np.arctan2(b_rotated[..., 2], b_rotated[..., 1]))
    r_t = np.swapaxes(r_z, -1, -2) @ np.swapaxes(r_y, -1, -2) @ np.swapaxes(r_x, -1, -2)
    return r_t @ h_tilde, exists


def _transverse(h: np.ndarray) -> np.ndarray:
    """H⊥: the transverse rows of H and (0, 0, 1), mapping (cos t, sin t, 1) to (px, py, 1)."""
    out = h.copy()
    out[..., 2, :] = (0.0, 0.0, 1.0)
    return out


def _massless(p3: np.ndarray) -> np.ndarray:
    return np.concatenate([p3, np.linalg.norm(p3, axis=-1, keepdims=True)], axis=-1)


@dataclass
class DileptonSolutions:
    """Neutrino pairs per event: ``nu`` and ``nubar`` (px, py, pz) ``[B, K, 3]`` (NaN where ``valid`` is False),
    ``valid`` ``[B, K]``; ``best`` ``[B]`` the index of the chosen pair (−1: the event failed) and ``chosen_nu``,
    ``chosen_nubar`` ``[B, 3]`` (NaN for failed events)."""

    nu: np.ndarray
    nubar: np.ndarray
    valid: np.ndarray
    best: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        return self.best < 0

    def _chosen(self, values: np.ndarray) -> np.ndarray:
        out = np.full(values.shape[:1] + values.shape[2:], np.nan)
        ok = ~self.failed
        out[ok] = values[np.flatnonzero(ok), self.best[ok]]
        return out

    @property
    def chosen_nu(self) -> np.ndarray:
        return self._chosen(self.nu)

    @property
    def chosen_nubar(self) -> np.ndarray:
        return self._chosen(self.nubar)


def _smallest_ttbar_mass(
    b: np.ndarray,
    lepton: np.ndarray,
    bbar: np.ndarray,
    lepton_bar: np.ndarray,
    nu: np.ndarray,
    nubar: np.ndarray,
    valid: np.ndarray,
) -> np.ndarray:
    """The index of the valid pair with the smallest m(tt̄) per event (−1 if none): the usual choice among ellipse
    solutions, right more often than any other single rule (Betchart et al. 2014)."""
    total = (
        (b + lepton + bbar + lepton_bar)[:, None, :] + _massless(np.nan_to_num(nu)) + _massless(np.nan_to_num(nubar))
    )
    m2 = total[..., 3] ** 2 - (total[..., :3] ** 2).sum(-1)
    m2 = np.where(valid, m2, np.inf)
    return np.where(valid.any(axis=1), np.argmin(m2, axis=1), -1)


def ellipse_method(
    b: np.ndarray,
    lepton: np.ndarray,
    bbar: np.ndarray,
    lepton_bar: np.ndarray,
    met: np.ndarray,
    *,
    top_mass: float = TOP_MASS,
    w_mass: float | np.ndarray = W_MASS,
    w_mass_bar: float | np.ndarray | None = None,
    tolerance: float = 1e-6,
) -> DileptonSolutions:
    """The analytic neutrino pairs of dilepton tt̄ (``b`` with ``lepton`` from the top, ``bbar`` with ``lepton_bar``
    from the antitop; four-momenta ``[B, 4]``; ``met`` (px, py) ``[B, 2]``): every (ν, ν̄) on both mass ellipses
    with ν⊥ + ν̄⊥ = MET, up to four per event, the smallest-m(tt̄) pair chosen. ``w_mass`` (and ``w_mass_bar`` for the
    antitop's W, default the same) may be one per event ``[B]``. An event fails when an ellipse does not exist or the
    two do not meet (``tolerance``: the largest relative imaginary part of a root taken as real)."""
    b, lepton, bbar, lepton_bar = (np.asarray(x, dtype=np.float64) for x in (b, lepton, bbar, lepton_bar))
    met = np.asarray(met, dtype=np.float64)
    h1, ok1 = neutrino_ellipse(b, lepton, top_mass=top_mass, w_mass=w_mass)
    w_bar = w_mass if w_mass_bar is None else w_mass_bar
    h2, ok2 = neutrino_ellipse(bbar, lepton_bar, top_mass=top_mass, w_mass=w_bar)
    exists = ok1 & ok2
    n = len(b)
    h1p, h2p = _transverse(h1), _transverse(h2)
    h2p_safe = np.where(exists[:, None, None], h2p, np.eye(3))
    h2p_inv = np.linalg.inv(h2p_safe)
    n2 = np.swapaxes(h2p_inv, -1, -2) @ np.diag([1.0, 1.0, -1.0]) @ h2p_inv  # ν̄⊥'s ellipse as a conic
    gamma = np.zeros((n, 3, 3))
    gamma[:, 0, 0], gamma[:, 1, 1], gamma[:, 2, 2] = -1.0, -1.0, 1.0
    gamma[:, 0, 2], gamma[:, 1, 2] = met[:, 0], met[:, 1]
    g = gamma @ h1p  # (cos t, sin t, 1) → MET − ν⊥(t)
    m = np.swapaxes(g, -1, -2) @ n2 @ g
    m = 0.5 * (m + np.swapaxes(m, -1, -2))
    # vᵀ M v = 0 with v = (cos t, sin t, 1), u = tan(t/2): a quartic in u
    a4 = m[:, 0, 0] - 2 * m[:, 0, 2] + m[:, 2, 2]
    a3 = -4 * m[:, 0, 1] + 4 * m[:, 1, 2]
    a2 = -2 * m[:, 0, 0] + 4 * m[:, 1, 1] + 2 * m[:, 2, 2]
    a1 = 4 * m[:, 0, 1] + 4 * m[:, 1, 2]
    a0 = m[:, 0, 0] + 2 * m[:, 0, 2] + m[:, 2, 2]
    lead = np.where(exists & (np.abs(a4) > 0), a4, 1.0)
    companion = np.zeros((n, 4, 4))
    companion[:, 0, :] = -np.stack([a3, a2, a1, a0], axis=1) / lead[:, None]
    companion[:, 1, 0] = companion[:, 2, 1] = companion[:, 3, 2] = 1.0
    companion = np.nan_to_num(companion)
    roots = np.linalg.eigvals(companion)  # [B, 4]
    real = np.abs(roots.imag) <= tolerance * (1.0 + np.abs(roots.real))
    u = roots.real
    cos_t, sin_t = (1 - u**2) / (1 + u**2), 2 * u / (1 + u**2)
    v = np.stack([cos_t, sin_t, np.ones_like(u)], axis=-1)  # [B, 4, 3]
    nu = np.einsum("bij,bkj->bki", h1, v)
    nubar_perp = np.stack([met[:, None, 0] - nu[..., 0], met[:, None, 1] - nu[..., 1], np.ones_like(u)], axis=-1)
    nubar = np.einsum("bij,bjl,bkl->bki", h2, h2p_inv, nubar_perp)  # ν̄ = H̄ H̄⊥⁻¹ (ν̄x, ν̄y, 1)
    valid = exists[:, None] & real & np.isfinite(nu).all(-1) & np.isfinite(nubar).all(-1)
    nu = np.where(valid[..., None], nu, np.nan)
    nubar = np.where(valid[..., None], nubar, np.nan)
    best = _smallest_ttbar_mass(b, lepton, bbar, lepton_bar, nu, nubar, valid)
    return DileptonSolutions(nu, nubar, valid, best)


def _weighting_solutions(
    b: np.ndarray, lepton: np.ndarray, eta: np.ndarray, top_mass: np.ndarray, w_mass: float
) -> tuple[np.ndarray, np.ndarray]:
    """The neutrinos of one top for an assumed η: ν = pT (cos φ, sin φ, sinh η) with m(ℓν) = m_W, m(ℓνb) = m_t.

    Both constraints are linear in (px, py, pT) at fixed η: pT A_i − px X_ix − py X_iy = C_i (X = ℓ, b), so their
    combination is a line in (px, py) and pT² = px² + py² a quadratic along it. Returns (px, py, pz) ``[..., 2, 3]``
    and which of the two exist ``[..., 2]``. Arrays broadcast: event quantities ``[B, 1, ...]`` against the grid.
    """
    m2_l = np.maximum(lepton[..., 3] ** 2 - (lepton[..., :3] ** 2).sum(-1), 0.0)
    m2_b = np.maximum(b[..., 3] ** 2 - (b[..., :3] ** 2).sum(-1), 0.0)
    lb = lepton[..., 3] * b[..., 3] - (lepton[..., :3] * b[..., :3]).sum(-1)
    ch, sh = np.cosh(eta), np.sinh(eta)
    a1, a2 = ch * lepton[..., 3] - sh * lepton[..., 2], ch * b[..., 3] - sh * b[..., 2]
    c1 = 0.5 * (w_mass**2 - m2_l)
    c2 = 0.5 * (top_mass**2 - w_mass**2 - m2_b) - lb
    # eliminate pT: (a2·eq1 − a1·eq2): px·kx + py·ky = d
    kx = -(a2 * lepton[..., 0] - a1 * b[..., 0])
    ky = -(a2 * lepton[..., 1] - a1 * b[..., 1])
    d = a2 * c1 - a1 * c2
    # the line: (px, py) = p0 + λ (−ky, kx); pT = (c1 + px ℓx + py ℓy) / a1 = α + β λ; pT² = |p0 + λ e|²
    k2 = kx**2 + ky**2
    p0x, p0y = d * kx / k2, d * ky / k2
    ex, ey = -ky, kx
    alpha = (c1 + p0x * lepton[..., 0] + p0y * lepton[..., 1]) / a1
    beta = (ex * lepton[..., 0] + ey * lepton[..., 1]) / a1
    qa = ex**2 + ey**2 - beta**2
    qb = 2 * (p0x * ex + p0y * ey - alpha * beta)
    qc = p0x**2 + p0y**2 - alpha**2
    disc = qb**2 - 4 * qa * qc
    root = np.sqrt(np.maximum(disc, 0.0))
    lam = np.stack([(-qb - root) / (2 * qa), (-qb + root) / (2 * qa)], axis=-1)
    px = p0x[..., None] + lam * ex[..., None]
    py = p0y[..., None] + lam * ey[..., None]
    pt = alpha[..., None] + beta[..., None] * lam
    exists = (disc >= 0)[..., None] & (pt > 0) & np.isfinite(pt)
    nu = np.stack([px, py, pt * sh[..., None]], axis=-1)
    return nu, exists


def neutrino_weighting(
    b: np.ndarray,
    lepton: np.ndarray,
    bbar: np.ndarray,
    lepton_bar: np.ndarray,
    met: np.ndarray,
    *,
    etas: np.ndarray = NW_ETA_GRID,
    top_masses: np.ndarray = NW_TOP_MASSES,
    met_resolution: float = NW_MET_RESOLUTION,
    w_mass: float = W_MASS,
) -> DileptonSolutions:
    """Neutrino Weighting with an m_t scan: over every (η, η̄, m_t) of the grid and both solutions of each top, the
    pair of largest weight exp(−|MET − ν⊥ − ν̄⊥|² / 2σ²) (one per event: ``K`` = 1). Fails when no grid point has a
    solution for both tops."""
    b, lepton, bbar, lepton_bar = (np.asarray(x, dtype=np.float64) for x in (b, lepton, bbar, lepton_bar))
    met = np.asarray(met, dtype=np.float64)
    n = len(b)
    if n == 0:
        return DileptonSolutions(
            np.zeros((0, 1, 3)), np.zeros((0, 1, 3)), np.zeros((0, 1), bool), np.zeros(0, np.int64)
        )
    best_weight = np.full(n, -np.inf)
    best_nu, best_nubar = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    e = np.asarray(etas, dtype=np.float64)
    for top_mass in np.asarray(top_masses, dtype=np.float64):
        nu, ok = _weighting_solutions(b[:, None], lepton[:, None], e[None, :], top_mass, w_mass)  # [B, E, 2, 3]
        nubar, okbar = _weighting_solutions(bbar[:, None], lepton_bar[:, None], e[None, :], top_mass, w_mass)
        # every pair (η, i) × (η̄, j): [B, E, 2, E, 2]
        sx = nu[:, :, :, None, None, 0] + nubar[:, None, None, :, :, 0]
        sy = nu[:, :, :, None, None, 1] + nubar[:, None, None, :, :, 1]
        chi2 = (
            (met[:, 0, None, None, None, None] - sx) ** 2 + (met[:, 1, None, None, None, None] - sy) ** 2
        ) / met_resolution**2
        both = ok[:, :, :, None, None] & okbar[:, None, None, :, :]
        log_weight = np.where(both, -0.5 * chi2, -np.inf).reshape(n, -1)
        flat = np.argmax(log_weight, axis=1)
        weight = log_weight[np.arange(n), flat]
        better = weight > best_weight
        i_eta, i, j_eta, j = np.unravel_index(flat, (len(e), 2, len(e), 2))
        rows = np.arange(n)
        best_nu = np.where(better[:, None], nu[rows, i_eta, i], best_nu)
        best_nubar = np.where(better[:, None], nubar[rows, j_eta, j], best_nubar)
        best_weight = np.where(better, weight, best_weight)
    found = np.isfinite(best_weight)
    return DileptonSolutions(best_nu[:, None], best_nubar[:, None], found[:, None], np.where(found, 0, -1))


def b_jet_candidates(btag: np.ndarray, pt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The two jets taken as the b quarks ``[B, 2]`` (−1: fewer than two jets): the two leading b-tagged jets, or the
    tagged one and the leading untagged one, or the two leading jets (``btag``, ``pt``, ``mask`` ``[B, N]``)."""
    key = np.where(mask, pt + np.where(btag.astype(bool), 1e6, 0.0), -np.inf)  # tagged first, then by pT
    order = np.argsort(-key, axis=1, kind="stable")[:, :2]
    enough = mask.sum(axis=1) >= 2
    return np.where(enough[:, None], order, -1)


def solve_with_pairings(
    method, b_pair: np.ndarray, lepton_plus: np.ndarray, lepton_minus: np.ndarray, met: np.ndarray, **options
) -> tuple[DileptonSolutions, np.ndarray]:
    """Run ``method`` (:func:`ellipse_method` or :func:`neutrino_weighting`) with both pairings of the two b
    candidates ``b_pair`` ``[B, 2, 4]`` to the leptons (ℓ⁺ comes from the top, ℓ⁻ from the antitop) and keep per event
    the pairing that the method prefers: the one with solutions, and if both have them the smaller m(tt̄) (ellipse)
    or the larger weight (Neutrino Weighting, through the smaller |MET residual|). Returns the solutions (ν from the
    top, ν̄ from the antitop) and the pairing used ``[B]`` (0: b_pair[:, 0] with ℓ⁺; −1: failed)."""
    results = [method(b_pair[:, k], lepton_plus, b_pair[:, 1 - k], lepton_minus, met, **options) for k in (0, 1)]
    scores = []
    for r, k in zip(results, (0, 1)):
        nu, nubar = np.nan_to_num(r.chosen_nu), np.nan_to_num(r.chosen_nubar)
        if method is neutrino_weighting:
            score = np.hypot(*(met - nu[:, :2] - nubar[:, :2]).T)
        else:
            total = b_pair[:, k] + lepton_plus + b_pair[:, 1 - k] + lepton_minus
            total = total + np.concatenate([nu, np.linalg.norm(nu, axis=1, keepdims=True)], 1)
            total = total + np.concatenate([nubar, np.linalg.norm(nubar, axis=1, keepdims=True)], 1)
            score = np.sqrt(np.maximum(total[:, 3] ** 2 - (total[:, :3] ** 2).sum(1), 0.0))
        scores.append(np.where(r.failed, np.inf, score))
    pick = np.argmin(np.stack(scores, 1), axis=1)
    failed = ~np.isfinite(np.min(np.stack(scores, 1), axis=1))
    first, second = results

    def chosen(a, b):
        return np.where((pick == 0)[(...,) + (None,) * (a.ndim - 1)], a, b)

    combined = DileptonSolutions(
        chosen(first.nu, second.nu),
        chosen(first.nubar, second.nubar),
        chosen(first.valid, second.valid),
        np.where(failed, -1, np.where(pick == 0, first.best, second.best)),
    )
    return combined, np.where(failed, -1, pick)
