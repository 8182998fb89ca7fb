"""The main job, `hepgen quickstart`: the whole chain on the shipped data, from ROOT files to a report.

1. read every shipped sample and check its physics (the CMS NanoAOD file, the tt̄ W and top peaks,
   top jets with pileup overlaid);
2. train the neutrino flow and its baselines (MDN, Gaussian, MSE) on ``data/ttbar_ljets.root``;
3. sample their posteriors on the independent test events and compare them with the analytic
   W-mass solution (``results/neutrino/``);
4. train VIPR and the per-particle classifier on ``data/top_jets.root`` with pileup overlaid on the fly;
5. sample them on the independent test jets with the held-out pool at several μ and compare with the
   observed jets, CHS, SoftDrop and SoftKiller, each tuned on validation jets (``results/pileup/``);
6. write ``results/summary.md`` and ``results/metrics.json``.

The budgets are named presets (``hepgen/presets/quickstart.yaml``, :func:`budgets`) that override fields
of the tasks' training and prediction settings — the settings' own defaults are never repeated here;
``small`` (the default) fits in ≈ 15 minutes on a 2-core CPU, ``large`` is meant for a GPU. With
``use_shipped_models`` the training is skipped and the models in ``analyses/*/model`` are used.
It stays a plain function so tests (and notebooks) can call it.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import vector
import yaml

from hepgen.errors import MissingFileError, one_of
from hepgen.io import read
from hepgen.validation.report import write_report

__all__ = ["QuickstartResult", "budgets", "run_quickstart", "DEFAULT_NANOAOD", "SHIPPED_SAMPLES"]

log = logging.getLogger("hepgen.quickstart")

#: The shipped CMS Open Data NanoAOD file, relative to the data folder.
DEFAULT_NANOAOD = "cms_opendata_ttbar_nanoaod.root"
#: hepgen's shipped Pythia samples (see data/README.md for the commands that make them).
SHIPPED_SAMPLES = {
    "ttbar": "ttbar_ljets.root",
    "ttbar_test": "ttbar_ljets_test.root",
    "jets": "top_jets.root",
    "jets_test": "top_jets_test.root",
    "minbias": "minbias_pool.root",
    "minbias_test": "minbias_pool_test.root",
}
#: The models trained on the shipped samples (analyses/*/README.md say how), used with ``use_shipped_models``.
DEFAULT_NEUTRINO_MODEL = Path("analyses") / "neutrino" / "model"
DEFAULT_PILEUP_MODEL = Path("analyses") / "pileup" / "model"
DEFAULT_CLASSIFIER_MODEL = Path("analyses") / "pileup" / "classifier"

#: The neutrino methods the quickstart trains, flow first.
NEUTRINO_METHODS = ("flow", "mdn", "gauss", "mse")

_PRESETS = Path(__file__).parent / "presets" / "quickstart.yaml"


@lru_cache(maxsize=1)
def budgets() -> dict[str, dict[str, Any]]:
    """The named budgets of ``hepgen/presets/quickstart.yaml``: name → {train: {task: fields}, predict: ..., mu_values}."""
    presets = yaml.safe_load(_PRESETS.read_text(encoding="utf-8"))
    return {name: value for name, value in presets.items() if not name.startswith("_")}


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


def _four_vectors(cloud, index: int = 0):
    return vector.array(
        {k: cloud[k][:, index] for k in ("pt", "eta", "phi")}
        | {"mass": cloud["mass"][:, index] if "mass" in cloud.features else np.zeros(cloud.n_events)}
    )


def _ttbar_section(path: Path, max_events: int) -> tuple[str, dict[str, float]]:
    events = read(path, "hepgen-ttbar", entry_stop=max_events)
    lepton = _four_vectors(events["leptons"])
    neutrino = _four_vectors(events.truth["neutrino"])
    b_lep = _four_vectors(events.truth["partons"], 0)
    m_w = np.median((lepton + neutrino).mass)
    m_t = np.median((lepton + neutrino + b_lep).mass)
    met = events["met"]["pt"][:, 0]
    corr = float(np.corrcoef(met, events.truth["neutrino"]["pt"][:, 0])[0, 1])
    jets = events["jets"]
    figures = {"ttbar_median_m_lnu": float(m_w), "ttbar_median_m_lnub": float(m_t), "ttbar_met_nu_corr": corr}
    text = (
        f"## hepgen tt̄ → ℓ+jets (`{path}`, first {events.n_events} events)\n\n"
        f"- median m(ℓ, ν_truth) = {m_w:.1f} GeV (W: 80.4); median m(ℓ, ν_truth, b_lep) = {m_t:.1f} GeV (top: 172.5)\n"
        f"- corr(MET, ν pT) = {corr:.3f}; jets/event {jets.counts.mean():.2f}; "
        f"b-tags/event {np.where(jets.mask, jets['btag'], 0).sum(1).mean():.2f}\n\n"
    )
    return text, figures


def _jets_section(jets_path: Path, pool_path: Path, max_jets: int, mu: float) -> tuple[str, dict[str, float]]:
    from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

    jets = read_hard_jets(jets_path, entry_stop=max_jets)
    pool = read_pileup_pool(pool_path)
    observed = overlay_pileup(jets, pool, mu=mu, seed=1)
    m_hard = float(np.median(ak.to_numpy(jets.mass)))
    m_obs = float(np.median(observed.jet_mass))
    n_hard = float(np.mean(ak.to_numpy(ak.num(jets.constituents))))
    n_obs = float(np.mean(ak.num(observed.constituents)))
    figures = {"top_jet_median_mass": m_hard, f"top_jet_median_mass_mu{mu:g}": m_obs}
    text = (
        f"## Top jets and pileup (`{jets_path}`, `{pool_path}`, {len(jets)} jets)\n\n"
        f"- without pileup: median jet mass {m_hard:.1f} GeV, {n_hard:.0f} constituents per jet\n"
        f"- with pileup overlaid (Poisson μ = {mu:g}, pool of {len(pool)} events): median mass {m_obs:.1f} GeV "
        f"({100 * (m_obs / m_hard - 1):+.0f} %), {n_obs:.0f} constituents, "
        f"{100 * float(ak.mean(observed.constituents.is_pileup)):.0f} % of them pileup — what VIPR will learn to undo\n\n"
    )
    return text, figures


class _Stages:
    """Numbered progress lines with the elapsed time of each stage (what a physicist watches in a terminal)."""

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


def _settings(kind: str, task_name: str, budget: dict[str, Any], **fields: Any) -> tuple[Any, Any]:
    """The task and its ``kind`` (train or predict) settings: the budget's preset, then ``fields``."""
    from hepgen.tasks.registry import get_task
    from hepgen.tasks.settings import resolve

    task = get_task(task_name)
    cls = task.Training if kind == "train" else task.Prediction
    preset = budget.get(kind, {}).get(task_name, {})
    return task, resolve(cls, ("the quickstart budget", preset), ("the quickstart", fields))


def _train(task_name: str, budget: dict[str, Any], **fields: Any) -> Path:
    from hepgen.tasks.training import train

    task, settings = _settings("train", task_name, budget, **fields)
    shutil.rmtree(settings.out, ignore_errors=True)  # the quickstart always starts afresh
    return train(task, settings)


def _predict(task_name: str, budget: dict[str, Any], **fields: Any) -> Path:
    from hepgen.tasks.prediction import predict

    task, settings = _settings("predict", task_name, budget, overwrite=True, **fields)
    return predict(task, settings)


def _neutrino_section(
    test: Path, models: dict[str, Path], out: Path, budget: dict[str, Any], device: str, progress: bool, draw: bool
) -> tuple[str, dict[str, Any]]:
    from hepgen.validation.neutrino import methods_table, validate_neutrino

    predictions = out / "predictions"
    files = [
        _predict(
            "neutrino",
            budget,
            data=[str(test)],
            out=str(predictions / f"{method}.root"),
            run=str(run),
            device=device,
            progress=progress,
        )
        for method, run in models.items()
    ]
    files.append(
        _predict(
            "neutrino",
            budget,
            data=[str(test)],
            out=str(predictions / "analytic.root"),
            method="analytic",
            progress=False,
        )
    )
    metrics = validate_neutrino(files, out, figures=draw)
    lines = [
        f"## Neutrino posterior on `{test}` ({metrics['events']} independent test events)",
        "",
        "Bias and resolution (median, IQR/1.349 of predicted − true; GeV for px, py, pz):",
        "",
        *methods_table(metrics),
        "",
        "Calibration of the pz posterior (KS distance of the truth quantiles; verdict):",
        "",
    ]
    for name, entry in metrics["methods"].items():
        cal = entry["pz"].get("calibration")
        if cal:
            lines.append(f"- {name}: {cal['ks']:.3f}, {cal['verdict']}")
    lines += [
        "",
        f"Figures and the full tables: `{out}/summary.md` (residuals, m(ℓν), m(ℓνb), truth quantiles, "
        "coverage, pulls).",
        "",
    ]
    return "\n".join(lines) + "\n", metrics


def _pileup_section(
    test_jets: Path,
    pool: Path,
    models: dict[str, Path],
    out: Path,
    budget: dict[str, Any],
    device: str,
    progress: bool,
    draw: bool,
) -> tuple[str, dict[str, Any]]:
    from hepgen.validation.pileup import methods_table, validate_pileup

    files = []
    for mu in budget["mu_values"]:
        common = {
            "jets": [str(test_jets)],
            "pileup": [str(pool)],
            "mu": float(mu),
            "seed": int(mu),
            "device": device,
            "progress": progress,
        }
        for task, method in (("pileup", "vipr"), ("puppiml", "puppiml")):
            prediction = str(out / "predictions" / f"{method}_mu{mu:g}.root")
            files.append(_predict(task, budget, run=str(models[task]), out=prediction, **common))
    metrics = validate_pileup(files, out, progress=progress, figures=draw)
    first = next(iter(metrics["per_mu"].values()))
    lines = [
        f"## Pileup removal on `{test_jets}` with the held-out pool `{pool}` ({first['jets']} independent top jets, "
        f"{first['samples_per_jet'].get('vipr', 0)} VIPR samples each)",
        "",
        "Relative residual of each observable, m/m_true − 1 etc.: bias (median) / resolution (IQR/1.349) ± bootstrap "
        "errors, on the test jets; every baseline tuned on the validation jets.",
    ]
    for key, entry in metrics["per_mu"].items():
        lines += ["", f"### μ = {key}", "", *methods_table(entry)]
    lines += ["", f"All eight observables, W1 distances, the calibration and figures: `{out}/summary.md`.", ""]
    return "\n".join(lines) + "\n", metrics


def run_quickstart(
    data_dir: str | os.PathLike = "data",
    out_dir: str | os.PathLike = "results",
    *,
    budget: str | dict[str, Any] = "small",
    use_shipped_models: bool = False,
    accelerator: str = "cpu",
    progress: bool = True,
    neutrino_model: str | os.PathLike = DEFAULT_NEUTRINO_MODEL,
    pileup_model: str | os.PathLike = DEFAULT_PILEUP_MODEL,
    classifier_model: str | os.PathLike = DEFAULT_CLASSIFIER_MODEL,
    max_events: int = 5000,
    draw_figures: bool = True,
) -> QuickstartResult:
    """Run the whole chain on the shipped samples; writes ``out_dir/summary.md`` and ``out_dir/metrics.json``.

    Args:
        data_dir: the folder with the shipped samples (``data/``).
        out_dir: the results folder (``runs/`` inside it holds the trained models).
        budget: a preset name of :func:`budgets` or a mapping of the same form.
        use_shipped_models: skip training; use ``neutrino_model``, ``pileup_model`` and ``classifier_model``.
        accelerator: ``cpu``, ``gpu`` or ``auto`` (Lightning's; prediction uses CUDA for ``gpu``).
        progress: stage lines and progress bars.
        max_events: events read by the input checks of stage 1.
        draw_figures: write the validations' figures (PDF and PNG); off, only the tables and metrics.
    """
    budget_name, budget = _budget(budget)
    device = "cuda" if accelerator in ("gpu", "cuda") else "cpu"
    data, out = Path(data_dir), Path(out_dir)
    inputs = {key: _require(data / name, key) for key, name in SHIPPED_SAMPLES.items()}
    nano = _require(data / DEFAULT_NANOAOD, "CMS Open Data NanoAOD")
    shipped = {"neutrino": Path(neutrino_model), "pileup": Path(pileup_model), "puppiml": Path(classifier_model)}
    if use_shipped_models:
        for model in shipped.values():
            if not (model / "model.pt").exists():
                raise MissingFileError(
                    f"the shipped model {str(model / 'model.pt')!r} is missing; run from the hepgen checkout"
                )
    stages = _Stages(4 if use_shipped_models else 6, progress)
    with stages("reading the shipped samples and checking their physics"):
        inputs_report, figures, nanoaod = _inputs_section(nano, inputs, max_events)
    training = {"accelerator": accelerator, "devices": 1, "progress": progress}
    runs = None if use_shipped_models else out / "runs"
    neutrino_models = (
        _neutrino_models(inputs, budget, runs, training, stages) if runs else {"flow": shipped["neutrino"]}
    )
    with stages("neutrino posteriors on the test events, validation against the analytic solution"):
        neutrino_report, neutrino_metrics = _neutrino_section(
            inputs["ttbar_test"], neutrino_models, out / "neutrino", budget, device, progress, draw_figures
        )
    pileup_models = _pileup_models(inputs, budget, runs, training, stages) if runs else shipped
    mu_values = ", ".join(f"{m:g}" for m in budget["mu_values"])
    with stages(f"VIPR and the baselines on the test jets and the held-out pool at μ = {mu_values}"):
        test_data = (inputs["jets_test"], inputs["minbias_test"])
        pileup_report, pileup_metrics = _pileup_section(
            *test_data, pileup_models, out / "pileup", budget, device, progress, draw_figures
        )
    models_text = (
        f"the shipped models (`{neutrino_model}`, `{pileup_model}`, `{classifier_model}`)"
        if use_shipped_models
        else f"models trained just now (`{runs}/`)"
    )
    sections = (neutrino_report, pileup_report, inputs_report)
    header = f"Budget `{budget_name}`, {models_text}, accelerator `{accelerator}`"
    metrics = {"budget": budget_name, "budget_settings": budget, "use_shipped_models": use_shipped_models}
    metrics |= {"timings_s": stages.timings, "inputs": figures, "neutrino": neutrino_metrics, "pileup": pileup_metrics}
    summary = write_report(out, metrics, _report(header, stages.timings, sections))[1]
    flow = neutrino_metrics["methods"].get("flow", {})
    figures["nu_flow_pz_resolution"] = flow.get("pz", {}).get("resolution", float("nan"))
    figures["nu_analytic_pz_resolution"] = neutrino_metrics["methods"]["analytic"]["pz"]["resolution"]
    return QuickstartResult(*nanoaod, summary, figures)


def _budget(budget: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, settings) of a preset's name or of a mapping of the same form (``custom``)."""
    if not isinstance(budget, str):
        return "custom", budget
    return budget, one_of(budgets(), budget, "budget")


def _inputs_section(
    nano: Path, inputs: dict[str, Path], max_events: int
) -> tuple[str, dict[str, float], tuple[int, int, float]]:
    """Stage 1: the samples' physics. (report, figures, (NanoAOD events, with a W neutrino, corr(MET, ν pT)))."""
    events = read(nano, "nanoaod")
    neutrinos = events.truth["neutrinos"]
    has_nu = neutrinos.counts >= 1
    met_pt = events["met"]["pt"][:, 0]
    corr = float(np.corrcoef(met_pt[has_nu], neutrinos["pt"][:, 0][has_nu])[0, 1]) if has_nu.sum() > 2 else math.nan
    report = (
        f"## CMS Open Data NanoAOD (`{nano}`, schema `nanoaod`)\n\n"
        f"- events read: {events.n_events}; with a truth W → ℓν neutrino (GenPart, mother |pdgId| = 24): "
        f"{int(has_nu.sum())}; corr(MET, ν pT) = {corr:.3f}\n\n"
    )
    figures = {"nanoaod_met_nu_corr": corr}
    for text, more in (
        _ttbar_section(inputs["ttbar"], max_events),
        _jets_section(inputs["jets"], inputs["minbias"], min(max_events, 2000), mu=60.0),
    ):
        report += text
        figures |= more
    return report, figures, (events.n_events, int(has_nu.sum()), corr)


def _neutrino_models(
    inputs: dict[str, Path], budget: dict[str, Any], runs: Path, training: dict[str, Any], stages: _Stages
) -> dict[str, Path]:
    """Stage 2: the neutrino flow and its baselines, trained; head → run folder."""
    steps = budget["train"]["neutrino"].get("max_steps")
    with stages(f"training the neutrino flow and its baselines ({', '.join(NEUTRINO_METHODS)}; {steps} steps each)"):
        data = [str(inputs["ttbar"])]
        return {
            head: _train("neutrino", budget, data=data, head=head, out=str(runs / f"neutrino_{head}"), **training)
            for head in NEUTRINO_METHODS
        }


def _pileup_models(
    inputs: dict[str, Path], budget: dict[str, Any], runs: Path, training: dict[str, Any], stages: _Stages
) -> dict[str, Path]:
    """Stage 4: VIPR and the per-particle classifier, trained with pileup overlaid on the fly; task → run folder."""
    steps = budget["train"]["pileup"].get("max_steps")
    with stages(f"training VIPR and the per-particle classifier ({steps} steps, pileup overlaid on the fly)"):
        data = {"jets": [str(inputs["jets"])], "pileup": [str(inputs["minbias"])]}
        return {task: _train(task, budget, out=str(runs / task), **data, **training) for task in ("pileup", "puppiml")}


def _report(header: str, timings: dict[str, float], sections: tuple[str, ...]) -> str:
    """The quickstart's summary.md: what ran, then each section."""
    stage_times = ", ".join(f"{name.split(' (')[0]} {seconds:.0f} s" for name, seconds in timings.items())
    return (
        f"# hepgen quickstart\n\n{header}. Stage timings: {stage_times}.\n\n"
        "A small budget gives models that learn the physics but are far from converged: the figures show the "
        "method, not its best result (see `analyses/*/README.md` for longer trainings; `--budget medium|large` and "
        "`--accelerator gpu` train longer here).\n\n" + "\n".join(sections)
    )
