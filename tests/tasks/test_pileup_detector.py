"""Every pileup task behind the constituent detector (--detector cms): it trains and predicts on tracks and towers,
generates (or labels) the hard scatter through the same detector, writes both truths, and refuses to predict
behind another detector than the one it trained behind."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch, passthrough_options
from hepgen.tasks.pileup.overlay import OverlayTraining
from hepgen.tasks.registry import all_tasks, get_task
from hepgen.tasks.run_folder import load_model
from hepgen.validation.pileup.load import PointPrediction, point_folder
from tests.tasks.inputs import PREDICTION_FILES, TRAINING_FILES, as_flags, small_network

PILEUP_TASKS = [task.name for task in all_tasks() if issubclass(task.Training, OverlayTraining)]


def test_the_target_behind_a_detector_is_its_towers_of_the_hard_scatter():
    jets = read_hard_jets([str(TRAINING_FILES["jets"])], entry_stop=6)
    pool = read_pileup_pool([str(TRAINING_FILES["pileup"])])
    observed = overlay_pileup(jets, pool, mu=60, seed=1, detector=CONSTITUENT_DETECTORS["cms"])
    batch = jet_batch(observed, input="chs", hard=jets, max_hard=500)
    truth = observed.detector_truth
    np.testing.assert_array_equal(batch.hard_mask.sum(1), ak.to_numpy(ak.sum(~truth.is_track, axis=1)))
    # the input holds no track associated with a pileup vertex, and passes through those compatible in dz with the
    # hard vertex
    cloud = observed.constituents[~(observed.constituents.is_track & ~observed.constituents.from_hard_vertex)]
    np.testing.assert_array_equal(batch.observed_mask.sum(1), ak.to_numpy(ak.num(cloud)))
    assert ak.all(ak.num(batch.passthrough) == ak.sum(cloud.is_track & cloud.dz_compatible, axis=1))
    assert ak.any(cloud.is_track & ~cloud.dz_compatible)  # pileup tracks of unreconstructed vertices stay in the input


def test_towers_above_the_pass_through_pt_go_to_the_output_and_leave_the_target():
    jets = read_hard_jets([str(TRAINING_FILES["jets"])], entry_stop=8)
    pool = read_pileup_pool([str(TRAINING_FILES["pileup"])])
    cms = CONSTITUENT_DETECTORS["cms"]
    unpiled = overlay_pileup(jets, pool, mu=0, n_interactions=np.zeros(8, int), seed=1, detector=cms, recluster=True)
    towers_only = jet_batch(unpiled, input="chs", hard=jets, max_hard=500)
    batch = jet_batch(unpiled, input="chs", hard=jets, max_hard=500, tower_passthrough_pt=20.0)
    # without pileup every observed tower is a truth tower: the target loses exactly the towers above 20 GeV
    cloud = unpiled.constituents
    hard_towers = ak.to_numpy(ak.sum(~cloud.is_track & (cloud.pt > 20.0), axis=1))
    assert hard_towers.sum() > 8  # a few per jet
    np.testing.assert_array_equal(batch.hard_mask.sum(1), towers_only.hard_mask.sum(1) - hard_towers)
    np.testing.assert_array_equal(ak.num(batch.passthrough), ak.num(towers_only.passthrough) + hard_towers)
    # the passed flag (an input feature) marks them; the particle-level target refuses tower pass-through
    assert batch.observed[..., 4].sum() == towers_only.observed[..., 4].sum() + hard_towers.sum()
    with pytest.raises(HepgenInputError, match="detector-level target"):
        jet_batch(unpiled, input="chs", hard=jets, tower_passthrough_pt=20.0, target="particle")
    # a model saved before the setting existed passes no tower through
    assert passthrough_options({"passthrough_pt": 5.0}) == {"passthrough_pt": 5.0, "tower_passthrough_pt": None}


def test_the_particle_level_target_is_the_hard_jet_less_the_particles_of_passed_through_tracks():
    jets = read_hard_jets([str(TRAINING_FILES["jets"])], entry_stop=6)
    pool = read_pileup_pool([str(TRAINING_FILES["pileup"])])
    observed = overlay_pileup(jets, pool, mu=60, seed=1, detector=CONSTITUENT_DETECTORS["cms"], recluster=True)
    batch = jet_batch(observed, input="chs", hard=jets, max_hard=500, target="particle")
    passed = batch.passthrough
    # every passed-through track that comes from a constituent of the hard jet stands for exactly that particle
    tracks = observed.constituents[
        observed.constituents.is_track & observed.constituents.from_hard_vertex & observed.constituents.dz_compatible
    ]
    from_jet = (tracks.hard_index >= 0) & (tracks.hard_index < ak.num(jets.constituents))
    generated = batch.hard_mask.sum(1)
    np.testing.assert_array_equal(generated, ak.to_numpy(ak.num(jets.constituents) - ak.sum(from_jet, axis=1)))
    assert ak.all(ak.num(passed) == ak.num(tracks)) and np.all(generated > 0)
    # a track keeps its particle's direction: linked by hard_index, (η, φ) agree exactly
    linked = tracks[from_jet]
    source = jets.constituents[linked.hard_index]
    assert ak.all(source.eta == linked.eta) and ak.all(source.phi == linked.phi)
    # the detector-level target differs (towers, not particles)
    towers = jet_batch(observed, input="chs", hard=jets, max_hard=500).hard_mask.sum(1)
    assert not np.array_equal(towers, generated)


@pytest.mark.parametrize("recluster", [[], ["--recluster"]], ids=["cone", "reclustered"])
@pytest.mark.parametrize("name", PILEUP_TASKS)
def test_a_pileup_task_trains_and_predicts_behind_the_detector(name, recluster, tmp_path):
    task = get_task(name)
    run, out = tmp_path / "run", tmp_path / "pred.root"
    inputs = {k: [str(TRAINING_FILES[k])] for k in ("jets", "pileup")}
    flags = as_flags({**inputs, **small_network(task.Training), "max_events": 32, "batch_size": 16})
    argv = ["train", name, "--out", str(run), *flags, "--detector", "cms", *recluster, "--max-steps", "2"]
    assert main([*argv, "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]) == 0
    predict = ["predict", name, "--run", str(run), "--jets", str(PREDICTION_FILES["jets"]), "--pileup"]
    predict += [str(PREDICTION_FILES["pileup"]), "--max-events", "24", "--no-progress"]
    if "steps" in task.Prediction.__dataclass_fields__:
        predict += ["--steps", "8", "--samples", "2"]  # fewer steps of an untrained model can overflow pT
    assert main([*predict, "--out", str(out), "--detector", "cms", *recluster]) == 0
    jets = uproot.open(out)["Jets"].arrays()
    metadata = read_event_outputs(out, tree="Jets")[2]
    assert metadata["detector"] == "cms" and metadata["truth"].startswith("detector level")
    assert {"particle_jet_mass", "observed_constituent_is_track", "observed_constituent_hard_fraction"} <= set(
        jets.fields
    )
    # the detector-level truth jet is not the particle-level one (towers, thresholds), but near it
    ratio = ak.to_numpy(jets.truth_jet_mass / jets.particle_jet_mass)
    assert not np.allclose(ratio, 1.0) and np.all(np.abs(ratio - 1) < 0.5)
    # validation behind the detector: PUPPI and SoftKiller on the event. On 24 jets at μ = 60 the observed mass is
    # ~+0.5 too high (spread ~0.18, so its mean is known to ±0.04); PUPPI's and CHS + SoftKiller's bias is < 0.15
    argv = ["validate", "pileup", "--pred", str(out), "--out", str(tmp_path / "val"), "--no-figures", "--no-progress"]
    assert main([*argv, "--bootstrap", "2"]) == 0
    methods = json.loads((tmp_path / "val" / "metrics.json").read_text())["per_mu"]["60"]["methods"]
    bias = {m: abs(methods[m]["mass"]["bias"]) for m in ("observed", "puppi", "softkiller", "chs_softkiller")}
    assert "puppi_tuned" in methods  # PUPPI's variant chosen on the validation jets
    assert bias["puppi"] < 0.5 * bias["observed"] and bias["chs_softkiller"] < 0.5 * bias["observed"], bias
    # the truth-label bound keeps the mostly-hard towers: near the truth, but not it (pileup in hard towers, hard
    # energy in pileup towers)
    kept = methods["truth_keep"]["mass"]
    assert abs(kept["bias"]) < 0.5 * bias["observed"] and kept["resolution"] > 1e-4, kept
    assert main([*predict, "--out", str(tmp_path / "other.root"), "--detector", "none"]) == 2
    at_particle_level = main(
        [*predict, "--out", str(tmp_path / "b.root"), "--detector", "cms", *recluster, "--target", "particle"]
    )
    if name == "pileup":  # VIPR generates the level it trained for; the classifier's truth can be either
        assert at_particle_level == 2 and not (tmp_path / "b.root").exists()
    else:
        assert at_particle_level == 0
        b = uproot.open(tmp_path / "b.root")["Jets"].arrays()
        np.testing.assert_allclose(b.truth_jet_mass, b.particle_jet_mass, rtol=1e-5)
        assert read_event_outputs(tmp_path / "b.root", tree="Jets")[2]["truth"].startswith("particle level")
    other = ["--detector", "cms"] + ([] if recluster else ["--recluster"])
    assert main([*predict, "--out", str(tmp_path / "other.root"), *other]) == 2
    assert not (tmp_path / "other.root").exists()


def test_vipr_trained_for_the_particle_level_predicts_it(tmp_path):
    task = get_task("pileup")
    run, out = tmp_path / "run", tmp_path / "pred.root"
    inputs = {k: [str(TRAINING_FILES[k])] for k in ("jets", "pileup")}
    flags = as_flags({**inputs, **small_network(task.Training), "max_events": 32, "batch_size": 16})
    detector = ["--detector", "cms", "--recluster", "--target", "particle"]
    argv = ["train", "pileup", "--out", str(run), *flags, *detector, "--max-steps", "2", "--max-epochs", "1"]
    assert main([*argv, "--no-progress", "--accelerator", "cpu"]) == 0
    predict = ["predict", "pileup", "--run", str(run), "--jets", str(PREDICTION_FILES["jets"]), "--pileup"]
    predict += [str(PREDICTION_FILES["pileup"]), "--max-events", "8", "--steps", "8", "--samples", "2"]
    assert main([*predict, "--no-progress", "--out", str(out), *detector]) == 0
    jets = uproot.open(out)["Jets"].arrays()
    np.testing.assert_allclose(jets.truth_jet_mass, jets.particle_jet_mass, rtol=1e-5)
    assert read_event_outputs(out, tree="Jets")[2]["trained_with"]["target"] == "particle"
    assert main([*predict, "--no-progress", "--out", str(tmp_path / "a.root"), *detector[:3]]) == 2


def test_a_lossy_detector_loses_tracks_and_towers_and_the_target_regenerates_them():
    jets = read_hard_jets([str(TRAINING_FILES["jets"])], entry_stop=40)
    pool = read_pileup_pool([str(TRAINING_FILES["pileup"])])
    cms = CONSTITUENT_DETECTORS["cms"]
    lossless = overlay_pileup(jets, pool, mu=0, seed=2, detector=cms)
    lossy = overlay_pileup(jets, pool, mu=0, seed=2, detector=cms, inefficiency=0.3)
    # the truth keeps everything; about 30 % of the observed tracks and towers are gone (binomial: ±2 % on ~2000)
    assert ak.all(lossy.detector_truth.pt == lossless.detector_truth.pt)
    kept = ak.sum(ak.num(lossy.constituents)) / ak.sum(ak.num(lossless.constituents))
    assert 0.64 < kept < 0.76 and np.all(lossy.inefficiency == 0.3)
    # target (a): everything of the truth but the observed tracks passed through — a lost track is generated
    batch = jet_batch(lossy, input="chs", hard=jets, max_hard=500)
    truth = lossy.detector_truth
    passed = ak.num(batch.passthrough)
    np.testing.assert_array_equal(batch.hard_mask.sum(1), ak.to_numpy(ak.num(truth) - passed))
    without_losses = jet_batch(lossless, input="chs", hard=jets, max_hard=500)
    assert np.all(batch.hard_mask.sum(1) >= without_losses.hard_mask.sum(1))
    assert batch.hard_mask.sum() > without_losses.hard_mask.sum()
    assert np.all(batch.context[:, 6] == np.float32(0.3))  # the inefficiency, a context feature


@pytest.mark.parametrize("name", PILEUP_TASKS)
def test_a_model_trained_on_degraded_trackers_knows_the_track_loss_and_refuses_beyond_it(name, tmp_path):
    task = get_task(name)
    run = tmp_path / "run"
    inputs = {k: [str(TRAINING_FILES[k])] for k in ("jets", "pileup")}
    flags = as_flags({**inputs, **small_network(task.Training), "max_events": 32, "batch_size": 16})
    argv = ["train", name, "--out", str(run), *flags, "--detector", "cms", "--track-losses", "0", "0.2"]
    argv += ["--tower-passthrough-pt", "20"]
    assert main([*argv, "--max-steps", "2", "--max-epochs", "1", "--no-progress", "--accelerator", "cpu"]) == 0
    loaded = load_model(task, run)
    assert loaded.context_features[-1] == "track_loss"
    predict = ["predict", name, "--run", str(run), "--jets", str(PREDICTION_FILES["jets"]), "--pileup"]
    predict += [str(PREDICTION_FILES["pileup"]), "--max-events", "8", "--no-progress", "--detector", "cms"]
    if "steps" in task.Prediction.__dataclass_fields__:
        predict += ["--steps", "8", "--samples", "2"]
    assert main([*predict, "--out", str(tmp_path / "p.root"), "--track-loss", "0.1"]) == 0
    metadata = read_event_outputs(tmp_path / "p.root", tree="Jets")[2]
    assert metadata["track_loss"] == 0.1 and metadata["trained_with"]["tower_passthrough_pt"] == 20.0
    assert main([*predict, "--out", str(tmp_path / "beyond.root"), "--track-loss", "0.3"]) == 2
    assert not (tmp_path / "beyond.root").exists()
    # the observed jets' context: the track loss last, as the prediction drew it
    jets = read_hard_jets([str(PREDICTION_FILES["jets"])], entry_stop=4)
    pool = read_pileup_pool([str(PREDICTION_FILES["pileup"])])
    observed = overlay_pileup(jets, pool, mu=60, seed=1, detector=CONSTITUENT_DETECTORS["cms"], track_loss=0.1)
    batch = jet_batch(observed, input="chs", context=loaded.context_features)
    np.testing.assert_array_equal(batch.context[:, -1], np.float32(0.1))
    nominal = overlay_pileup(jets, pool, mu=60, seed=1)  # the particle world has no tracker to degrade
    with pytest.raises(HepgenInputError, match="track_loss"):
        jet_batch(nominal, input="chs", context=loaded.context_features)


def test_the_validation_keeps_points_of_degraded_trackers_apart(tmp_path):
    point = PointPrediction(60.0, 0.1, 0.2, [], np.arange(0), ak.Array([]), ak.Array([]), np.arange(0), np.arange(0))
    assert point.key == "60, 10% lost, 20% tracks lost" and not point.nominal_detector
    assert point_folder(point) == "mu60_10pct_lost_20pct_tracks_lost"
