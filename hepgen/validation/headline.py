"""The answer first: per validation, our method against its strongest baseline on the same events.

A headline is read from a validation's ``metrics.json`` alone (any folder of ``hepgen validate``; the kind is told
by the keys each validation writes, :func:`validation_kind`):

* **neutrino** — the pz resolution (GeV) of the first flow (``flow`` if present), judged by its window-mode point
  estimate where the validation has one (the estimate analyses/neutrino judges; its half-width chosen on validation
  events), against every method that is not a flow;
* **dineutrino** — the relative m(tt̄) resolution of the flow against each classical method on the events that
  method answers (they differ per method, so each comparison has its own events);
* **pileup** — per μ, the relative jet-mass resolution of VIPR's posterior median against every other point
  estimate (the classifier included).

The strongest baseline is the one our method beats by the least (the largest paired difference ours − theirs): the
most conservative comparison. A difference is called a win or a loss at :data:`SIGNIFICANT` standard deviations of
its paired error, "no significant difference" below. The calibration verdict is that of our method's posterior of the
same quantity (:mod:`hepgen.validation.calibration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepgen.validation.tables import value_with_error

__all__ = [
    "SIGNIFICANT",
    "Headline",
    "validation_kind",
    "headlines",
    "headline_table",
    "headline_sentence",
    "calibration_verdicts",
    "calibration_sentences",
]

#: |difference| / paired error from which a difference is a win or a loss (≈ 95 % two-sided for a Gaussian error).
SIGNIFICANT = 2.0


@dataclass(frozen=True)
class Headline:
    """One comparison: our method's figure of merit and the strongest baseline's, with the paired difference.

    Resolutions and errors are in ``unit`` (``""``: relative, e.g. m/m_true − 1); ``events`` are those the paired
    difference is taken on; ``calibration`` is our posterior's verdict (``""`` where there is none)."""

    task: str
    quantity: str
    unit: str
    method: str
    value: float
    error: float
    baseline: str
    baseline_value: float
    baseline_error: float
    difference: float
    difference_error: float
    events: int
    calibration: str = ""
    note: str = ""

    @property
    def significance(self) -> float:
        """The paired difference in units of its error (NaN without an error)."""
        return self.difference / self.difference_error if self.difference_error > 0 else float("nan")

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` (smaller resolution is better) or ``no significant difference``."""
        if not np.isfinite(self.significance) or abs(self.significance) < SIGNIFICANT:
            return "no significant difference"
        return "better" if self.difference < 0 else "worse"


def validation_kind(metrics: Mapping[str, Any]) -> str | None:
    """``neutrino``, ``dineutrino`` or ``pileup`` from the keys each validation writes; None for anything else
    (e.g. the quickstart's own ``metrics.json``, whose sections are validation folders of their own)."""
    if "per_mu" in metrics:
        return "pileup"
    if "events_all_answer" in metrics:
        return "dineutrino"
    if "w_mass" in metrics and "methods" in metrics:
        return "neutrino"
    return None


def headlines(metrics: Mapping[str, Any]) -> list[Headline]:
    """The headline rows of one validation's metrics (empty when it has no learned method or no baseline)."""
    kind = validation_kind(metrics)
    if kind is None:
        return []
    return {"neutrino": _neutrino, "dineutrino": _dineutrino, "pileup": _pileup}[kind](metrics)


def _row(
    task: str,
    quantity: str,
    unit: str,
    ours: tuple[str, Mapping[str, float]],
    baseline: tuple[str, Mapping[str, float]],
    paired: Mapping[str, float],
    calibration: str,
    note: str = "",
) -> Headline:
    """A headline from (name, bias-and-resolution entry) of ours and of the baseline and their paired difference."""
    return Headline(
        task=task,
        quantity=quantity,
        unit=unit,
        method=ours[0],
        value=ours[1]["resolution"],
        error=ours[1]["resolution_err"],
        baseline=baseline[0],
        baseline_value=baseline[1]["resolution"],
        baseline_error=baseline[1]["resolution_err"],
        difference=paired["difference"],
        difference_error=paired["error"],
        events=int(paired["events"]),
        calibration=calibration,
        note=note,
    )


def _strongest(paired: Mapping[str, Mapping[str, float]], baselines: Iterable[str]) -> str | None:
    """The baseline with the largest paired difference ours − theirs (the one we beat by the least)."""
    usable = [b for b in baselines if b in paired and np.isfinite(paired[b]["difference"])]
    return max(usable, key=lambda b: paired[b]["difference"]) if usable else None


def _neutrino(metrics: Mapping[str, Any]) -> list[Headline]:
    methods = metrics["methods"]
    flows = [m for m, e in methods.items() if e["probabilistic"] and e["estimate"] == "median" and m.startswith("flow")]
    if not flows or "paired_differences" not in metrics:
        return []
    ours = "flow" if "flow" in flows else flows[0]
    estimate = f"{ours}_window" if f"{ours}_window" in methods else ours
    baselines = [m for m, e in methods.items() if e["estimate"] in ("point", "median") and not m.startswith("flow")]
    paired = metrics["paired_differences"]["pz"].get(estimate, {})
    best = _strongest(paired, baselines)
    if best is None:
        return []
    mine, theirs, d = methods[estimate]["pz"], methods[best]["pz"], paired[best]
    calibration = methods[ours]["pz"].get("calibration", {}).get("verdict", "")
    label = f"{ours} (window mode)" if estimate != ours else f"{ours} (median)"
    return [_row("neutrino (ℓ+jets)", "ν pz resolution", "GeV", (label, mine), (best, theirs), d, calibration)]


def _dineutrino(metrics: Mapping[str, Any]) -> list[Headline]:
    methods = metrics["methods"]
    flows = [m for m in methods if m.startswith("flow")]
    classical = [m for m in methods if not m.startswith("flow")]
    if not flows or not classical:
        return []
    ours = "flow" if "flow" in flows else flows[0]
    entry = methods[ours]
    paired = {b: entry[f"{b}_events"][f"resolution_minus_{b}"]["m_ttbar"] for b in classical if f"{b}_events" in entry}
    best = _strongest(paired, classical)
    if best is None:
        return []
    mine, theirs = entry[f"{best}_events"]["m_ttbar"], methods[best]["answered_events"]["m_ttbar"]
    d = paired[best]
    calibration = entry.get("calibration", {}).get("m_ttbar", {}).get("verdict", "")
    note = f"on the {methods[best]['answered']:.0%} of events {best} answers"
    return [_row("dilepton tt̄", "m(tt̄) resolution", "", (ours, mine), (best, theirs), d, calibration, note)]


def _pileup(metrics: Mapping[str, Any]) -> list[Headline]:
    rows = []
    for entry in sorted(metrics["per_mu"].values(), key=lambda e: (e["mu"], str(e.get("inefficiency", 0.0)))):
        paired = entry.get("paired_differences", {}).get("mass", {}).get("vipr")
        if not paired:
            continue
        methods = entry["methods"]
        best = _strongest(paired, [m for m in paired if not m.startswith("vipr")])
        if best is None:
            continue
        mine, theirs, d = methods["vipr"]["mass"], methods[best]["mass"], paired[best]
        calibration = entry.get("calibration", {}).get("vipr", {}).get("mass", {}).get("verdict", "")
        lost = entry.get("inefficiency", 0.0)
        task = f"pileup removal, μ = {entry['mu']:g}" + (f", {lost:.0%} of particles lost" if lost else "")
        rows.append(_row(task, "jet-mass resolution", "", ("VIPR (median)", mine), (best, theirs), d, calibration))
    return rows


def _digits(row: Headline) -> str:
    return ".1f" if row.unit else ".3f"


def _sigma(row: Headline) -> str:
    return f"{abs(row.significance):.1f}σ" if np.isfinite(row.significance) else "no error"


def headline_table(rows: Iterable[Headline]) -> list[str]:
    """Markdown rows: task, quantity, ours, the strongest baseline, the paired difference, verdict, calibration."""
    lines = [
        "| task | quantity | our method | value | strongest baseline | value | difference (paired) | verdict "
        "| calibration |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        k, unit = _digits(r), f" [{r.unit}]" if r.unit else " (relative)"
        lines.append(
            f"| {r.task} | {r.quantity}{unit} | {r.method} | {value_with_error(r.value, r.error, digits=k)} | "
            f"{r.baseline}{f' ({r.note})' if r.note else ''} | "
            f"{value_with_error(r.baseline_value, r.baseline_error, digits=k)} | "
            f"{value_with_error(r.difference, r.difference_error, digits=k, signed=True)} ({r.events} events) | "
            f"{r.verdict} ({_sigma(r)}) | {r.calibration or '—'} |"
        )
    return lines


def headline_sentence(row: Headline) -> str:
    """The row in words, e.g. "ν pz resolution: flow (window mode) 42.0 ± 0.8 GeV against analytic 50.6 ± 0.9 GeV:
    better by 8.6 ± 0.5 GeV on the same 5000 events (17.2σ); its posterior: calibrated."."""
    k, unit = _digits(row), f" {row.unit}" if row.unit else ""
    ours = value_with_error(row.value, row.error, digits=k)
    theirs = value_with_error(row.baseline_value, row.baseline_error, digits=k)
    size = value_with_error(abs(row.difference), row.difference_error, digits=k)
    where = f"the same {row.events} events" + (f", {row.note}" if row.note else "")
    if row.verdict == "no significant difference":
        judged = f"no significant difference ({row.difference:+{k}}{unit}, {_sigma(row)}) on {where}"
    else:
        judged = f"{row.verdict} by {size}{unit} on {where} ({_sigma(row)})"
    calibration = f"; its posterior: {row.calibration}" if row.calibration else ""
    return f"{row.quantity}: {row.method} {ours}{unit} against {row.baseline} {theirs}{unit}: {judged}{calibration}."


def calibration_verdicts(metrics: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Every posterior's calibration in a validation: (whose — the method, and μ for pileup —, quantity, entry)."""
    kind = validation_kind(metrics)
    rows: list[tuple[str, str, Mapping[str, Any]]] = []
    if kind == "neutrino":
        for method, entry in metrics["methods"].items():
            if entry["probabilistic"] and entry["estimate"] == "median":
                rows += [(method, c, entry[c]["calibration"]) for c in ("px", "py", "pz") if "calibration" in entry[c]]
    elif kind == "dineutrino":
        for method, entry in metrics["methods"].items():
            rows += [(method, quantity, c) for quantity, c in entry.get("calibration", {}).items()]
    elif kind == "pileup":
        for entry in sorted(metrics["per_mu"].values(), key=lambda e: (e["mu"], str(e.get("inefficiency", 0.0)))):
            lost = entry.get("inefficiency", 0.0)
            where = f"μ = {entry['mu']:g}" + (f", {lost:.0%} lost" if lost else "")
            for method, per_observable in entry.get("calibration", {}).items():
                rows += [(f"{method}, {where}", name, c) for name, c in per_observable.items()]
    return rows


def calibration_sentences(metrics: Mapping[str, Any]) -> list[str]:
    """The verdicts in words, one sentence per posterior: "flow: px calibrated, py calibrated, pz over-confident
    (68 % coverage 0.651 ± 0.007)." — the coverage given where the verdict is not "calibrated"."""
    grouped: dict[str, list[str]] = {}
    for whose, quantity, c in calibration_verdicts(metrics):
        text = f"{quantity} {c['verdict']}"
        if c["verdict"] != "calibrated" and "coverage_68" in c:
            text += f" (68 % coverage {value_with_error(c['coverage_68'], c['coverage_68_error'])})"
        grouped.setdefault(whose, []).append(text)
    return [f"{whose}: {', '.join(parts)}." for whose, parts in grouped.items()]
