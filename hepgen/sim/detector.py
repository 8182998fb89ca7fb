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

from hepgen.errors import HepgenInputError

__all__ = [
    "Resolution",
    "JetResponse",
    "BTagging",
    "LeptonResponse",
    "MissingEnergy",
    "DetectorResponse",
    "DETECTORS",
    "Tracking",
    "Vertexing",
    "CalorimeterRegion",
    "Calorimeter",
    "ConstituentDetector",
    "CONSTITUENT_DETECTORS",
    "relative_energy_resolution",
    "smear_scale",
    "smear_lognormal",
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


def smear_lognormal(value: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log-normal smearing of positive values [any unit] with mean ``value`` and standard deviation ``sigma`` (as
    Delphes' calorimeter and momentum smearing do; no sign flips, no floor). ``sigma`` = 0 returns ``value``."""
    value = np.asarray(value, dtype=np.float64)
    variance = np.log1p((np.asarray(sigma, dtype=np.float64) / np.maximum(value, 1e-300)) ** 2)
    return value * np.exp(np.sqrt(variance) * rng.standard_normal(value.shape) - variance / 2)


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


# ---------------------------------------------------------------------------------------------------------------
# The detector seen by jet constituents (pileup studies): tracker, vertexing, calorimeter towers. Sources:
#   D1  Delphes CMS card, delphes/delphes cards/delphes_card_CMS.tcl (tracking efficiency, momentum smearing,
#       calorimeter resolutions, tower sizes and thresholds);
#   D3  Delphes CMS Phase-II card (CMS_PhaseII_200PU_v04.tcl, TrackPileUpSubtractor): a pileup track is
#       removed when |z_track - z_PV| exceeds the dz resolution;
#   D4  Delphes modules/RunPUPPI.cc: N_PV = 0.7 x N_vertices ("70 % vertex efficiency");
#   D5  Delphes cards/trackResolutionCMS.tcl (from arXiv:1405.6569 Fig. 15): the dz resolution;
#   C5  CMSSW IOMC/EventVertexGenerators/python/VtxSmearedParameters_cfi.py (Realistic 2017/2018: SigmaZ 3.5 cm).
# ---------------------------------------------------------------------------------------------------------------


def _check_probability(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise HepgenInputError(f"the detector setting {name} is an efficiency and must lie in (0, 1]; got {value}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise HepgenInputError(f"the detector setting {name} must be > 0; got {value}")


@dataclass(frozen=True)
class Tracking:
    """Charged-particle tracks (D1): acceptance, efficiency by (pT, |η|), and the pT resolution.

    Efficiency: 0 for pT <= ``pt_min`` or |η| > ``eta_max``; for |η| <= ``barrel_eta_max`` ``barrel``, beyond it
    ``endcap``, each a pair (pT_min < pT <= ``low_pt_edge``, pT > ``low_pt_edge``) [GeV].
    Resolution: σ(pT)/pT = √(a² + (b·pT)²) with a = ``resolution_constant`` and b = ``resolution_slope`` [1/GeV]
    in the |η| bins ending at ``resolution_eta_edges`` (D1 ChargedHadronMomentumSmearing; the revision 0593ac3 of
    the card had smaller, muon-like values — we follow the current card).
    """

    eta_max: float = 2.5
    pt_min: float = 0.1
    low_pt_edge: float = 1.0
    barrel_eta_max: float = 1.5
    barrel: tuple[float, float] = (0.70, 0.95)
    endcap: tuple[float, float] = (0.60, 0.85)
    resolution_eta_edges: tuple[float, ...] = (0.5, 1.5, 2.5)
    resolution_constant: tuple[float, ...] = (0.06, 0.10, 0.25)
    resolution_slope: tuple[float, ...] = (1.3e-3, 1.7e-3, 3.1e-3)

    def __post_init__(self) -> None:
        _check_positive("tracking.eta_max", self.eta_max)
        for name in ("barrel", "endcap"):
            for value in getattr(self, name):
                _check_probability(f"tracking.{name}", value)


@dataclass(frozen=True)
class Vertexing:
    """Vertices and the association of tracks to them.

    Every interaction's vertex has z ~ N(0, ``luminous_sigma_z``) [cm] (C5, 2017/18). A pileup vertex is
    reconstructed with probability ``efficiency`` (D4; the same draw gives N_PV). A track's dz resolution is D5's
    (``dz_resolution_um`` [µm] at the pT bin centres ``dz_pt_centres`` [GeV], rows for the
    |η| bins ending at ``dz_eta_edges``; interpolated in log pT, constant beyond the table). A pileup track is
    associated with its (reconstructed) vertex only when that vertex lies more than ``association_sigmas`` × σ_dz
    from the hard vertex (D3); otherwise, or when its vertex was not reconstructed, it goes with the hard vertex.
    """

    luminous_sigma_z: float = 3.5
    efficiency: float = 0.7
    association_sigmas: float = 1.0
    dz_pt_centres: tuple[float, ...] = (0.2, 0.55, 1.0, 2.2, 5.0, 11.0, 55.0, 135.0)
    dz_eta_edges: tuple[float, ...] = (0.9, 1.4, 2.5)
    dz_resolution_um: tuple[tuple[float, ...], ...] = (
        (369, 194, 111, 68, 48, 38, 32, 32),
        (706, 320, 198, 103, 71, 51, 34, 31),
        (2172, 1200, 670, 332, 182, 112, 82, 85),
    )

    def __post_init__(self) -> None:
        _check_positive("vertexing.luminous_sigma_z", self.luminous_sigma_z)
        _check_probability("vertexing.efficiency", self.efficiency)
        _check_positive("vertexing.association_sigmas", self.association_sigmas)


@dataclass(frozen=True)
class CalorimeterRegion:
    """σ(E) = (scale + curvature·(|η| − centre)²) · √((constant·E)² + stochastic²·E + noise²) [GeV] for |η| <= eta_max."""

    eta_max: float
    constant: float
    stochastic: float
    noise: float = 0.0
    scale: float = 1.0
    curvature: float = 0.0
    centre: float = 0.0


@dataclass(frozen=True)
class Calorimeter:
    """Deposits of neutral particles (and of charged ones without a track) in square towers of side ``tower_size``.

    Photons and electrons (mass < ``em_mass_max`` GeV) deposit in the ECAL, every other particle in the HCAL (D1:
    e, γ, π⁰ → ECAL, hadrons → HCAL; K⁰S/Λ's 30/70 split and muons' small deposits are not modelled). Each
    deposit is smeared with the resolution of its part (D1, log-normal as Delphes does). A tower's ECAL (HCAL)
    energy is kept when it is >= ``ecal_energy_min`` (``hcal_energy_min``) and >= the significance times its σ
    (D1; the HCAL significance is 1.0 in the current D1 and 2.0 in D2 and in D1's revision 0593ac3).
    ``tower_size`` = 0.087 is the HCAL granularity of D1 (0.087 × 5°) up to |η| ≈ 1.65; beyond it D1's towers
    grow, here the grid stays uniform to ``eta_max``.
    """

    tower_size: float = 0.087
    eta_max: float = 5.0
    em_mass_max: float = 0.01
    ecal: tuple[CalorimeterRegion, ...] = (
        CalorimeterRegion(1.5, 0.008, 0.11, 0.40, scale=1.0, curvature=0.64, centre=0.0),
        CalorimeterRegion(2.5, 0.008, 0.11, 0.40, scale=2.16, curvature=5.6, centre=2.0),
        CalorimeterRegion(5.0, 0.107, 2.08),
    )
    hcal: tuple[CalorimeterRegion, ...] = (CalorimeterRegion(3.0, 0.05, 1.5), CalorimeterRegion(5.0, 0.13, 2.7))
    ecal_energy_min: float = 0.5
    ecal_significance_min: float = 2.0
    hcal_energy_min: float = 1.0
    hcal_significance_min: float = 1.0

    def __post_init__(self) -> None:
        _check_positive("calorimeter.tower_size", self.tower_size)
        _check_positive("calorimeter.eta_max", self.eta_max)


@dataclass(frozen=True)
class ConstituentDetector:
    """The detector applied to the particles of a pileup event (tracker, vertexing, calorimeter); see above."""

    tracking: Tracking = Tracking()
    vertexing: Vertexing = Vertexing()
    calorimeter: Calorimeter = Calorimeter()


#: The constituent detectors of ``--detector`` for jets with pileup; ``none`` keeps the particle-level world.
CONSTITUENT_DETECTORS: dict[str, ConstituentDetector | None] = {"cms": ConstituentDetector(), "none": None}
