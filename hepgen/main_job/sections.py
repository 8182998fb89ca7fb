"""The main job's sections: each predicts with its models on an independent test sample, validates every method
against the truth (``hepgen validate``'s functions, figures included) and returns (markdown, metrics).

* :func:`neutrino_section` — ℓ+jets: the learned posteriors against the analytic W-mass solution;
* :func:`dineutrino_section` — dilepton: the flow against the ellipse method, Neutrino Weighting and the smeared
  kinematic reconstruction, those two with the settings chosen on validation events
  (``analyses/dineutrino/classical_choice.json``) and kinreco's templates from the training sample;
* :func:`pileup_section` — VIPR (or its student) and the classifier at each μ, with every baseline tuned on the
  validation jets inside the validation.

Settings come as presets of the form ``{kind: {task or section: fields}}`` (:func:`task_settings`); the settings'
own defaults are never repeated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "task_settings",
    "train_model",
    "predict_with",
    "neutrino_section",
    "dineutrino_section",
    "pileup_section",
]


def task_settings(kind: str, task_name: str, fields: dict[str, Any], **more: Any) -> tuple[Any, Any]:
    """The task and its ``kind`` (train or predict) settings: ``fields`` (a preset's), then ``more``."""
    from hepgen.tasks.registry import get_task
    from hepgen.tasks.settings import resolve

    task = get_task(task_name)
    cls = task.Training if kind == "train" else task.Prediction
    return task, resolve(cls, ("the quickstart preset", fields), ("the quickstart", more))


def train_model(task_name: str, fields: dict[str, Any], **more: Any) -> Path:
    """Train afresh (the run folder is emptied first); returns the run folder."""
    import shutil

    from hepgen.tasks.training import train

    task, settings = task_settings("train", task_name, fields, **more)
    shutil.rmtree(settings.out, ignore_errors=True)
    return train(task, settings)


def predict_with(task_name: str, fields: dict[str, Any], **more: Any) -> Path:
    """Predict (overwriting an earlier file of the same name); returns the prediction file."""
    from hepgen.tasks.prediction import predict

    task, settings = task_settings("predict", task_name, fields, overwrite=True, **more)
    return predict(task, settings)


def neutrino_section(
    test: Path, models: dict[str, Path], out: Path, fields: dict[str, Any], common: dict[str, Any], draw: bool
) -> tuple[str, dict[str, Any]]:
    """Each model of ``models`` (method → run folder) and the analytic solution on ``test``; ``fields``: the
    prediction preset, ``common``: device and progress."""
    from hepgen.validation.neutrino import methods_table, validate_neutrino

    predictions = out / "predictions"
    files = [
        predict_with(
            "neutrino", fields, data=[str(test)], out=str(predictions / f"{method}.root"), run=str(run), **common
        )
        for method, run in models.items()
    ]
    analytic = {"data": [str(test)], "out": str(predictions / "analytic.root"), "method": "analytic", "progress": False}
    files.append(predict_with("neutrino", {"max_events": fields.get("max_events")}, **analytic))
    metrics = validate_neutrino(files, out, figures=draw)
    lines = [
        f"## Neutrino posterior (ℓ+jets) on `{test}` ({metrics['events']} independent test events)",
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
    lines += ["", f"Figures and the full tables: `{out}/summary.md`.", ""]
    return "\n".join(lines) + "\n", metrics


def _classical_settings(choice_file: Path, method: str) -> dict[str, Any]:
    """The settings of ``method`` (weighting, kinreco) chosen on validation events, as prediction fields."""
    return json.loads(choice_file.read_text(encoding="utf-8"))[method]["choice"]["settings"]


def dineutrino_section(
    test: Path,
    model: Path,
    templates: Path,
    choice_file: Path,
    out: Path,
    fields: dict[str, Any],
    common: dict[str, Any],
    draw: bool,
) -> tuple[str, dict[str, Any]]:
    """The dilepton flow of ``model`` and the three classical methods on ``test``."""
    from hepgen.validation.dineutrino import summary, validate_dineutrino

    predictions = out / "predictions"
    data = {"data": [str(test)]}
    limit = {"max_events": fields.get("max_events")}
    files = [predict_with("dineutrino", fields, out=str(predictions / "flow.root"), run=str(model), **data, **common)]
    for method, more in (
        ("ellipse", {}),
        ("weighting", _classical_settings(choice_file, "weighting")),
        ("kinreco", _classical_settings(choice_file, "kinreco") | {"templates": [str(templates)]}),
    ):
        target = str(predictions / f"{method}.root")
        files.append(predict_with("dineutrino", limit | more, out=target, method=method, progress=False, **data))
    metrics = validate_dineutrino(files, out, figures=draw)
    text = summary(metrics).replace("# Dilepton neutrinos", f"## Dilepton neutrinos on `{test}`", 1)
    return text.replace("\nFigures:", f"\nFigures in `{out}/`:", 1) + "\n", metrics


def pileup_section(
    title: str,
    test_jets: Path,
    pool: Path,
    models: dict[str, tuple[str, Path, dict[str, Any]]],
    mu_values: list[float],
    out: Path,
    common: dict[str, Any],
    draw: bool,
) -> tuple[str, dict[str, Any]]:
    """``models``: method → (task, run folder, prediction fields), each predicted at every μ of ``mu_values`` on the
    same jets and pileup (the seed is μ), then validated with every baseline."""
    from hepgen.validation.pileup import methods_table, validate_pileup

    files = []
    for mu in mu_values:
        where = {"jets": [str(test_jets)], "pileup": [str(pool)], "mu": float(mu), "seed": int(mu)}
        for method, (task, run, fields) in models.items():
            target = str(out / "predictions" / f"{method}_mu{mu:g}.root")
            files.append(predict_with(task, fields, run=str(run), out=target, **where, **common))
    metrics = validate_pileup(files, out, progress=common.get("progress", False), figures=draw)
    first = next(iter(metrics["per_mu"].values()))
    samples = ", ".join(f"{k} {v}" for k, v in first["samples_per_jet"].items())
    lines = [
        f"## {title} on `{test_jets}` with the held-out pool `{pool}` ({first['jets']} independent top jets; "
        f"posterior samples per jet: {samples})",
        "",
        "Relative residual of each observable, m/m_true − 1 etc.: bias (median) / resolution (IQR/1.349) ± bootstrap "
        "errors, on the test jets; every baseline tuned on the validation jets.",
    ]
    for key, entry in metrics["per_mu"].items():
        lines += ["", f"### μ = {key}", "", *methods_table(entry)]
    lines += ["", f"All eight observables, W1 distances, the calibration and figures: `{out}/summary.md`.", ""]
    return "\n".join(lines) + "\n", metrics
