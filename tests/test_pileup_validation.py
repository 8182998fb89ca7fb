"""hepgen validate pileup: VIPR predictions (the shipped model, few steps) at two μ against observed and SoftDrop."""

import json
from pathlib import Path

import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.io import read_event_outputs, write_event_outputs
from hepgen.physics.substructure import OBSERVABLES
from hepgen.validation.pileup_comparison import METHODS, load_pileup_predictions, validation_split

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "analyses" / "pileup" / "model"


@pytest.fixture(scope="module")
def predictions(top_jets, minbias_file, tmp_path_factory):
    from hepgen.cli import main

    folder = tmp_path_factory.mktemp("vipr_pred")
    files = []
    for mu in (20, 60):
        out = folder / f"vipr_mu{mu}.root"
        assert main(["predict", "pileup", "--run", str(SHIPPED_MODEL), "--jets", str(top_jets), "--pileup", str(minbias_file),
                     "--mu", str(mu), "--samples", "3", "--steps", "4", "--max-events", "12", "--seed", str(mu),
                     "--out", str(out)]) == 0  # fmt: skip
        files.append(out)
    return files


def test_prediction_file_holds_the_jets_tree(predictions):
    jets, jet_id, metadata = read_event_outputs(predictions[0], tree="Jets")
    np.testing.assert_array_equal(jet_id["entry"], np.arange(12))
    assert metadata["mu"] == 20.0
    is_pileup = jets["observed_constituent_is_pileup"]
    # the observed jet = truth constituents + the overlaid pileup
    import awkward as ak

    np.testing.assert_array_equal(ak.num(jets["observed_constituent_pt"][~is_pileup]), ak.num(jets["truth_constituent_pt"]))
    assert np.all(jets["observed_jet_mass"] > jets["truth_jet_mass"])


@pytest.mark.slow
def test_validate_pileup_writes_metrics_summary_and_figures(predictions, tmp_path):
    from hepgen.cli import main

    out = tmp_path / "val"
    assert main(["validate", "pileup", "--pred", *map(str, predictions), "--out", str(out), "--validation-fraction", "0.4",
                 "--no-progress"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mu"] == [20.0, 60.0] and metrics["observables"] == list(OBSERVABLES)
    for mu in ("20", "60"):
        entry = metrics["per_mu"][mu]
        assert entry["validation_jets"] + entry["test_jets"] == 12 and entry["samples_per_jet"] == 3
        for name in OBSERVABLES:
            assert {entry["softdrop_choice"][name]["z_cut"]} <= {0.05, 0.1, 0.15, 0.2}
            for method in METHODS:
                assert np.isfinite(entry["methods"][method][name]["resolution"]), (mu, name, method)
        # pileup adds mass: the observed jet is biased up, and more so at higher μ
        assert entry["methods"]["observed"]["mass"]["bias"] > 0.05
    assert metrics["per_mu"]["60"]["methods"]["observed"]["mass"]["bias"] > metrics["per_mu"]["20"]["methods"]["observed"]["mass"]["bias"]
    # the SoftDrop choice is the best of the grid on the validation jets
    scores = metrics["per_mu"]["60"]["softdrop_grid_scores"]["mass"]
    assert metrics["per_mu"]["60"]["softdrop_choice"]["mass"]["validation_score"] == pytest.approx(np.nanmin(scores))
    summary = (out / "summary.md").read_text()
    assert "## μ = 20" in summary and "| mass |" in summary
    for figure in ("distributions_mu20", "distributions_mu60", "bias_vs_mu", "resolution_vs_mu", "w1_vs_mu",
                   "truth_quantiles", "coverage", "pulls", "softdrop_grid"):  # fmt: skip
        assert (out / f"{figure}.pdf").stat().st_size > 1000 and (out / f"{figure}.png").stat().st_size > 1000


def test_validation_split_is_a_fixed_hash():
    entry = np.arange(10000)
    split = validation_split(entry, 0.3)
    assert abs(split.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(validation_split(entry[::-1], 0.3), split[::-1])  # depends on the jet only
    with pytest.raises(ValueError, match="validation_fraction"):
        validation_split(entry, 1.5)


def test_mismatched_jets_and_samples_are_refused(predictions, tmp_path):
    samples, sample_id, metadata = read_event_outputs(predictions[0], tree="VIPR")
    jets, jet_id, _ = read_event_outputs(predictions[0], tree="Jets")
    keep = np.arange(10)  # the per-jet tree lost two jets
    bad = write_event_outputs(tmp_path / "bad.root", samples, event_id=sample_id, tree="VIPR", metadata=metadata,
                              extra_trees={"Jets": ({k: v[keep] for k, v in jets.items()}, {"entry": jet_id["entry"][keep]})})  # fmt: skip
    with pytest.raises(HepgenInputError, match="samples for 12 jets and the 'Jets' tree holds 10 jets"):
        load_pileup_predictions([bad])
    only_samples = write_event_outputs(tmp_path / "old.root", samples, event_id=sample_id, tree="VIPR", metadata=metadata)
    with pytest.raises(HepgenInputError, match="lack 'Jets'"):
        load_pileup_predictions([only_samples])
    with pytest.raises(HepgenInputError, match="no prediction files"):
        load_pileup_predictions([])


def test_empty_jets_are_counted_and_skipped(predictions):
    import awkward as ak

    from hepgen.validation.pileup_comparison import _evaluate_mu

    prediction = load_pileup_predictions([predictions[0]])[0]
    empty = ak.Array([[]] + [[]] * 0)
    prediction.truth = ak.concatenate([empty, prediction.truth[1:]])  # jet 0 lost its truth constituents
    result = _evaluate_mu(prediction, 0.4, [(0.1, 0.0)])["metrics"]
    assert result["empty_jets_skipped"] == 1
    assert result["validation_jets"] + result["test_jets"] == 11
