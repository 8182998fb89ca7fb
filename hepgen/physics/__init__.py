"""Physics helpers: kinematics over `vector`, and (later) the analytic neutrino solution and jet substructure."""

from hepgen.physics.kinematics import delta_phi, delta_r, p4_from_pt_eta_phi_mass, pt_eta_phi_mass

__all__ = ["delta_phi", "delta_r", "pt_eta_phi_mass", "p4_from_pt_eta_phi_mass"]
