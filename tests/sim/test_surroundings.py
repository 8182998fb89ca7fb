"""The hard event around each jet (``Surrounding_*``): what the files hold and what reclustering does with it."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepgen.errors import HepgenInputError
from hepgen.physics.kinematics import delta_r
from hepgen.sim import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.sim.boosted_jets import SURROUNDING_MARGIN
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.reclustering import matched_jet_constituents


def test_surroundings_are_the_rest_of_the_event_near_the_jet(top_jets):
    raw = uproot.open(top_jets)["Jets"].arrays()
    around = ak.zip({"eta": raw.Surrounding_eta, "phi": raw.Surrounding_phi})
    distance = delta_r(
        ak.to_numpy(ak.flatten(around.eta)),
        ak.to_numpy(ak.flatten(around.phi)),
        np.repeat(ak.to_numpy(raw.Jet_eta), ak.to_numpy(raw.nSurrounding)),
        np.repeat(ak.to_numpy(raw.Jet_phi), ak.to_numpy(raw.nSurrounding)),
    )
    assert np.all(distance < 1.0 + SURROUNDING_MARGIN + 1e-5)
    assert ak.sum(raw.nSurrounding) > 0 and np.all(ak.to_numpy(ak.flatten(raw.Surrounding_pt)) > 0.5)
    # no particle is both a constituent and a surrounding one (pT and η identical would betray a copy)
    for c_pt, s_pt in zip(raw.Constituent_pt, raw.Surrounding_pt):
        assert not set(ak.to_list(c_pt)) & set(ak.to_list(s_pt))


def test_reclustering_the_hard_event_gives_back_the_stored_jet(top_jets):
    """anti-kT on the jet's constituents and its surroundings finds the stored jet again, constituent for
    constituent: the surroundings are what could have joined it, and did not."""
    hard = read_hard_jets(top_jets)
    assert "surroundings" in hard.fields
    event = ak.concatenate([hard.constituents, hard.surroundings], axis=1)
    members, matched = matched_jet_constituents(event, ak.to_numpy(hard.eta), ak.to_numpy(hard.phi), radius=1.0)
    assert np.all(matched)
    assert ak.all(ak.num(members) == ak.num(hard.constituents))
    assert ak.all(ak.sort(members.pt, axis=1) == ak.sort(hard.constituents.pt, axis=1))


def test_reclustered_overlay_uses_the_surroundings(top_jets, minbias_file):
    hard, pool = read_hard_jets(top_jets), read_pileup_pool(minbias_file)
    cms = CONSTITUENT_DETECTORS["cms"]
    with_event = overlay_pileup(hard, pool, mu=0, seed=3, detector=cms, recluster=True)
    jet_only = overlay_pileup(
        hard[["eta", "phi", "mass", "constituents"]], pool, mu=0, seed=3, detector=cms, recluster=True
    )
    # without pileup the observed jet is its detector-level truth; the event around it changes some jets
    assert ak.all(with_event.constituents.pt == with_event.detector_truth.pt)
    assert np.any(with_event.jet_mass != jet_only.jet_mass)
    # the reclustered detector-level jet stays close to the particle-level jet of the file
    np.testing.assert_allclose(with_event.jet_mass, ak.to_numpy(hard.mass), rtol=0.25, atol=10)


def test_jet_files_with_and_without_surroundings_do_not_mix(top_jets, tmp_path):
    raw = uproot.open(top_jets)["Jets"].arrays()
    old = tmp_path / "old.root"
    with uproot.recreate(old) as out:
        out["Jets"] = {k: raw[k] for k in raw.fields if not k.startswith(("Surrounding_", "nSurrounding"))}
    jets = read_hard_jets(old)  # a file made before the surroundings existed still reads
    assert "surroundings" not in jets.fields and len(jets) == len(raw)
    with pytest.raises(HepgenInputError, match="Surrounding"):
        read_hard_jets([top_jets, old])
