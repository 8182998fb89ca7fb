"""Physics: kinematics, the analytic neutrino (W-mass constraint), jet substructure and SoftDrop (fastjet)."""

from hepgen.physics.kinematics import (
    PION_MASS,
    delta_phi,
    delta_r,
    invariant_mass,
    massless_p4,
    p4_from_pt_eta_phi_mass,
    pseudorapidity,
    pt_eta_phi_mass,
    summed_p4,
)

__all__ = [
    "PION_MASS",
    "delta_phi",
    "delta_r",
    "pt_eta_phi_mass",
    "p4_from_pt_eta_phi_mass",
    "summed_p4",
    "invariant_mass",
    "massless_p4",
    "pseudorapidity",
]
