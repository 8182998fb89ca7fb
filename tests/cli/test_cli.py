"""The `hepgen` command line: quickstart at this stage, inspect, schemas, and bad input → exit 2."""

import shutil

import pytest

from hepgen.cli import main
from hepgen.quickstart import DEFAULT_NANOAOD, PILEUP_STUDY, run_quickstart
from hepgen.tasks import load_model
from tests.conftest import REPO
from tests.figures import assert_figure


@pytest.mark.slow
def test_quickstart_trains_predicts_and_validates_both_tasks(tmp_path, capsys):
    """The main job at the `test` budget: every stage runs and writes its outputs (physics checked on the inputs)."""
    import json

    out = tmp_path / "results"
    result = run_quickstart(REPO / "data", out, train="test", progress=False, max_events=400)
    assert (result.n_events, result.n_with_w_neutrino) == (200, 198)
    assert result.met_nu_pt_correlation > 0.5  # MET follows the neutrino
    f = result.figures
    assert abs(f["ttbar_median_m_lnu"] - 80.4) < 1.5 and abs(f["ttbar_median_m_lnub"] - 172.5) < 6
    assert 150 < f["top_jet_median_mass"] < 195 and f["top_jet_median_mass_mu60"] > f["top_jet_median_mass"] + 30
    for run, head in (("neutrino_flow", "flow"), ("neutrino_mdn", "mdn"), ("neutrino_gauss", "gauss")):
        assert load_model("neutrino", out / "runs" / run).head_kind == head  # the run folders hold their models
    assert load_model("pileup", out / "runs" / "pileup").saved_with["mu_max"] > 60
    assert load_model("puppiml", out / "runs" / "puppiml").config["dim"] > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["neutrino"]["methods"]) == {
        f"{head}{estimate}" for head in ("flow", "mdn", "gauss") for estimate in ("", "_mode", "_window")
    } | {"mse", "analytic"}
    # the probabilistic heads also give their mode and their pz window mode
    assert metrics["pileup"]["mu"] == [60.0]
    for figure in (
        "neutrino/truth_quantiles.png",
        "neutrino/m_lnu.pdf",
        "pileup/distributions_mu60.png",
        "pileup/bias_vs_mu.pdf",
        "pileup/softdrop_grid.png",
    ):
        assert_figure((out / figure).with_suffix(".png"))
    text = result.summary_path.read_text()
    assert "| flow |" in text and "| analytic |" in text and "### μ = 60" in text and "| mass bias |" in text
    assert all(
        f"| {method} |" in text for method in ("vipr", "puppiml", "chs", "chs_softkiller", "softdrop", "observed")
    )


@pytest.mark.slow
def test_the_demo_evaluates_every_shipped_model_and_leads_with_the_answer(tmp_path, capsys, monkeypatch):
    """`hepgen quickstart` (make demo) at the `test` preset, run from outside the checkout: every shipped model
    against every baseline, the training check learns, the summary starts with the headline table whose numbers are
    those of metrics.json, the report page is written, and without a terminal the progress is one line per stage (no
    carriage-return updates)."""
    import json

    monkeypatch.chdir(tmp_path)  # outside the checkout: data/ and the shipped models are found in it
    out = tmp_path / "r"
    assert main(["quickstart", "--out", "r", "--demo", "test", "--max-events", "200"]) == 0
    printed = capsys.readouterr()
    assert "\r" not in printed.out + printed.err
    assert [line for line in printed.out.splitlines() if line.startswith("[")][-1].startswith("[7/7]")
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["neutrino"]["methods"]) >= {"flow", "flow_window", "analytic"}
    assert set(metrics["dineutrino"]["methods"]) == {"flow", "ellipse", "weighting", "kinreco"}
    baselines = {"observed", "chs", "chs_softkiller", "softdrop", "puppi", "puppiml", "vipr"}
    assert set(metrics["pileup"]["per_mu"]["60"]["methods"]) >= baselines
    assert set(metrics["student"]["per_mu"]["60"]["methods"]) >= baselines - {"puppi"}
    assert metrics["training_check"]["learned"] and metrics["mode"] == "shipped"
    # the summary leads with the headline table, and its cells are the numbers of metrics.json
    text = (out / "summary.md").read_text()
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| task |")))
    assert start < text[: text.index("## Neutrino")].count("\n")
    rows = [line.strip("|").split(" | ") for line in lines[start + 2 : start + 2 + len(metrics["headline"])]]
    assert [r[0].strip() for r in rows] == [h["task"] for h in metrics["headline"]]
    assert [h["task"].split(",")[0] for h in metrics["headline"]] == [
        "neutrino (ℓ+jets)",
        "dilepton tt̄",
        "pileup removal (CMS-like detector)",
        "pileup removal (one-step student",
    ]
    flow_window = metrics["neutrino"]["methods"]["flow_window"]["pz"]
    first = metrics["headline"][0]
    assert (first["value"], first["baseline"]) == (flow_window["resolution"], "analytic")
    assert rows[0][3].strip() == f"{first['value']:.1f} ± {first['error']:.1f}"
    for row, h in zip(rows[1:], metrics["headline"][1:]):
        assert row[3].strip() == f"{h['value']:.3f} ± {h['error']:.3f}" and row[7].startswith(h["verdict"])
    assert (out / "index.html").exists() and "hepgen quickstart" in (out / "index.html").read_text()
    # after the demo's pileup numbers, the study at scale's, with their provenance, as headline.py wrote them
    study = (REPO / PILEUP_STUDY).read_text().strip()
    pileup = text[text.index("## Pileup removal behind") : text.index("## The one-step VIPR student")]
    assert "### The study at scale, for comparison" in pileup and study in pileup and "CMS-like detector" in study


def test_quickstart_names_a_missing_sample(tmp_path, nanoaod_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(nanoaod_path, data / DEFAULT_NANOAOD)
    assert main(["quickstart", "--data", str(data), "--out", str(tmp_path / "r")]) == 2
    assert "ttbar_ljets.root" in capsys.readouterr().err


def test_shipped_data_is_the_cms_file(nanoaod_path):

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


def test_the_checkout_is_found_from_any_folder(tmp_path, monkeypatch):
    from hepgen.checkout import in_checkout, repository_root

    monkeypatch.chdir(tmp_path)
    assert repository_root() == REPO.resolve() == repository_root(REPO / "analyses" / "neutrino")
    assert in_checkout("data/ttbar_ljets.root") == REPO.resolve() / "data" / "ttbar_ljets.root"
    (tmp_path / "data").mkdir()  # a path that exists where one works wins over the checkout's
    assert in_checkout("data").resolve() == tmp_path / "data"


def training_check_significance(seed: int) -> dict[str, float]:
    """The quickstart's training check at the `test` preset with ``seed``: how many paired errors the small flow's px
    resolution lies below the constant guess's (the check asks for 2; tools/measure_margins.py over seeds 0–2 × 1, 2
    threads: worst 13.8)."""
    import tempfile
    from pathlib import Path

    from hepgen.main_job.training_check import training_check
    from hepgen.quickstart import demos

    fields = demos()["test"]["training_check"] | {"seed": seed}
    common = {"accelerator": "cpu", "device": "cpu", "progress": False}
    with tempfile.TemporaryDirectory() as tmp:
        data = REPO / "data"
        _, metrics = training_check(
            data / "ttbar_ljets.root", data / "ttbar_ljets_test.root", Path(tmp), fields, common
        )
    d = metrics["resolution_minus_constant"]["px"]
    return {"significance": -d["difference"] / d["error"]}
