"""hepgen generate ttbar-dilepton: two isolated opposite-charge leptons, the selection, and the truth in top order
(the top's ν, ℓ⁺, b, then the antitop's) whose masses are the W and top masses."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.cli import main
from hepgen.io import read
from hepgen.physics.kinematics import invariant_mass, p4_from_pt_eta_phi_mass


@pytest.fixture(scope="module")
def dilepton(tmp_path_factory):
    path = tmp_path_factory.mktemp("dilepton") / "dilepton.root"
    assert (
        main(
            [
                "generate",
                "ttbar-dilepton",
                "--events",
                "40",
                "--seed",
                "3",
                "--block-size",
                "20",
                "--no-progress",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    return read(str(path), "hepgen-ttbar-dilepton")


def test_the_selection(dilepton):
    leptons, jets = dilepton["leptons"], dilepton["jets"]
    assert leptons.mask.all() and leptons.values.shape[1] == 2  # exactly two leptons
    assert (leptons["charge"][:, 0] == -leptons["charge"][:, 1]).all()  # of opposite charge
    assert (leptons["pt"][:, 0] >= leptons["pt"][:, 1]).all() and (leptons["pt"] > 25).all()
    assert (jets.mask.sum(1) >= 2).all() and ((jets["btag"] * jets.mask).sum(1) >= 1).all()


def test_the_truth_is_in_top_order_and_on_shell(dilepton):
    nu, lep, b = dilepton.truth["neutrinos"], dilepton.truth["gen_leptons"], dilepton.truth["b_quarks"]
    assert (nu["pdgId"][:, 0] > 0).all() and (nu["pdgId"][:, 1] < 0).all()  # ν from t (W⁺), ν̄ from t̄
    assert (lep["pdgId"][:, 0] < 0).all() and (lep["pdgId"][:, 1] > 0).all()  # ℓ⁺, ℓ⁻
    assert (b["pdgId"][:, 0] == 5).all() and (b["pdgId"][:, 1] == -5).all()

    def p4(c, k):
        mass = c["mass"][:, k] if "mass" in c.features else 0 * c["pt"][:, k]
        return p4_from_pt_eta_phi_mass(c["pt"][:, k], c["eta"][:, k], c["phi"][:, k], mass)

    for k in (0, 1):
        m_w = invariant_mass(p4(lep, k), p4(nu, k))
        m_t = invariant_mass(p4(lep, k), p4(nu, k), p4(b, k))
        assert np.median(np.abs(m_w - 80.4)) < 3.0
        assert np.median(np.abs(m_t - 172.5)) < 8.0  # the b before its radiation: a few GeV below m_t
    met = dilepton["met"]
    true_met = p4(nu, 0)[:, :2] + p4(nu, 1)[:, :2]
    assert np.corrcoef(met["px"][:, 0], true_met[:, 0])[0, 1] > 0.8


def test_the_file_records_the_dilepton_settings(tmp_path):
    from hepgen.io.writer import read_metadata

    path = tmp_path / "d.root"
    assert (
        main(
            [
                "generate",
                "ttbar-dilepton",
                "--events",
                "5",
                "--seed",
                "4",
                "--min-jets",
                "3",
                "--no-progress",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    metadata = read_metadata(path)
    assert (
        metadata["selection"] == {"min_jets": 3, "min_btags": 1} and "24:onIfAny = 11 13" in metadata["pythia_settings"]
    )
