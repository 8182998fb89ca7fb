"""Paired differences of the pileup validation: every learned method against every other point estimate, on the
same jets."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.substructure import OBSERVABLES
from hepgen.validation.metrics import bias_resolution, bootstrap_bias_resolution
from hepgen.validation.pileup.report import paired_coverage_table
from hepgen.validation.pileup.score import paired_coverage, paired_differences


def test_paired_differences_cancel_what_the_methods_share():
    rng = np.random.default_rng(4)
    n = 2000
    truth = {name: rng.uniform(50, 250, n) for name in OBSERVABLES}
    shared = rng.normal(0, 0.10, n)  # jet-by-jet effects both methods see (the hard and the easy jets)

    def method(extra: float) -> dict[str, np.ndarray]:
        return {name: truth[name] * (1 + shared + rng.normal(0, extra, n)) for name in OBSERVABLES}

    values = {
        "vipr": method(0.02),
        "softkiller": method(0.08),
        "vipr_samples": {name: np.ones((n, 4)) for name in OBSERVABLES},  # samples, not a point estimate: skipped
    }
    out = paired_differences(values, truth, resamples=200)
    assert set(out) == set(OBSERVABLES) and set(out["mass"]) == {"vipr"} and set(out["mass"]["vipr"]) == {"softkiller"}
    d = out["mass"]["vipr"]["softkiller"]
    residual = {m: values[m]["mass"] / truth["mass"] - 1 for m in ("vipr", "softkiller")}
    expected = bias_resolution(residual["vipr"])[1] - bias_resolution(residual["softkiller"])[1]
    assert d["difference"] == expected and d["events"] == n and d["difference"] < 0
    # the paired error is below the two separate bootstrap errors in quadrature (part of the shared 0.10 cancels):
    # over 30 seeds of this construction the ratio was 0.75–0.92 and the significance −5.7 to −9.3
    separate = np.hypot(
        *(bootstrap_bias_resolution(residual[m], resamples=200)["resolution_err"] for m in ("vipr", "softkiller"))
    )
    assert d["error"] < separate
    assert d["significance"] == d["difference"] / d["error"] and d["significance"] < -4


def test_paired_coverage_against_a_hand_count():
    """Two posteriors of 9 samples on 12 jets; the ranks of the truths are chosen where the randomised quantile
    q = (r + U) / 10 is inside (r = 2…7: q in (0.2, 0.8)) or outside (r = 0: q < 0.1) the 68.3 % interval
    |q − ½| ≤ 0.3415 whatever U is, so the coverages are known by hand."""
    jets = 12
    narrow = np.tile(np.arange(1.0, 10.0), (jets, 1))  # 1 … 9
    wide = np.tile(2 * np.arange(1.0, 10.0) - 5, (jets, 1))  # −3, −1, 1, … 13
    truth = np.array([4.5] * 6 + [0.5] * 4 + [0.0, 4.5])  # ranks: narrow 4 ×6, 0 ×4; wide 4 ×6, 2 ×4
    wide[11, 3] = np.nan  # jet 11: one of wide's samples is not finite → left out of the pair; jet 10: truth 0
    samples = {"vipr_single": {n: narrow for n in OBSERVABLES}, "vipr_ensemble": {n: wide for n in OBSERVABLES}}
    out = paired_coverage(samples, {n: truth for n in OBSERVABLES}, levels=(0.683,))
    # on the 10 usable jets the narrow posterior holds 6 truths, the wide one 10; the 4 discordant jets give
    # McNemar's error √4 / 10
    assert out["mass"]["vipr_single"]["vipr_ensemble"]["0.683"] == {"difference": -0.4, "error": 0.2, "events": 10}
    assert out["d2"]["vipr_ensemble"]["vipr_single"]["0.683"]["difference"] == pytest.approx(0.4)
    lines = paired_coverage_table(out)
    assert [line for line in lines if line.startswith("| mass |")] == [
        "| mass | vipr_ensemble − vipr_single | +0.400 ± 0.200 | 10 |"
    ]
    # one posterior alone: no pair, no table
    assert paired_coverage({"vipr": samples["vipr_single"]}, {n: truth for n in OBSERVABLES}) == {}
    assert paired_coverage_table({}) == []


def test_several_vipr_runs_validated_together_are_paired_with_each_other(tmp_path):
    """`predict pileup --name vipr_<variant>` names each run, so the runs of one point are not pooled as shards of one
    method: validated together, each is paired with the other on the same jets (the architecture study's way)."""
    import json

    from hepgen.cli import main
    from tests.conftest import REPO

    common = ["--run", str(REPO / "analyses/pileup/model"), "--jets", str(REPO / "data/top_jets_test.root")]
    common += ["--pileup", str(REPO / "data/minbias_pool_test.root"), "--max-events", "24", "--samples", "2"]
    common += ["--no-progress"]
    assert main(["predict", "pileup", *common, "--name", "mod", "--out", str(tmp_path / "bad.root")]) == 2
    assert not (tmp_path / "bad.root").exists()
    for name, steps in (("vipr_few", "4"), ("vipr_more", "8")):
        assert (
            main(
                [
                    "predict",
                    "pileup",
                    *common,
                    "--name",
                    name,
                    "--steps",
                    steps,
                    "--out",
                    str(tmp_path / f"{name}.root"),
                ]
            )
            == 0
        )
    out = tmp_path / "validation"
    assert (
        main(
            [
                "validate",
                "pileup",
                "--pred",
                *map(str, tmp_path.glob("vipr_*.root")),
                "--out",
                str(out),
                "--no-figures",
                "--no-progress",
            ]
        )
        == 0
    )
    point = json.loads((out / "metrics.json").read_text())["per_mu"]["60"]
    assert {"vipr_few", "vipr_more"} <= set(point["methods"])
    d = point["paired_differences"]["mass"]["vipr_few"]["vipr_more"]
    resolution = {m: point["methods"][m]["mass"]["resolution"] for m in ("vipr_few", "vipr_more")}
    assert d["events"] == point["test_jets"]
    assert d["difference"] == pytest.approx(resolution["vipr_few"] - resolution["vipr_more"], rel=1e-9, abs=1e-12)
    # their coverages are paired too, on the same jets: the difference is that of the two calibrations' coverages
    # (the same jets, the same randomisation of the truth quantiles)
    paired = point["paired_coverage"]["mass"]["vipr_few"]["vipr_more"]["0.683"]
    coverage = {m: point["calibration"][m]["mass"]["coverage_68"] for m in ("vipr_few", "vipr_more")}
    assert paired["events"] == point["calibration"]["vipr_few"]["mass"]["events"]
    assert paired["difference"] == pytest.approx(coverage["vipr_few"] - coverage["vipr_more"], abs=1e-12)
