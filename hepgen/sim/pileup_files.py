"""``hepgen generate jets --pileup``: the columns of generated jets with pileup overlaid, as particles
(``hepgen-jets`` schema) or behind the constituent detector (``hepgen-detected-jets`` schema).

Behind a detector (``--detector cms``, with ``--recluster`` the jets found again in the event) a file holds per jet
what data has — the observed jet ``Jet_*`` and its tracks and towers ``Constituent_*`` (with the tracker's
``isTrack``, ``fromHardVertex``, ``dzCompatible`` and PUPPI's ``puppiWeight``), ``nVertices``, ``rho`` and the
nominal ``mu`` — beside both truths: the hard scatter through the same detector (target a: ``DetectorJet_*``,
``DetectorTruth_*``) and the particle-level jet (target b: ``HardJet_*``, ``HardConstituent_*``), and the truth of
each observed constituent (``hardFraction``) and of the overlay (``nPileupInteractions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import OverlaidJets, hard_jets_from_columns, overlay_pileup, read_pileup_pool

__all__ = ["PileupOptions", "with_pileup"]

_FOUR_MOMENTUM = ("pt", "eta", "phi", "mass")
#: Observed constituent fields behind a detector: file branch name ← overlay field.
_DETECTED_BRANCHES = {
    "pt": "pt",
    "eta": "eta",
    "phi": "phi",
    "mass": "mass",
    "charge": "charge",
    "isTrack": "is_track",
    "fromHardVertex": "from_hard_vertex",
    "dzCompatible": "dz_compatible",
    "puppiWeight": "puppi_weight",
    "hardFraction": "hard_fraction",
}


@dataclass(frozen=True)
class PileupOptions:
    """Pileup overlaid on generated jets: pool file(s), μ, its law, the cone radius, and the constituent
    ``detector`` (``none``: particles; ``cms``: tracks and towers, :mod:`hepgen.sim.detector`) with the jets
    ``recluster``-ed in the event."""

    pool: tuple[str, ...]
    mu: float = 60.0
    distribution: str = "poisson"
    sigma: float | None = None
    radius: float = 1.0
    detector: str = "none"
    recluster: bool = False

    def __post_init__(self) -> None:
        if self.detector not in CONSTITUENT_DETECTORS:
            raise HepgenInputError(
                f"unknown constituent detector {self.detector!r} for jets; choose from {sorted(CONSTITUENT_DETECTORS)}"
            )
        if self.recluster and self.detector == "none":
            raise HepgenInputError("--recluster needs a detector (--detector cms); the particle world keeps the cone")


def with_pileup(columns: dict, options: PileupOptions, seed: int) -> dict:
    """The generated jets' ``columns`` with pileup overlaid (see the module docstring)."""
    pool = read_pileup_pool(list(options.pool))
    hard = hard_jets_from_columns(
        columns["Jet_eta"], columns["Jet_phi"], columns["Constituent"], surroundings=columns["Surrounding"]
    )
    detector = CONSTITUENT_DETECTORS[options.detector]
    observed = overlay_pileup(
        hard,
        pool,
        mu=options.mu,
        seed=seed,
        distribution=options.distribution,  # type: ignore[arg-type]
        sigma=options.sigma,
        radius=options.radius,
        detector=detector,
        recluster=options.recluster,
        event_baselines=detector is not None,
    )
    out = dict(columns)
    for name in _FOUR_MOMENTUM:
        out[f"Jet_{name}"] = getattr(observed, f"jet_{name}").astype(np.float32)
    out["nPileupInteractions"] = observed.n_interactions.astype(np.int32)
    if detector is None:
        out["Constituent"] = _particles(observed, columns["Constituent"])
        return out
    truth = observed.detector_truth
    truth_jet = pt_eta_phi_mass(summed_p4(truth))
    out |= {
        "Constituent": ak.zip({b: observed.constituents[f] for b, f in _DETECTED_BRANCHES.items()}),
        "DetectorTruth": ak.zip({**{k: truth[k] for k in (*_FOUR_MOMENTUM, "charge")}, "isTrack": truth.is_track}),
        "HardConstituent": columns["Constituent"][[*_FOUR_MOMENTUM, "charge", "pdgId"]],
        **{f"DetectorJet_{k}": v.astype(np.float32) for k, v in zip(_FOUR_MOMENTUM, truth_jet)},
        "nVertices": observed.n_vertices.astype(np.int32),
        "rho": observed.rho.astype(np.float32),
        "mu": observed.mu.astype(np.float32),
    }
    return out


def _particles(observed: OverlaidJets, hard_constituents: ak.Array) -> ak.Array:
    """The observed particles with the hard constituents' pdgId (0 for pileup particles, whose is not kept)."""
    c = observed.constituents
    pdg = np.zeros(len(ak.flatten(c.pt)), np.int32)
    pdg[~ak.to_numpy(ak.flatten(c.is_pileup))] = ak.to_numpy(ak.flatten(hard_constituents.pdgId))
    return ak.zip(
        {
            **{k: c[k] for k in (*_FOUR_MOMENTUM, "charge")},
            "pdgId": ak.unflatten(pdg, ak.num(c)),
            "isPileup": c.is_pileup,
        }
    )
