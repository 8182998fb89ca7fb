"""Flat ntuples written by others: the CMS HEP tutorial (HZZ) and Z→μμ with scalar muon branches."""

import awkward as ak
import numpy as np
import uproot
import vector

import hepgen.io as hio


def test_hep_tutorial_jets_match_vector(hzz_path):
    events = hio.read(hzz_path, "hep-tutorial")
    jets = events["jets"]
    raw = uproot.open(hzz_path)["events"].arrays(["Jet_Px", "Jet_Py", "Jet_Pz", "Jet_E", "Jet_btag"])
    p4 = vector.zip({"px": raw.Jet_Px, "py": raw.Jet_Py, "pz": raw.Jet_Pz, "E": raw.Jet_E})
    order = ak.argsort(p4.pt, ascending=False, stable=True)
    p4 = p4[order]
    n = ak.to_numpy(ak.num(p4))
    np.testing.assert_array_equal(jets.counts, np.minimum(n, 10))
    for feature in ("pt", "eta", "phi", "mass"):
        expected = ak.to_numpy(ak.fill_none(ak.pad_none(getattr(p4, feature), 10, clip=True), 0.0))
        np.testing.assert_allclose(jets[feature], expected, rtol=1e-6, atol=1e-5, err_msg=feature)
    # and against the textbook formulas
    px, py, pz = (ak.to_numpy(ak.flatten(raw[f"Jet_P{c}"][order])) for c in "xyz")
    real = jets.mask
    pt = np.hypot(px, py)
    np.testing.assert_allclose(jets["pt"][real], pt, rtol=1e-6)
    np.testing.assert_allclose(jets["eta"][real], np.arcsinh(pz / pt), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jets["phi"][real], np.arctan2(py, px), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(jets["btag"][real], ak.to_numpy(ak.flatten(raw.Jet_btag[order])))


def test_hep_tutorial_met_and_truth(hzz_path):
    events = hio.read(hzz_path, "hep-tutorial")
    raw = uproot.open(hzz_path)["events"].arrays(["MET_px", "MET_py", "MCleptonicBottom_px", "MChadronicBottom_px"])
    met = events["met"]
    np.testing.assert_array_equal(met["px"][:, 0], ak.to_numpy(raw.MET_px))
    np.testing.assert_allclose(met["pt"][:, 0], np.hypot(raw.MET_px, raw.MET_py), rtol=1e-6)
    partons = events.truth["partons"]
    assert partons.values.shape == (2421, 4, 6) and partons.mask.all()
    # stored order kept (sort_by=None): leptonic b first, hadronic b second
    np.testing.assert_array_equal(partons["px"][:, 0], ak.to_numpy(raw.MCleptonicBottom_px))
    np.testing.assert_array_equal(partons["px"][:, 1], ak.to_numpy(raw.MChadronicBottom_px))


def test_zmumu_scalar_muons_form_a_two_object_cloud(zmumu_path):
    events = hio.read(zmumu_path, "zmumu")
    muons = events["muons"]
    raw = uproot.open(zmumu_path)["events"].arrays(
        ["px1", "py1", "px2", "py2", "Q1", "Q2", "M", "Run", "Event"], library="np"
    )
    assert muons.values.shape == (2304, 2, 5) and muons.mask.all()
    # this file's stored pt1/pt2 come from another fit than its px/py; the schema reads the four-momenta
    pt1, pt2 = np.hypot(raw["px1"], raw["py1"]), np.hypot(raw["px2"], raw["py2"])
    np.testing.assert_allclose(muons["pt"][:, 0], np.maximum(pt1, pt2), rtol=1e-6)
    np.testing.assert_allclose(muons["pt"][:, 1], np.minimum(pt1, pt2), rtol=1e-6)
    first_is_1 = pt1 >= pt2
    np.testing.assert_array_equal(muons["charge"][:, 0], np.where(first_is_1, raw["Q1"], raw["Q2"]))
    np.testing.assert_array_equal(events.event_id["Event"], raw["Event"])
    # physics: the dimuon mass rebuilt from the cloud equals the stored M
    m = muons
    p1 = vector.array({"pt": m["pt"][:, 0], "eta": m["eta"][:, 0], "phi": m["phi"][:, 0], "mass": m["mass"][:, 0]})
    p2 = vector.array({"pt": m["pt"][:, 1], "eta": m["eta"][:, 1], "phi": m["phi"][:, 1], "mass": m["mass"][:, 1]})
    np.testing.assert_allclose((p1 + p2).mass, raw["M"], rtol=2e-3, atol=0.05)
    assert 80 < np.median(raw["M"]) < 100
