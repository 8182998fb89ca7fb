"""hepgen report: the page states the verdicts of the metrics, loads in a real browser with every image, and the
HEPData record passes the validator HEPData runs; bad folders give one clear line, and a page is never half written.

The results folder is three real validations: a fresh neutrino validation of a posterior known by construction (a
flow with Gaussian posteriors of σ = 10 GeV around a measurement of the same spread, against a point method with
20 GeV errors — the flow must win), and copies of the committed pileup (analyses/pileup/validation_cms) and dilepton
(analyses/dineutrino/validation) validations.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.io import write_event_outputs
from hepgen.report.folders import find_validations
from hepgen.report.page import REPORT_FILE, write_report_page
from hepgen.validation.headline import SIGNIFICANT, headlines
from hepgen.validation.neutrino import validate_neutrino
from tests.conftest import REPO

EVENTS, SAMPLES = 600, 64


def _neutrino_predictions(folder: Path) -> list[Path]:
    """A flow whose posterior is N(measurement, 10 GeV) with the measurement N(truth, 10 GeV) — calibrated by
    construction — and a point method with 20 GeV errors, on the same events."""
    rng = np.random.default_rng(5)
    truth = rng.normal(0.0, 40.0, (EVENTS, 3)).astype(np.float32)
    truth[:, 2] *= 3
    measured = truth + rng.normal(0.0, 10.0, truth.shape)
    samples = (measured[:, None, :] + rng.normal(0.0, 10.0, (EVENTS, SAMPLES, 3))).astype(np.float32)
    lepton = np.column_stack([np.full(EVENTS, 60.0), np.full(EVENTS, 40.0), np.zeros(EVENTS), np.zeros(EVENTS)])
    lepton[:, 0] = np.hypot(lepton[:, 1], 1.0) + 20.0
    common = {"truth": truth, "lepton_p4": lepton.astype(np.float32)}
    ids = {"entry": np.arange(EVENTS)}
    flow = {"point": np.median(samples, axis=1), "samples": samples} | common
    analytic = {"point": (truth + rng.normal(0.0, 20.0, truth.shape)).astype(np.float32)} | common
    return [
        write_event_outputs(folder / f"{name}.root", outputs, event_id=ids, tree="Neutrino", metadata={"method": name})
        for name, outputs in (("flow", flow), ("analytic", analytic))
    ]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    validate_neutrino(_neutrino_predictions(tmp_path_factory.mktemp("pred")), root / "neutrino", bootstrap=100)
    shutil.copytree(REPO / "analyses" / "pileup" / "validation_cms", root / "pileup")
    shutil.copytree(REPO / "analyses" / "dineutrino" / "validation", root / "dineutrino")
    return root


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_the_headlines_are_the_strongest_baseline_on_the_same_events(results):
    neutrino = headlines(_metrics(results / "neutrino"))
    assert [(h.method, h.baseline, h.verdict) for h in neutrino] == [("flow (window mode)", "analytic", "better")]
    m = _metrics(results / "neutrino")["methods"]
    assert neutrino[0].value == m["flow_window"]["pz"]["resolution"]
    assert neutrino[0].baseline_value == m["analytic"]["pz"]["resolution"]
    assert 1.8 < neutrino[0].baseline_value / neutrino[0].value < 2.3  # 20 GeV against ≈ 10 GeV (the window mode)
    pileup = _metrics(results / "pileup")
    rows = headlines(pileup)
    assert [h.task for h in rows] == ["pileup removal, μ = 60", "pileup removal, μ = 200"]
    for row, key in zip(rows, ("60", "200")):  # same jets: the strongest baseline has the smallest resolution
        methods = pileup["per_mu"][key]["methods"]
        others = {k: v["mass"]["resolution"] for k, v in methods.items() if not k.startswith("vipr")}
        assert row.baseline == min(others, key=others.get)
        significance = pileup["per_mu"][key]["paired_differences"]["mass"]["vipr"][row.baseline]["significance"]
        expected = "worse" if significance > SIGNIFICANT else "better" if significance < -SIGNIFICANT else "no sig"
        assert row.verdict.startswith(expected)
    dilepton = headlines(_metrics(results / "dineutrino"))
    assert [h.method for h in dilepton] == ["flow"] and dilepton[0].baseline in {"kinreco", "weighting", "ellipse"}


def test_the_page_says_the_verdicts_and_what_is_missing(results, tmp_path):
    page = write_report_page(results).read_text()
    assert page.count("<section>") == 3 and "The answer" in page
    assert "better by" in page and "its posterior: calibrated" in page  # the flow of known width
    for png in ("neutrino/residual_pz.png", "pileup/resolution_vs_mu.png", "dineutrino/m_ttbar.png"):
        assert f'src="{png}"' in page and f'href="{png[:-4]}.pdf"' in page  # inline PNG linked to its PDF
    assert page.count("<details>") == 3  # the full tables, folded
    # a figure deleted and a validation that never finished: the page says so where it would be
    partial = tmp_path / "results"
    shutil.copytree(results, partial)
    (partial / "pileup" / "coverage.png").unlink()
    (partial / "dineutrino" / "metrics.json").unlink()
    page = write_report_page(partial).read_text()
    assert "coverage.png (figure not drawn)" in page and "metrics.json (the validation did not finish" in page
    assert "Incomplete: dineutrino, pileup" in page
    # a validation of one posterior names its coverage figure coverage.png: nothing is missing then
    single = tmp_path / "single"
    shutil.copytree(results / "dineutrino", single / "dineutrino")
    for png in (single / "dineutrino").glob("coverage_*.png"):
        png.rename(png.with_name("coverage.png"))
    page = write_report_page(single).read_text()
    assert "Missing" not in page and 'src="dineutrino/coverage.png"' in page
    assert "(dineutrino)</td>" in page  # each headline row names its validation


def test_a_failing_report_leaves_the_old_page_whole(results, tmp_path, monkeypatch):
    folder = tmp_path / "r"
    shutil.copytree(results / "neutrino", folder / "neutrino")
    before = write_report_page(folder).read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("hepgen.report.page.markdown.markdown", broken)  # fails while the page is being built
    with pytest.raises(OSError):
        write_report_page(folder)
    assert (folder / REPORT_FILE).read_text() == before
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_folders_without_a_validation_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(HepgenInputError, match="holds no validation"):
        find_validations(tmp_path)
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("hepgen report: error:") for line in err)


def _browser() -> str | None:
    """Chromium's headless shell (Debian's chromium-headless-shell) or Chromium, installed with apt where missing
    and possible (root with apt-get); None where it cannot be had."""
    for name in ("chromium-headless-shell", "chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium-headless-shell"]):
            if subprocess.run(command, env=env, capture_output=True, timeout=600).returncode:
                return None
        return shutil.which("chromium-headless-shell")
    return None


# Added to a copy of the page (the report itself has no script): after loading, every image's state and every error
# event (a resource that failed, a script error) are written into the DOM, which --dump-dom prints.
_CHECK = """<script>window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || (e.target && e.target.src))), true);
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  const p = document.createElement('pre'); p.id = 'hepgen-check';
  p.textContent = JSON.stringify({images: document.images.length, broken: broken, errors: window.__errors});
  document.body.appendChild(p);
});</script>"""


def test_the_page_loads_in_a_real_browser_with_every_image(results, tmp_path):
    page = write_report_page(results)
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium here and none installable (apt-get as root): the browser check did not run")
    check = results / ".browser_check.html"
    check.write_text(page.read_text().replace("<head>", "<head>" + _CHECK, 1))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run(
        [*flags, "--virtual-time-budget=10000", "--dump-dom", check.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    check.unlink()
    state = json.loads(dom.split('<pre id="hepgen-check">')[1].split("</pre>")[0])
    expected = sum(len(f.figures) for f in find_validations(results))
    assert state == {"images": expected, "broken": [], "errors": []} and expected >= 10
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()], timeout=120, check=True)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280) and pixels[..., :3].std() > 0.05  # drawn, not a blank page


def test_the_hepdata_record_is_valid_and_holds_the_metrics(results, tmp_path):
    import yaml
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    record = tmp_path / "hepdata"
    assert main(["report", str(results), "--hepdata", str(record), "--qualifier", "detector=CMS-like", "x"]) == 2
    assert main(["report", str(results), "--hepdata", str(record), "--qualifier", "detector=CMS-like"]) == 0
    validator = FullSubmissionValidator()
    assert validator.validate(directory=str(record)), validator.get_messages()
    assert validator.validate(archive=f"{record}.tar.gz"), validator.get_messages()
    tables = {p.name for p in record.glob("*.yaml")} - {"submission.yaml"}
    assert len(tables) == 8 + 2 + 2  # 8 pileup observables; ν resolutions and calibration; the dilepton two
    mass = yaml.safe_load((record / "resolution_vs_mu_mass_pileup.yaml").read_text())
    assert [v["value"] for v in mass["independent_variables"][0]["values"]] == [60.0, 200.0]
    vipr = next(v for v in mass["dependent_variables"] if v["header"]["name"] == "resolution (vipr)")
    expected = _metrics(results / "pileup")["per_mu"]["60"]["methods"]["vipr"]["mass"]
    assert vipr["values"][0]["value"] == pytest.approx(expected["resolution"], rel=1e-4)  # hepdata_lib rounds
    assert vipr["values"][0]["errors"][0]["symerror"] == pytest.approx(expected["resolution_err"], rel=1e-4)
    assert {q["name"] for q in vipr["qualifiers"]} >= {"SQRT(S)", "validation", "test jets", "method", "detector"}
    assert (record / "pileup_resolution_vs_mu.png").exists()  # the figure with its table
