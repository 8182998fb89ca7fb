"""Jets reclustered in the event after pileup: anti-kT on everything around the hard jet (particles, or tracks and
towers), and the reclustered jet that matches the hard jet's axis.

With pileup the jet found in data is not the hard jet plus what fell into its cone: its axis moves, particles
migrate in and out, and its area matters. :func:`matched_jet_constituents` clusters each event with fastjet's
anti-kT and keeps, per event, the constituents of the jet nearest to the hard jet's axis (within
``match_radius``), with every field of the input records.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_r
from hepgen.physics.substructure import quiet_fastjet_banner, to_fastjet_input

__all__ = ["MATCH_RADIUS", "matched_jet_constituents"]

#: The largest ΔR between a reclustered jet's axis and the hard jet's axis for the two to match.
MATCH_RADIUS = 0.6


def matched_jet_constituents(
    particles: ak.Array,
    axis_eta: np.ndarray,
    axis_phi: np.ndarray,
    *,
    radius: float = 1.0,
    match_radius: float = MATCH_RADIUS,
) -> tuple[ak.Array, np.ndarray]:
    """Per event, the constituents of the anti-kT jet (radius ``radius``) nearest to the hard axis.

    Args:
        particles: jagged records ``[J, var]`` with ``pt, eta, phi, mass`` (and any other fields, kept), one event
            per hard jet.
        axis_eta, axis_phi: the hard jets' axes ``[J]``.
    Returns:
        the matched jets' constituents ``[J, var]`` in their input order (empty where no jet matches), and
        whether each event has a match ``[J]``.
    """
    import fastjet

    if len(particles) == 0:
        return particles, np.zeros(0, bool)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    with quiet_fastjet_banner():
        sequence = fastjet.ClusterSequence(to_fastjet_input(particles), definition)
        jets = sequence.inclusive_jets()
        members = sequence.constituent_index()
    counts = ak.to_numpy(ak.num(jets)).astype(np.int64)
    px, py, pz = (ak.to_numpy(ak.flatten(jets[k])).astype(np.float64) for k in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    event = np.repeat(np.arange(len(counts)), counts)
    flat_distance = delta_r(
        np.arcsinh(pz / np.maximum(pt, 1e-12)),
        np.arctan2(py, px),
        np.asarray(axis_eta, np.float64)[event],
        np.asarray(axis_phi, np.float64)[event],
    )
    distance = ak.unflatten(flat_distance, counts)
    nearest = ak.argmin(distance, axis=1, keepdims=True)
    best = ak.fill_none(ak.firsts(distance[nearest]), np.inf)
    matched = ak.to_numpy(best) <= match_radius
    chosen = ak.fill_none(ak.firsts(members[nearest]), [], axis=0)
    chosen = ak.sort(ak.values_astype(chosen, np.int64), axis=1)
    chosen = chosen[ak.local_index(chosen) < np.where(matched, ak.to_numpy(ak.num(chosen)), 0)]  # none if unmatched
    return particles[chosen], matched
