"""The `hepgen` command line: quickstart at this stage, inspect, schemas, and bad input → exit 2."""

import shutil

import pytest

from hepgen.cli import main
from hepgen.quickstart import DEFAULT_NANOAOD, run_quickstart


@pytest.mark.slow
def test_quickstart_on_the_shipped_data(tmp_path, capsys):
    from tests.conftest import REPO

    result = run_quickstart(REPO / "data", tmp_path / "results", max_events=400,
                            neutrino_model=REPO / "analyses" / "neutrino" / "model")  # fmt: skip
    assert (result.n_events, result.n_with_w_neutrino) == (200, 198)
    assert result.met_nu_pt_correlation > 0.5  # MET follows the neutrino
    f = result.figures
    assert abs(f["ttbar_median_m_lnu"] - 80.4) < 1.5 and abs(f["ttbar_median_m_lnub"] - 172.5) < 6
    assert 150 < f["top_jet_median_mass"] < 195 and f["top_jet_median_mass_mu60"] > f["top_jet_median_mass"] + 30
    # the shipped flow beats MET for the transverse momentum and matches the analytic solution in pz
    assert f["nu_flow_px_resolution"] < f["nu_analytic_px_resolution"]
    assert f["nu_flow_pz_resolution"] < 1.3 * f["nu_analytic_pz_resolution"]
    text = result.summary_path.read_text()
    assert "198" in text and "pileup" in text
    assert main(["quickstart", "--data", str(REPO / "data"), "--out", str(tmp_path / "r2"), "--max-events", "200",
                 "--neutrino-model", str(REPO / "analyses" / "neutrino" / "model")]) == 0  # fmt: skip
    assert "Results written to" in capsys.readouterr().out


def test_quickstart_names_a_missing_sample(tmp_path, nanoaod_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(nanoaod_path, data / DEFAULT_NANOAOD)
    assert main(["quickstart", "--data", str(data), "--out", str(tmp_path / "r")]) == 2
    assert "ttbar_ljets.root" in capsys.readouterr().err


def test_shipped_data_is_the_cms_file(nanoaod_path):
    from tests.conftest import REPO

    assert (REPO / "data" / DEFAULT_NANOAOD).read_bytes() == nanoaod_path.read_bytes()


def test_inspect_and_schemas(nanoaod_path, capsys):
    assert main(["inspect", str(nanoaod_path), "--schema", "nanoaod", "--entry-stop", "20"]) == 0
    out = capsys.readouterr().out
    assert "read 20 events" in out and "neutrinos" in out
    assert main(["schemas"]) == 0
    assert "hep-tutorial" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, hzz_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.root")]) == 2
    err = capsys.readouterr().err
    assert "missing.root" in err and "Traceback" not in err
    assert main(["inspect", str(hzz_path), "--schema", "nanoaod"]) == 2
    assert "trees present" in capsys.readouterr().err
