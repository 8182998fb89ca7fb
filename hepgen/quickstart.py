"""The main job, `hepgen quickstart` (``make demo``): the best hepgen has, on the shipped data, in minutes.

By default it evaluates the **shipped models** on the independent test samples against every baseline, with the
calibration of every posterior:

1. read every shipped sample and check its physics (:mod:`hepgen.main_job.inputs`);
2. ν-Flows (ℓ+jets) against the analytic W-mass solution (``results/neutrino/``);
3. the dilepton flow against the ellipse method, Neutrino Weighting and the kinematic reconstruction
   (``results/dineutrino/``);
4. VIPR and the classifier behind the CMS-like detector against every pileup baseline at each μ
   (``results/pileup/``), and the one-step student in the particle world it was distilled in (``results/student/``);
5. a short training of a small neutrino flow, checked to learn (it shows the training path works; not a result);
6. ``results/summary.md`` (the headline table first: our method against its strongest baseline per task),
   ``results/metrics.json`` and ``results/index.html`` (:mod:`hepgen.report`).

The sizes are named presets (``hepgen/presets/demo.yaml``: ``default`` ≈ 4 min on 2 cores, ``test`` for the tests).
With ``train`` (``hepgen quickstart --train small|medium|large``) it trains the neutrino heads, VIPR and the classifier
from scratch instead, at the named budget of ``hepgen/presets/quickstart.yaml`` (:func:`budgets`), and evaluates those.
It stays a plain function so tests (and notebooks) can call it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hepgen.checkout import in_checkout
from hepgen.errors import MissingFileError, one_of
from hepgen.main_job.inputs import inputs_section
from hepgen.main_job.sections import dineutrino_section, neutrino_section, pileup_section, train_model
from hepgen.main_job.training_check import training_check
from hepgen.report.page import write_report_page
from hepgen.validation.headline import headline_table, headlines
from hepgen.validation.report import write_report

__all__ = ["QuickstartResult", "budgets", "demos", "run_quickstart", "DEFAULT_NANOAOD", "SHIPPED_SAMPLES"]

log = logging.getLogger("hepgen.quickstart")

#: The shipped CMS Open Data NanoAOD file, relative to the data folder.
DEFAULT_NANOAOD = "cms_opendata_ttbar_nanoaod.root"
#: hepgen's shipped Pythia samples (see data/README.md for the commands that make them).
SHIPPED_SAMPLES = {
    "ttbar": "ttbar_ljets.root",
    "ttbar_test": "ttbar_ljets_test.root",
    "dilepton": "ttbar_dilepton.root",
    "dilepton_test": "ttbar_dilepton_test.root",
    "jets": "top_jets.root",
    "jets_test": "top_jets_test.root",
    "minbias": "minbias_pool.root",
    "minbias_test": "minbias_pool_test.root",
}
#: Neutrino Weighting's and kinreco's settings chosen on validation events (analyses/dineutrino/tune_classical.py).
CLASSICAL_CHOICE = Path("analyses") / "dineutrino" / "classical_choice.json"
#: The pileup study at scale in a few lines with their provenance (``analyses/pileup/headline.py summary``), quoted
#: after the pileup section: the shipped models' numbers on the demo's jets are not the study's.
PILEUP_STUDY = Path("analyses") / "pileup" / "validation_study" / "summary.md"
#: The neutrino methods the training path trains, flow first.
NEUTRINO_METHODS = ("flow", "mdn", "gauss", "mse")

_PRESETS = Path(__file__).parent / "presets"
#: How a section's headline rows are named where two sections give the same task.
_TASK_LABELS = {
    "pileup": lambda task: task.replace("pileup removal", "pileup removal (CMS-like detector)"),
    "student": lambda task: task.replace("pileup removal", "pileup removal (one-step student, particle world)"),
}


def _presets(name: str) -> dict[str, dict[str, Any]]:
    presets = yaml.safe_load((_PRESETS / name).read_text(encoding="utf-8"))
    return {key: value for key, value in presets.items() if not key.startswith("_")}


@lru_cache(maxsize=1)
def budgets() -> dict[str, dict[str, Any]]:
    """The training budgets of ``hepgen/presets/quickstart.yaml``: name → {train: {task: fields}, predict, mu_values}."""
    return _presets("quickstart.yaml")


@lru_cache(maxsize=1)
def demos() -> dict[str, dict[str, Any]]:
    """The shipped-model presets of ``hepgen/presets/demo.yaml``: name → {models, predict, mu_values, training_check}."""
    return _presets("demo.yaml")


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart measured and where it wrote its report."""

    n_events: int
    n_with_w_neutrino: int
    met_nu_pt_correlation: float
    summary_path: Path
    figures: dict[str, float] = field(default_factory=dict)


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingFileError(
            f"quickstart input {str(path)!r} ({what}) not found; run from the hepgen checkout or pass --data DIR; "
            "data/README.md gives the command that regenerates each sample"
        )
    return path


class _Stages:
    """Numbered stage lines with the elapsed time of each stage: what a physicist watches in a terminal, and one
    line per stage in a batch log (the progress bars are drawn only on a terminal)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.done += 1
        start = time.perf_counter()
        if self.enabled:
            print(f"[{self.done}/{self.total}] {name} ...", flush=True)
        yield
        self.timings[name] = time.perf_counter() - start
        if self.enabled:
            print(
                f"[{self.done}/{self.total}] {name}: done in {self.timings[name]:.0f} s "
                f"(total {time.perf_counter() - self._start:.0f} s)",
                flush=True,
            )


def _named(presets: dict[str, Any], chosen: str | dict[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    """(name, settings) of a preset's name or of a mapping of the same form (``custom``)."""
    if not isinstance(chosen, str):
        return "custom", chosen
    return chosen, one_of(presets, chosen, what)


def run_quickstart(
    data_dir: str | os.PathLike = "data",
    out_dir: str | os.PathLike = "results",
    *,
    train: str | dict[str, Any] | None = None,
    demo: str | dict[str, Any] = "default",
    accelerator: str = "cpu",
    progress: bool = True,
    max_events: int = 5000,
    draw_figures: bool = True,
) -> QuickstartResult:
    """Run the main job; writes ``out_dir/summary.md``, ``metrics.json``, ``index.html`` and a folder per section.

    Args:
        data_dir: the folder with the shipped samples (``data/``; relative to the working directory, else to the
            checkout: the quickstart runs from any folder).
        out_dir: the results folder (``runs/`` inside it holds the models trained here).
        train: None (default): evaluate the shipped models (``demo``); a budget of :func:`budgets` (or a mapping of
            the same form): train from scratch at that budget and evaluate those models.
        demo: a preset of :func:`demos` (or a mapping of the same form): the shipped models and the sizes.
        accelerator: ``cpu``, ``gpu`` or ``auto`` (Lightning's; prediction uses CUDA for ``gpu``).
        progress: stage lines, and progress bars where the output is a terminal.
        max_events: events read by the input checks of stage 1.
        draw_figures: write the validations' figures (PDF and PNG); off, only the tables and metrics.
    """
    data, out = in_checkout(data_dir), Path(out_dir)
    inputs = {key: _require(data / name, key) for key, name in SHIPPED_SAMPLES.items()}
    nano = _require(data / DEFAULT_NANOAOD, "CMS Open Data NanoAOD")
    bars = progress and sys.stderr.isatty()
    common = {"device": "cuda" if accelerator in ("gpu", "cuda") else "cpu", "progress": bars}
    if train is None:
        name, preset = _named(demos(), demo, "demo preset")
        stages = _Stages(7, progress)
        header = f"The shipped models (preset `{name}`), accelerator `{accelerator}`"
        run = _shipped_models
    else:
        name, preset = _named(budgets(), train, "budget")
        stages = _Stages(6, progress)
        header = f"Models trained just now (`{out}/runs/`, budget `{name}`), accelerator `{accelerator}`"
        run = _trained_models
    with stages("reading the shipped samples and checking their physics"):
        inputs_report, figures, nanoaod = inputs_section(nano, inputs, max_events)
    sections, metrics = run(inputs, preset, out, stages, common | {"accelerator": accelerator}, draw_figures)
    rows = [
        replace(row, task=_TASK_LABELS[section](row.task)) if section in _TASK_LABELS else row
        for section, m in metrics.items()
        if isinstance(m, dict)
        for row in headlines(m)
    ]
    with stages("writing the summary, metrics.json and the report page"):
        metrics |= {"mode": "shipped" if train is None else "trained", "preset": name, "preset_settings": preset}
        metrics |= {"inputs": figures, "headline": [asdict(r) | {"verdict": r.verdict} for r in rows]}
        metrics["timings_s"] = stages.timings
        summary = write_report(out, metrics, _summary(header, rows, stages.timings, [*sections, inputs_report]))[1]
        write_report_page(out, title="hepgen quickstart")
    neutrino = metrics["neutrino"]["methods"]
    figures["nu_flow_pz_resolution"] = neutrino.get("flow", {}).get("pz", {}).get("resolution", float("nan"))
    figures["nu_analytic_pz_resolution"] = neutrino["analytic"]["pz"]["resolution"]
    return QuickstartResult(*nanoaod, summary, figures)


def _checked_models(models: dict[str, str]) -> dict[str, Path]:
    """The shipped run folders (relative to the working directory or the checkout), each with its model."""
    models = {key: str(in_checkout(value)) for key, value in models.items()}
    for model in models.values():
        if not (Path(model) / "model.pt").exists():
            raise MissingFileError(
                f"the shipped model {str(Path(model) / 'model.pt')!r} is missing; run from the checkout"
            )
    return {key: Path(value) for key, value in models.items()}


def _shipped_models(
    inputs: dict[str, Path], preset: dict[str, Any], out: Path, stages: _Stages, common: dict[str, Any], draw: bool
) -> tuple[list[str], dict[str, Any]]:
    """Stages 2–6 with the shipped models: (sections' markdown, metrics per section)."""
    models, fields, mu = _checked_models(preset["models"]), preset["predict"], preset["mu_values"]
    device = {k: common[k] for k in ("device", "progress")}
    texts, metrics = [], {}
    with stages("ν-Flows (ℓ+jets) against the analytic W-mass solution"):
        text, metrics["neutrino"] = neutrino_section(
            inputs["ttbar_test"], {"flow": models["neutrino"]}, out / "neutrino", fields["neutrino"], device, draw
        )
        texts.append(text)
    with stages("the dilepton flow against the ellipse method, Neutrino Weighting and kinreco"):
        choice = _require(in_checkout(CLASSICAL_CHOICE), "the classical methods' settings chosen on validation events")
        text, metrics["dineutrino"] = dineutrino_section(
            inputs["dilepton_test"],
            models["dineutrino"],
            inputs["dilepton"],
            choice,
            out / "dineutrino",
            fields["dineutrino"],
            device,
            draw,
        )
        texts.append(text)
    jets = (inputs["jets_test"], inputs["minbias_test"])
    for section, vipr, classifier, stage, title in (
        (
            "pileup",
            "vipr",
            "classifier",
            "VIPR behind the CMS-like detector against every pileup baseline",
            "Pileup removal behind the CMS-like detector (VIPR, the classifier, every baseline)",
        ),
        (
            "student",
            "student",
            "student_classifier",
            "the one-step VIPR student (particle world)",
            "The one-step VIPR student (`vipr`, particle world, where it was distilled) and the classifier",
        ),
    ):
        methods = {
            "vipr": ("pileup", models[vipr], fields[vipr]),
            "puppiml": ("puppiml", models[classifier], fields[classifier]),
        }
        with stages(f"{stage} at μ = {_list(mu[section])}"):
            text, metrics[section] = pileup_section(title, *jets, methods, mu[section], out / section, device, draw)
            texts.append(text + (_pileup_study() if section == "pileup" else ""))
    with stages("a short training of a small neutrino flow, checked to learn"):
        text, metrics["training_check"] = training_check(
            inputs["ttbar"], inputs["ttbar_test"], out / "runs" / "training_check", preset["training_check"], common
        )
        texts.insert(0, text)
    return texts, metrics


def _pileup_study() -> str:
    """The study at scale's summary (:data:`PILEUP_STUDY`) as a subsection."""
    path = _require(in_checkout(PILEUP_STUDY), "the pileup study's summary, analyses/pileup/headline.py summary")
    return f"### The study at scale, for comparison\n\n{path.read_text(encoding='utf-8').strip()}\n"


def _trained_models(
    inputs: dict[str, Path], budget: dict[str, Any], out: Path, stages: _Stages, common: dict[str, Any], draw: bool
) -> tuple[list[str], dict[str, Any]]:
    """Stages 2–5 of the training path: train the neutrino heads, VIPR and the classifier, then evaluate them."""
    training = {"accelerator": common["accelerator"], "devices": 1, "progress": common["progress"]}
    device = {k: common[k] for k in ("device", "progress")}
    runs = out / "runs"
    steps = budget["train"]["neutrino"].get("max_steps")
    with stages(f"training the neutrino flow and its baselines ({', '.join(NEUTRINO_METHODS)}; {steps} steps each)"):
        fields = budget["train"]["neutrino"]
        neutrino_models = {
            head: train_model(
                "neutrino",
                fields,
                data=[str(inputs["ttbar"])],
                head=head,
                out=str(runs / f"neutrino_{head}"),
                **training,
            )
            for head in NEUTRINO_METHODS
        }
    metrics: dict[str, Any] = {}
    with stages("neutrino posteriors on the test events, validation against the analytic solution"):
        neutrino = neutrino_section(
            inputs["ttbar_test"], neutrino_models, out / "neutrino", budget["predict"]["neutrino"], device, draw
        )
        metrics["neutrino"] = neutrino[1]
    steps = budget["train"]["pileup"].get("max_steps")
    with stages(f"training VIPR and the per-particle classifier ({steps} steps, pileup overlaid on the fly)"):
        data = {"jets": [str(inputs["jets"])], "pileup": [str(inputs["minbias"])]}
        runs_of = {
            t: train_model(t, budget["train"][t], out=str(runs / t), **data, **training) for t in ("pileup", "puppiml")
        }
    models = {m: (t, runs_of[t], budget["predict"][t]) for m, t in (("vipr", "pileup"), ("puppiml", "puppiml"))}
    mu = budget["mu_values"]
    with stages(f"VIPR and the baselines on the test jets and the held-out pool at μ = {_list(mu)}"):
        title = "Pileup removal (particle world; VIPR, the classifier, every baseline)"
        jets = (inputs["jets_test"], inputs["minbias_test"])
        pileup = pileup_section(title, *jets, models, mu, out / "pileup", device, draw)
        metrics["pileup"] = pileup[1]
    note = (
        "A short training gives models that learn the physics but are far from converged: these numbers show the "
        "training path, not hepgen's results (`hepgen quickstart` without `--train` evaluates the shipped models).\n\n"
    )
    return [note + neutrino[0], pileup[0]], metrics


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _summary(header: str, rows: list[Any], timings: dict[str, float], sections: list[str]) -> str:
    """The quickstart's summary.md: the headline table first, then what ran, then each section."""
    stage_times = ", ".join(f"{name.split(' (')[0]} {seconds:.0f} s" for name, seconds in timings.items())
    headline = "\n".join(headline_table(rows)) if rows else "No section has a learned method with a baseline."
    return (
        "# hepgen quickstart\n\n"
        "Our method against its strongest baseline on the same events, per task (a smaller resolution is better; the "
        "difference's error is paired; the verdict at 2σ; the calibration verdict of our posterior of the same "
        "quantity). Every number is in `metrics.json`; the page `index.html` shows them with the figures.\n\n"
        f"{headline}\n\n{header}. Stage timings: {stage_times}.\n\n" + "\n".join(sections)
    )
