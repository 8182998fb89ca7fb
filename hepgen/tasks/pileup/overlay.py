"""Pileup on hard jets, as every pileup task (VIPR, the classifier) trains and predicts: the settings of the overlay,
the training μ law, fresh pileup every epoch, the observed jets of a prediction block and the table of their truth.

Hard-scatter jets (``hepgen generate jets``) and a minimum-bias pool (``hepgen generate minbias``) are read through
:mod:`hepgen.sim.pileup`; each training jet's nominal μ is drawn from a law over 0–220 (uniform, mixed with a
|N(60, 10)| core), its interactions from Poisson(μ), with an optional detector inefficiency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import VERTEX_EFFICIENCY, OverlaidJets, overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, TrainSettings
from hepgen.tasks.pileup.inputs import INPUTS, PASSTHROUGH_PT, TARGETS, TOWER_PASSTHROUGH_PT
from hepgen.tasks.pileup.sampling import GeneratedJets
from hepgen.tasks.settings import redefault, setting, values_of

__all__ = [
    "OverlayTraining",
    "OverlayPrediction",
    "draw_training_mu",
    "training_overlay",
    "read_training_jets",
    "observe_block",
    "jet_table",
    "posterior_block_output",
    "truth_description",
    "check_prediction_input",
]

log = logging.getLogger("hepgen.pileup")

_VERTEX_EFFICIENCY_HELP = "probability that a pileup interaction gives a reconstructed vertex (N_PV)"
_RECLUSTER_HELP = (
    "with a detector: overlay pileup beyond the jet, recluster with anti-kT and keep the jet matched to the hard one"
)
_DETECTOR_HELP = (
    "the detector on the constituents: none (particles, every hard particle untouched) or cms (tracks with "
    "efficiency, resolution and dz association, vertices, calorimeter towers; hepgen/sim/detector.py); with cms "
    "the target is the hard scatter through the same detector"
)


@dataclass
class OverlayTraining(TrainSettings):
    """What every pileup task trains on: hard jets, a pool overlaid on the fly, the μ law, the detector, the input."""

    jets: list[str] = setting(
        [], "hard-scatter jets (hepgen generate jets; globs allowed)", required=True, metavar="FILE"
    )
    pileup: list[str] = setting([], "minimum-bias pool (hepgen generate minbias)", required=True, metavar="POOL")
    input: str = setting(
        "chs",
        "the particles the model sees: chs (after charged-hadron subtraction, the tracker's "
        "charged particles passed through) or observed (all)",
        choices=INPUTS,
    )
    mu_min: float = setting(0.0, "nominal μ of the training jets: uniform in [mu_min, mu_max] ...")
    mu_max: float = setting(220.0, "... (the range the model is meant for)")
    mu: float = setting(60.0, "... mixed with a core |N(mu, mu_sigma)|")
    mu_sigma: float = setting(10.0, "width of the μ core")
    mu_core_fraction: float = setting(0.3, "share of the training jets whose μ comes from the core")
    inefficiencies: list[float] = setting(
        [0.0],
        "detector inefficiencies (probability to lose an observed particle) "
        "the training jets are drawn with, one per jet; a context feature",
    )
    track_losses: list[float] = setting(
        [0.0],
        "behind a detector, degraded trackers the training jets are drawn with, one per jet: the tracking "
        "efficiency times 1 − track_loss; a context feature if any is above 0",
    )
    passthrough_pt: float = setting(
        PASSTHROUGH_PT,
        "chs input: observed neutral particles above this pT [GeV] are passed through (pileup rarely makes one)",
    )
    tower_passthrough_pt: float | None = setting(
        None,
        "behind a detector (chs input): observed towers above this pT [GeV] are passed through too (the study's "
        f"choice on validation jets: {TOWER_PASSTHROUGH_PT:g}); default none: every tower is generated",
    )
    vertex_efficiency: float = setting(VERTEX_EFFICIENCY, _VERTEX_EFFICIENCY_HELP)
    detector: str = setting("none", _DETECTOR_HELP, choices=tuple(CONSTITUENT_DETECTORS))
    recluster: bool = setting(False, _RECLUSTER_HELP)
    radius: float = setting(1.0, "pileup particles within ΔR < radius of the jet axis join the jet")
    overlay_group: int = setting(
        0,
        "jets overlaid at a time: 0 overlays each epoch's pileup on every jet at its start (as the shipped models "
        "trained); N overlays N jets when their batches are due (bounded memory; with --data-workers, beside the "
        "model)",
    )
    batch_size: int = redefault(TrainSettings, "batch_size", 64)
    learning_rate: float = redefault(TrainSettings, "learning_rate", 5e-4)
    weight_decay: float = redefault(TrainSettings, "weight_decay", 0.01)
    lr_floor: float = redefault(TrainSettings, "lr_floor", 0.05)
    patience: int = redefault(TrainSettings, "patience", 10)


@dataclass
class OverlayPrediction(PredictSettings):
    """What every pileup prediction observes: hard jets with pileup overlaid at a nominal μ, through the detector."""

    jets: list[str] = setting([], "hard-scatter jets to contaminate and clean", required=True, metavar="FILE")
    pileup: list[str] = setting(
        [], "minimum-bias pool to overlay (use one the model did not train on)", required=True, metavar="POOL"
    )
    mu: float = setting(60.0, "nominal μ: each jet's interactions are Poisson(μ)")
    vertex_efficiency: float = setting(VERTEX_EFFICIENCY, _VERTEX_EFFICIENCY_HELP)
    inefficiency: float = setting(0.0, "probability that the detector loses an observed particle (the truth keeps it)")
    track_loss: float = setting(
        0.0, "behind a detector, a degraded tracker: the tracking efficiency times 1 − track_loss (truth alike)"
    )
    detector: str = setting("none", _DETECTOR_HELP, choices=tuple(CONSTITUENT_DETECTORS))
    recluster: bool = setting(False, _RECLUSTER_HELP)
    target: str = setting(
        "detector",
        "behind a detector, the truth of the Jets table (truth_*): detector (the hard scatter through the same "
        "detector) or particle (the particle-level jet); VIPR predicts with the target it trained on",
        choices=TARGETS,
    )
    name: str = setting(
        "",
        "the method's name in the file and the validation (default: vipr or puppiml, with the input); several runs "
        "of one method validated together need one each, starting with the method's (e.g. vipr_mod)",
    )


def truth_description(settings: OverlayPrediction) -> str:
    """What the ``truth_*`` columns of a prediction's Jets table are (stored in its metadata)."""
    if settings.detector == "none":
        return "particle level"
    if settings.target == "particle":
        return "particle level (truth_*): the hard jet's particles behind the detector"
    return "detector level: the hard scatter through the same detector (truth_*); particle level: particle_jet_*"


def draw_training_mu(
    n: int,
    rng: np.random.Generator,
    *,
    mu_min: float,
    mu_max: float,
    core: float,
    core_sigma: float,
    core_fraction: float,
) -> np.ndarray:
    """Nominal μ of ``n`` training jets: uniform in [mu_min, mu_max], a share ``core_fraction`` from |N(core, σ)|."""
    if not 0 <= mu_min <= mu_max:
        raise HepgenInputError(f"the training μ range must satisfy 0 <= mu_min <= mu_max; got [{mu_min}, {mu_max}]")
    if not 0 <= core_fraction <= 1:
        raise HepgenInputError(f"mu_core_fraction must be in [0, 1]; got {core_fraction}")
    from_core = rng.uniform(size=n) < core_fraction
    uniform = rng.uniform(mu_min, mu_max, n)
    gaussian = np.abs(rng.normal(core, core_sigma, n))
    return np.where(from_core, gaussian, uniform)


def observe_block(settings: OverlayPrediction, pool: ak.Array, block: Block) -> tuple[ak.Array, OverlaidJets]:
    """The hard jets of a prediction block and their overlay (seeded by the block: every pileup task that
    predicts the same jets with the same seed sees the same observed jets)."""
    jets = read_hard_jets(settings.jets, entry_start=block.start, entry_stop=block.stop)
    options = values_of(settings, "mu", "vertex_efficiency", "inefficiency", "track_loss", "recluster")
    detector = CONSTITUENT_DETECTORS[settings.detector]
    observed = overlay_pileup(
        jets, pool, seed=block.seed, detector=detector, event_baselines=detector is not None, **options
    )
    return jets, observed


def jet_table(jets: ak.Array, observed: OverlaidJets, *, target: str = "detector") -> dict[str, np.ndarray | ak.Array]:
    """One row per jet: the observed constituents (with charge and ``is_pileup``), the truth constituents, both
    jets, and what data knows of the pileup (nominal μ, vertices) beside the truth (interactions).

    The truth is what the models generate: the hard particles without a detector; behind one, the hard scatter
    through the same detector (target a), with the particle-level jet (target b) beside it as ``particle_jet_*``
    and the observed constituents' detector fields (``is_track``, ``from_hard_vertex``, ``hard_fraction``,
    ``puppi_weight``, and ``puppi_weight_t`` of each PUPPI variant) and SoftKiller's event cuts (``softkiller_cut_g``, ``chs_softkiller_cut_g`` for the patch size
    ``SOFTKILLER_GRID[g]``); with ``target`` ``particle`` the truth is the particle-level jet there too."""
    at_particle_level = observed.detector_truth is None or target == "particle"
    hard = jets.constituents if at_particle_level else observed.detector_truth
    truth = ak.zip({k: hard[k] for k in ("pt", "eta", "phi", "mass")})
    truth_jet = dict(zip(("pt", "eta", "phi", "mass"), pt_eta_phi_mass(summed_p4(truth))))
    behind_detector = {}
    if observed.detector_truth is not None:
        particle_jet = pt_eta_phi_mass(summed_p4(jets.constituents))
        behind_detector = {
            **{f"particle_jet_{k}": v.astype(np.float32) for k, v in zip(("pt", "eta", "phi", "mass"), particle_jet)},
            **{
                f"observed_constituent_{k}": observed.constituents[k]
                for k in ("is_track", "from_hard_vertex", "dz_compatible")
            },
            "observed_constituent_hard_fraction": ak.values_astype(observed.constituents.hard_fraction, np.float32),
        }
    if observed.softkiller_cuts is not None:  # the event baselines: PUPPI weights, SoftKiller cuts per patch size
        for name in (f for f in observed.constituents.fields if f.startswith("puppi_weight")):
            behind_detector[f"observed_constituent_{name}"] = observed.constituents[name]
        for name, cuts in observed.softkiller_cuts.items():
            behind_detector |= {f"{name}_cut_{g}": cuts[:, g].astype(np.float32) for g in range(cuts.shape[1])}
    return {
        **behind_detector,
        **{
            f"observed_constituent_{k}": ak.values_astype(observed.constituents[k], np.float32)
            for k in ("pt", "eta", "phi", "mass", "charge")
        },
        "observed_constituent_is_pileup": ak.values_astype(observed.constituents.is_pileup, bool),
        **{f"truth_constituent_{k}": ak.values_astype(truth[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"observed_jet_{k}": getattr(observed, f"jet_{k}").astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"truth_jet_{k}": truth_jet[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        "n_pileup": observed.n_interactions.astype(np.int32),
        "n_vertices": observed.n_vertices.astype(np.int32),
        "mu": observed.mu.astype(np.float32),
    }


def read_training_jets(settings: OverlayTraining) -> tuple[ak.Array, ak.Array, ak.Array, ak.Array]:
    """(training jets, validation jets, all of them, the pool) of a pileup task's training settings."""
    jets = read_hard_jets(settings.jets, entry_stop=settings.max_events)
    pool = read_pileup_pool(settings.pileup)
    order = np.random.default_rng(settings.seed).permutation(len(jets))
    n_val = max(1, int(round(settings.val_fraction * len(jets))))
    return jets[np.sort(order[n_val:])], jets[np.sort(order[:n_val])], jets, pool


def training_overlay(
    jets: ak.Array, pool: ak.Array, settings: OverlayTraining, rng: np.random.Generator
) -> OverlaidJets:
    """An overlay of ``jets`` with the training laws: each jet's nominal μ (:func:`draw_training_mu`) and
    inefficiency (one of ``settings.inefficiencies``) and, behind a detector, track loss (one of
    ``settings.track_losses``), its interactions Poisson(μ)."""
    n = len(jets)
    mu = draw_training_mu(
        n,
        rng,
        mu_min=settings.mu_min,
        mu_max=settings.mu_max,
        core=settings.mu,
        core_sigma=settings.mu_sigma,
        core_fraction=settings.mu_core_fraction,
    )
    lost = np.asarray(settings.inefficiencies, dtype=np.float64)[rng.integers(0, len(settings.inefficiencies), n)]
    degraded = {}
    if any(t > 0 for t in settings.track_losses):  # drawn only then: the overlays of other models stay as they were
        losses = np.asarray(settings.track_losses, dtype=np.float64)
        degraded["track_loss"] = losses[rng.integers(0, len(losses), n)]
    return overlay_pileup(
        jets,
        pool,
        mu=mu,
        seed=rng,
        radius=settings.radius,
        vertex_efficiency=settings.vertex_efficiency,
        inefficiency=lost,
        **degraded,
        detector=CONSTITUENT_DETECTORS[settings.detector],
        recluster=settings.recluster,
    )


def check_prediction_input(model_settings: dict[str, Any], settings: OverlayPrediction) -> None:
    """Refuse a prediction outside what the model was trained for (μ beyond its range)."""
    if settings.mu < 0:
        raise HepgenInputError(f"--mu must be >= 0; got {settings.mu}")
    mu_max = model_settings.get("mu_max")
    if mu_max is not None and settings.mu > 1.2 * float(mu_max):
        log.warning("μ = %g is beyond the training range (up to %g)", settings.mu, mu_max)
    for name, old in (("detector", "none"), ("recluster", False)):
        trained_with, flag = model_settings.get(name, old), name.replace("_", "-")
        if getattr(settings, name) != trained_with:
            raise HepgenInputError(
                f"--{flag} {getattr(settings, name)}: the model was trained with --{flag} {trained_with}; predict with it"
            )
    for name, trained_name in (("inefficiency", "inefficiencies"), ("track_loss", "track_losses")):
        trained, value = model_settings.get(trained_name, [0.0]), getattr(settings, name)
        if not min(trained) - 1e-9 <= value <= max(trained) + 1e-9:
            flag, trained_flag = name.replace("_", "-"), trained_name.replace("_", "-")
            raise HepgenInputError(
                f"--{flag} {value} is outside the {trained_name.replace('_', ' ')} the model trained with "
                f"({trained}): train with --{trained_flag} covering it"
            )


def posterior_block_output(
    generated: GeneratedJets,
    jets: ak.Array,
    observed: OverlaidJets,
    block: Block,
    target: str,
    extra: dict[str, ak.Array] | None = None,
) -> BlockOutput:
    """Tree ``VIPR``: one row per (jet, sample) of a posterior's jets (their constituents, the jet, the observed and
    the truth jet mass, and ``extra`` per-constituent columns); tree ``Jets``: one row per jet (:func:`jet_table`)."""
    rows = generated.jet_index
    samples = {
        "sample": generated.sample_index.astype(np.int32),
        "constituent_pt": generated.constituents.pt,
        "constituent_eta": generated.constituents.eta,
        "constituent_phi": generated.constituents.phi,
        **(extra or {}),
        **{f"jet_{k}": getattr(generated, k).astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        "observed_jet_mass": observed.jet_mass[rows].astype(np.float32),
        "truth_jet_mass": ak.to_numpy(jets.mass)[rows].astype(np.float32),
    }
    return BlockOutput(
        {
            "VIPR": (samples, {"entry": (rows + block.start).astype(np.int64)}),
            "Jets": (
                jet_table(jets, observed, target=target),
                {"entry": np.arange(block.start, block.stop, dtype=np.int64)},
            ),
        }
    )
