"""A parametrised detector response: every number in one place, with where it comes from.

The values are typical of the LHC general-purpose detectors (ATLAS, CMS) at
13 TeV, at the level of the Delphes CMS card: accurate enough that the
resolution-limited physics (the neutrino's pz, the jet mass) behaves like in a
real analysis, simple enough to read in one sitting.

* Jets: anti-kt R = 0.4 from visible final-state particles with |η| < 4.9,
  energy smeared by a Gaussian with σ(E)/E = a/√E ⊕ b, a = 0.80 √GeV
  (hadronic calorimeter stochastic term with particle flow), b = 0.05
  (constant term). Kept if pT > 25 GeV and |η| < 2.5 after smearing.
* b-tagging: a jet is b-labelled if a b hadron (pT > 5 GeV) lies within
  ΔR < 0.3 of its axis, else c-labelled for a c hadron, else light. It is
  tagged with probability 0.70 (b), 0.10 (c) or 0.01 (light): a typical
  70 % working point (CMS DeepJet medium, ATLAS DL1r 70 %).
* Leptons: electrons σ(E)/E = 0.10/√E ⊕ 0.007 (ECAL + tracking), muons
  σ(pT)/pT = 0.01 ⊕ 1e-4 pT/GeV (tracker curvature). Isolated if the scalar
  pT sum of other visible particles within ΔR < 0.3 is below 0.15 pT; kept if
  pT > 25 GeV and |η| < 2.5.
* Missing transverse momentum: MET = −Σ pT of visible particles with
  |η| < 4.9, corrected by the jets' and the lepton's mismeasurement (so MET
  and jets fluctuate together as in a real detector), plus a Gaussian
  per component with σ = 0.5 √GeV × √ΣET (unclustered-energy resolution).

``DetectorResponse.ideal()`` switches every smearing off (tests, and the
closure of the analytic neutrino solution).

:data:`DETECTORS` names the detectors ``hepgen generate --detector`` offers: ``default`` (the above),
``degraded`` — a second detector for studying a model on a detector it was not trained on, or for training
on a mixture: jet energy resolution 20 % worse (a = 0.96 √GeV, b = 0.06), MET resolution 20 % worse
(0.6 √GeV × √ΣET), lepton resolutions 20 % worse, and b-tagging at a looser working point (efficiency 0.77
for b, 0.17 for c, 0.03 for light jets, like a 77 % working point) — and ``ideal``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "Resolution",
    "JetResponse",
    "BTagging",
    "LeptonResponse",
    "MissingEnergy",
    "DetectorResponse",
    "DETECTORS",
    "relative_energy_resolution",
    "smear_scale",
    "tag_probability",
]


@dataclass(frozen=True)
class Resolution:
    """σ(E)/E = stochastic/√E ⊕ constant (E in GeV; for muons σ(pT)/pT = constant ⊕ stochastic·pT/GeV)."""

    stochastic: float
    constant: float


@dataclass(frozen=True)
class JetResponse:
    """Anti-kt jets of the visible particles in the calorimeter: energy resolution, selection, radius."""

    energy: Resolution = Resolution(0.80, 0.05)
    pt_min: float = 25.0
    eta_max: float = 2.5
    radius: float = 0.4


@dataclass(frozen=True)
class BTagging:
    """Hadron-flavour labels (a b or c hadron within ``match_radius``) and the tagging probability per label."""

    match_radius: float = 0.3
    efficiency_b: float = 0.70
    efficiency_c: float = 0.10
    efficiency_light: float = 0.01

    def __post_init__(self) -> None:
        for name in ("efficiency_b", "efficiency_c", "efficiency_light"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"btag {name} must be a probability; got {getattr(self, name)}")


@dataclass(frozen=True)
class LeptonResponse:
    """Electron and muon resolutions, the isolation and the selection of leptons."""

    electron: Resolution = Resolution(0.10, 0.007)
    muon: Resolution = Resolution(1e-4, 0.01)  # σ(pT)/pT = 0.01 ⊕ 1e-4 pT/GeV
    pt_min: float = 25.0
    eta_max: float = 2.5
    isolation_radius: float = 0.3
    isolation_max: float = 0.15


@dataclass(frozen=True)
class MissingEnergy:
    """MET: the visible particles' (``source="visible"``) or the truth neutrinos' (``"neutrino"``), with Gaussian
    noise of ``sqrt_sumet`` √GeV × √ΣET per component."""

    sqrt_sumet: float = 0.5
    source: str = "visible"

    def __post_init__(self) -> None:
        if self.source not in ("visible", "neutrino"):
            raise ValueError(f"the MET source must be 'visible' or 'neutrino'; got {self.source!r}")


@dataclass(frozen=True)
class DetectorResponse:
    """All detector parameters (GeV, radians), by part; see the module docstring for their origin."""

    calorimeter_eta_max: float = 4.9
    jets: JetResponse = JetResponse()
    btag: BTagging = BTagging()
    leptons: LeptonResponse = LeptonResponse()
    met: MissingEnergy = MissingEnergy()

    @classmethod
    def ideal(cls) -> DetectorResponse:
        """No smearing, perfect b-tagging, and MET equal to the W-decay neutrino's pT."""
        exact = Resolution(0.0, 0.0)
        return cls(
            jets=JetResponse(energy=exact),
            btag=BTagging(efficiency_b=1.0, efficiency_c=0.0, efficiency_light=0.0),
            leptons=LeptonResponse(electron=exact, muon=exact),
            met=MissingEnergy(sqrt_sumet=0.0, source="neutrino"),
        )

    def with_options(self, **changes: object) -> DetectorResponse:
        """A copy with some parts (or ``calorimeter_eta_max``) changed."""
        return replace(self, **changes)


def relative_energy_resolution(energy: np.ndarray, stochastic: float, constant: float) -> np.ndarray:
    """σ(E)/E = stochastic/√E ⊕ constant (quadrature sum), for energies in GeV."""
    energy = np.maximum(np.asarray(energy, dtype=np.float64), 1e-9)
    return np.hypot(stochastic / np.sqrt(energy), constant)


def smear_scale(resolution: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative factors 1 + σ·N(0, 1), floored at 0.01 so no momentum flips sign."""
    return np.maximum(1.0 + resolution * rng.standard_normal(np.shape(resolution)), 0.01)


def tag_probability(flavour: np.ndarray, detector: DetectorResponse) -> np.ndarray:
    """Per-jet b-tag probability from the hadron flavour label (5, 4 or 0)."""
    return np.select(
        [flavour == 5, flavour == 4],
        [detector.btag.efficiency_b, detector.btag.efficiency_c],
        default=detector.btag.efficiency_light,
    )


#: The detectors of ``hepgen generate --detector`` (see the module docstring).
DETECTORS: dict[str, DetectorResponse] = {
    "default": DetectorResponse(),
    "degraded": DetectorResponse(
        jets=JetResponse(energy=Resolution(0.96, 0.06)),
        btag=BTagging(efficiency_b=0.77, efficiency_c=0.17, efficiency_light=0.03),
        leptons=LeptonResponse(electron=Resolution(0.12, 0.0084), muon=Resolution(1.2e-4, 0.012)),
        met=MissingEnergy(sqrt_sumet=0.6),
    ),
    "ideal": DetectorResponse.ideal(),
}
