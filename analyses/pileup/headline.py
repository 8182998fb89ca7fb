"""The headline numbers of analyses/pileup/README.md from `hepgen validate pileup`'s metrics.json, and the verdict on
each physics target of the study, with the statistical errors that decide it.

    .venv/bin/python analyses/pileup/headline.py [analyses/pileup/validation/metrics.json] [heading, e.g. '####']

A method "wins" an observable when its resolution is below the other's by more than twice the error of the difference
(a paired bootstrap over the same test jets; metrics without it: the two bootstrap errors in quadrature); closer than
that is "within noise". VIPR's point estimate is the posterior
median of its samples (method ``vipr``); ``*_samples`` rows are the samples themselves and are not point estimates.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

VIPR = "vipr"
NOT_BASELINES = ("vipr", "truth")  # every method whose name starts with these is a VIPR variant, not a baseline
SUBSTRUCTURE = ("tau21", "tau32", "d2")
BIAS_LIMIT = 0.03
#: The targets of the study at scale (issue 27): VIPR ahead of every baseline by ≥ 3σ paired, |mass bias| ≤ 2 %, its
#: substructure resolutions ahead of the stronger PUPPI (the CMSSW tune or the one tuned on validation jets).
STUDY_SIGMA = 3.0
STUDY_BIAS_LIMIT = 0.02
STUDY_SUBSTRUCTURE_AGAINST = ("puppi", "puppi_tuned")
#: The observables of the study's posterior (issue 27 item 5), each with its calibration verdict.
STUDY_OBSERVABLES = ("mass", "pt", "tau21", "tau32", "d2", "sqrt_d12", "sqrt_d23", "n_constituents")
#: The truth-label bound of every keep/drop method (hepgen.validation.pileup.tune.truth_keep): a row, not a baseline.
BOUND = "truth_keep"


def _point_estimates(entry: dict) -> list[str]:
    return [m for m in entry["methods"] if not m.endswith("_samples")]


def _baselines(entry: dict) -> list[str]:
    return [m for m in _point_estimates(entry) if not m.startswith(NOT_BASELINES)]


def _fmt(e: dict, key: str, signed: bool = False) -> str:
    value, error = e[key], e.get(f"{key}_err", float("nan"))
    return (f"{value:+.3f}" if signed else f"{value:.3f}") + (f" ± {error:.3f}" if math.isfinite(error) else "")


def _compare(entry: dict, observable: str, a: str, b: str) -> tuple[float, float]:
    """Resolution of method ``a`` minus ``b``'s and its error: the paired bootstrap over the same jets where the
    validation computed it (``paired_differences``), else the two bootstrap errors in quadrature (older metrics)."""
    paired = entry.get("paired_differences", {}).get(observable, {}).get(a, {}).get(b)
    if paired is not None:
        return paired["difference"], paired["error"]
    x, y = entry["methods"][a][observable], entry["methods"][b][observable]
    return x["resolution"] - y["resolution"], math.hypot(x.get("resolution_err", 0.0), y.get("resolution_err", 0.0))


def _verdict(diff: float, error: float, threshold: float = 2.0, learned: str = "VIPR") -> str:
    """Better where the difference (``learned`` minus the baseline) exceeds ``threshold`` times its error, else within
    noise."""
    sigma = f"{abs(diff) / error:.1f}σ" if error > 0 else "no error"
    if diff < -threshold * error:
        return f"{learned} better, {sigma}"
    if diff > threshold * error:
        return f"baseline better, {sigma}"
    return f"within noise: {learned if diff < 0 else 'baseline'} ahead by {sigma}"


def _label(learned: str) -> str:
    return "VIPR" if learned == VIPR else learned


def _learned(per_mu: dict) -> list[str]:
    """The study's VIPR first, then every other VIPR variant (``vipr_*`` point estimates) of any point."""
    others = {m for e in per_mu.values() for m in _point_estimates(e) if m.startswith(f"{VIPR}_")}
    return [VIPR, *sorted(others)]


def _ordered_points(per_mu: dict) -> dict:
    """The points by μ, each before its lossy variant."""
    return dict(sorted(per_mu.items(), key=lambda kv: (float(kv[0].split(",")[0]), kv[0])))


def mass_table(per_mu: dict) -> list[str]:
    methods = sorted({m for e in per_mu.values() for m in _point_estimates(e)}, key=lambda m: (m.startswith("vipr"), m))
    keys = list(per_mu)
    lines = ["| method | " + " | ".join(f"μ = {k}" for k in keys) + " |", "|---|" + "---|" * len(keys)]
    for m in methods:
        cells = [
            f"{_fmt(per_mu[k]['methods'][m]['mass'], 'bias', True)} / {_fmt(per_mu[k]['methods'][m]['mass'], 'resolution')}"
            if m in per_mu[k]["methods"]
            else "–"
            for k in keys
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def substructure_table(entry: dict, observables: tuple[str, ...] = SUBSTRUCTURE) -> list[str]:
    lines = [
        "| method | " + " | ".join(f"{o} bias / resolution" for o in observables) + " |",
        "|---|" + "---|" * len(observables),
    ]
    for m in sorted(_point_estimates(entry), key=lambda m: (m.startswith("vipr"), m)):
        cells = [
            f"{_fmt(entry['methods'][m][o], 'bias', True)} / {_fmt(entry['methods'][m][o], 'resolution')}"
            for o in observables
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def calibration_lines(
    per_mu: dict, observables: tuple[str, ...] = ("mass", *SUBSTRUCTURE), learned: str = VIPR
) -> list[str]:
    lines = ["| point | observable | 68 % coverage | 95 % coverage | verdict |", "|---|---|---|---|---|"]
    for key, entry in per_mu.items():
        for name in observables:
            c = entry["calibration"].get(f"{learned}_samples", entry["calibration"].get(learned, {})).get(name)
            if c:
                lines.append(
                    f"| μ = {key} | {name} | {c['coverage_68']:.3f} ± {c['coverage_68_error']:.3f} | "
                    f"{c['coverage_95']:.3f} ± {c['coverage_95_error']:.3f} | {c['verdict']} |"
                )
    return lines


def targets(
    per_mu: dict,
    threshold: float = 2.0,
    bias_limit: float = BIAS_LIMIT,
    substructure_against: tuple[str, ...] | None = None,
    learned: str = VIPR,
    substructure_points: tuple[str, ...] = ("60",),
) -> list[str]:
    """The verdict on each target: VIPR's jet mass against the best baseline (better by more than ``threshold``
    paired errors), its bias within ``bias_limit``, its calibration; its substructure at ``substructure_points``
    against the best of ``substructure_against`` (default: every baseline); with losses, against the classifier and
    the truth-label bound. ``learned``: the VIPR variant judged (default the study's VIPR)."""
    label = _label(learned)
    lines = []
    for key in ("60", "200"):
        entry = per_mu.get(key)
        if entry is None or learned not in entry["methods"]:
            lines.append(f"- μ = {key}: not evaluated")
            continue
        vipr = entry["methods"][learned]["mass"]
        best = min(_baselines(entry), key=lambda m: entry["methods"][m]["mass"]["resolution"])
        diff, error = _compare(entry, "mass", learned, best)
        ok_bias = abs(vipr["bias"]) <= bias_limit
        lines.append(
            f"- μ = {key}, mass: {label} {_fmt(vipr, 'resolution')} vs best baseline {best} "
            f"{_fmt(entry['methods'][best]['mass'], 'resolution')} (difference {diff:+.3f} ± {error:.3f}: "
            f"{_verdict(diff, error, threshold, label)}); {label} bias {_fmt(vipr, 'bias', True)} "
            f"({'within' if ok_bias else 'outside'} ±{bias_limit:.0%})"
        )
        cal = entry["calibration"].get(f"{learned}_samples", entry["calibration"].get(learned, {})).get("mass")
        if cal:  # the verdict of the validation, which judges the coverage against its statistical error
            lines.append(
                f"- μ = {key}, mass 68 % coverage {cal['coverage_68']:.3f} ± {cal['coverage_68_error']:.3f} "
                f"(verdict: {cal['verdict']})"
            )
    for key in substructure_points:
        entry = per_mu.get(key)
        if entry is None or learned not in entry["methods"]:
            continue
        for name in SUBSTRUCTURE:
            vipr = entry["methods"][learned][name]
            against = [m for m in _baselines(entry) if substructure_against is None or m in substructure_against]
            best = min(against, key=lambda m: entry["methods"][m][name]["resolution"])
            diff, error = _compare(entry, name, learned, best)
            lines.append(
                f"- μ = {key}, {name}: {label} {_fmt(vipr, 'resolution')} vs best baseline {best} "
                f"{_fmt(entry['methods'][best][name], 'resolution')} ({_verdict(diff, error, threshold, label)})"
            )
    for lost in (k for k in per_mu if "lost" in k):  # imperfect detection: lost constituents, a degraded tracker
        if "puppiml" not in per_mu[lost]["methods"] or learned not in per_mu[lost]["methods"]:
            continue
        vipr, classifier = per_mu[lost]["methods"][learned]["mass"], per_mu[lost]["methods"]["puppiml"]["mass"]
        diff, error = _compare(per_mu[lost], "mass", learned, "puppiml")
        lines.append(
            f"- μ = {lost}, mass: {label} {_fmt(vipr, 'bias', True)} / {_fmt(vipr, 'resolution')} vs puppiml "
            f"{_fmt(classifier, 'bias', True)} / {_fmt(classifier, 'resolution')} ({_verdict(diff, error, threshold, label)})"
        )
        if BOUND in per_mu[lost]["methods"]:  # below the bound of keep/drop: only by regenerating what was lost
            diff, error = _compare(per_mu[lost], "mass", learned, BOUND)
            bound = per_mu[lost]["methods"][BOUND]["mass"]
            lines.append(
                f"- μ = {lost}, mass: {label} against the truth-label bound of keep/drop methods ({BOUND}, "
                f"{_fmt(bound, 'resolution')}): {diff:+.3f} ± {error:.3f} ({_verdict(diff, error, threshold, label).replace('baseline', BOUND)})"
            )
    return lines


def report(path: str | Path, heading: str = "###", study: bool = False) -> str:
    """The tables and target verdicts of one ``metrics.json`` as markdown, with sections at ``heading`` level (the
    README embeds them at ``####``; ``tests/integration/test_readme_numbers.py`` checks that it does, verbatim);
    ``study``: the targets of the study at scale (``STUDY_*``) instead of the earlier studies' 2σ and 3 %."""
    metrics = json.loads(Path(path).read_text())
    per_mu = _ordered_points(metrics["per_mu"])
    first = next(iter(per_mu.values()))
    parts = [
        f"{first['test_jets']} test jets per point ({first['validation_jets']} validation jets tune the baselines); "
        f"VIPR samples per jet: {first['samples_per_jet']}",
        f"{heading} Jet mass: bias / resolution of m/m_true − 1",
        "\n".join(mass_table(per_mu)),
    ]
    for key in per_mu if study else ["60"] if "60" in per_mu else []:  # the study: pT and substructure at every μ
        parts += [
            f"{heading} {'pT and s' if study else 'S'}ubstructure at μ = {key}: bias / resolution of x/x_true − 1"
        ]
        parts += ["\n".join(substructure_table(per_mu[key], ("pt", *SUBSTRUCTURE) if study else SUBSTRUCTURE))]
    calibrated = STUDY_OBSERVABLES if study else ("mass", *SUBSTRUCTURE)
    criteria = (STUDY_SIGMA, STUDY_BIAS_LIMIT, STUDY_SUBSTRUCTURE_AGAINST) if study else ()
    points = {"substructure_points": ("60", "200")} if study else {}  # the study: τ21, τ32, D2 at both of its μ
    judged = _learned(per_mu) if study else [VIPR]  # the study: each VIPR variant (edm/fm, the hard fractions) too
    for learned in judged:
        parts += [
            f"{heading} Calibration of {_label(learned)} (exact estimator)",
            "\n".join(calibration_lines(per_mu, calibrated, learned)),
        ]
    for learned in judged:
        title = "Targets" if learned == VIPR else f"Targets of {learned}"
        parts += [f"{heading} {title}", "\n".join(targets(per_mu, *criteria, learned=learned, **points))]
    return "\n\n".join(parts)


def spread_table(paths: list[str | Path], methods: tuple[str, ...] = (VIPR, "puppiml")) -> str:
    """The seed spread of the learned methods: per point and observable (mass at every μ, the substructure at μ = 60)
    the resolution of each seed's model on the same jets, their mean and standard deviation (n − 1) over seeds."""
    runs = [_ordered_points(json.loads(Path(p).read_text())["per_mu"]) for p in paths]
    columns = [(mu, "mass") for mu in runs[0]] + [("60", name) for name in SUBSTRUCTURE if "60" in runs[0]]
    lines = [
        "| method | " + " | ".join(f"{name} at μ = {mu}" for mu, name in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for method in methods:
        cells = []
        for mu, name in columns:
            values = [run[mu]["methods"][method][name]["resolution"] for run in runs if method in run[mu]["methods"]]
            if len(values) < 2:
                cells.append("–")
                continue
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            cells.append(f"{mean:.3f} ± {std:.3f} ({' / '.join(f'{v:.3f}' for v in values)})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    jets = next(iter(runs[0].values()))["test_jets"]
    return (
        f"Resolution over {len(runs)} training seeds, each on the same {jets} test jets: mean ± standard deviation "
        "over seeds (each seed's value)\n\n" + "\n".join(lines)
    )


def paired_lines(path: str | Path, learned: str, others: list[str]) -> list[str]:
    """One line per point: the jet-mass bias / resolution of the learned method and of each other method, and the
    paired resolution difference of each (learned minus other) with its error and significance — a design read in
    the README's words."""
    lines = []
    for key, entry in _ordered_points(json.loads(Path(path).read_text())["per_mu"]).items():
        methods = entry["methods"]

        def mass(method):
            return f"{methods[method]['mass']['bias']:+.3f} / {methods[method]['mass']['resolution']:.3f}"

        parts = []
        for other in others:
            diff, error = _compare(entry, "mass", learned, other)
            parts.append(f"{other} {mass(other)}, difference {diff:+.4f} ± {error:.4f} ({abs(diff) / error:.1f}σ)")
        lines.append(
            f"- μ = {key} ({entry['test_jets']} jets), mass bias / resolution: {learned} {mass(learned)} against "
            + "; ".join(parts)
        )
    return lines


def summary(paths: dict[str, str | Path], others: tuple[str, ...] = ("puppiml", "puppi_tuned")) -> str:
    """The study in a few lines for the quickstart and the root README: per jet type (``paths``: type → metrics.json),
    point and VIPR variant (the study's VIPR, then the hard-fraction posterior and the others where validated), the
    jet-mass bias / resolution of the variant and of each of ``others``, and its paired difference to each with the
    verdict at the study's 3σ."""
    lines = []
    for kind, path in paths.items():
        per_mu = _ordered_points(json.loads(Path(path).read_text())["per_mu"])
        for learned in _learned(per_mu):
            for key, entry in per_mu.items():
                methods = entry["methods"]
                if learned not in methods:
                    continue

                def mass(method, methods=methods):
                    return f"{methods[method]['mass']['bias']:+.3f} / {methods[method]['mass']['resolution']:.3f}"

                label = _label(learned)
                parts = [f"{label} {mass(learned)}"]
                for other in (o for o in others if o in methods):
                    verdict = _verdict(*_compare(entry, "mass", learned, other), STUDY_SIGMA, label)
                    parts.append(f"{other} {mass(other)} ({verdict})")
                lines.append(
                    f"- {kind}, μ = {key} ({entry['test_jets']} test jets), mass bias / resolution: " + ", ".join(parts)
                )
    return "\n".join(lines)


#: The rows of the μ scan's table: the study's VIPR, the hard-fraction posterior, the classifier and the baselines.
SCAN_METHODS = ("vipr", "vipr_fractions", "puppiml", "puppiml_weighted", "puppi_tuned", "chs_softkiller", BOUND)


def scan_table(columns: dict[str, str], observable: str = "mass") -> str:
    """The resolution of ``observable`` against μ, one table per jet type (``columns``: type → comma-separated
    metrics.json of the study's points and of its μ scan), a row per method of :data:`SCAN_METHODS` validated there,
    and the paired difference of VIPR and the classifier at each μ with its significance."""
    tables = []
    for kind, paths in columns.items():
        per_mu: dict = {}
        for path in paths.split(","):
            per_mu |= json.loads(Path(path).read_text())["per_mu"]
        points = {k: per_mu[k] for k in sorted((k for k in per_mu if "lost" not in k), key=float)}
        header = [f"μ = {k} ({e['test_jets']} jets)" for k, e in points.items()]
        lines = [f"{kind}: resolution of {observable}", "", "| method | " + " | ".join(header) + " |"]
        lines.append("|---|" + "---|" * len(points))
        for method in SCAN_METHODS:
            if any(method in e["methods"] for e in points.values()):
                cells = [
                    _fmt(e["methods"][method][observable], "resolution") if method in e["methods"] else "–"
                    for e in points.values()
                ]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
        cells = []
        for entry in points.values():
            diff, error = _compare(entry, observable, VIPR, "puppiml")
            cells.append(f"{diff:+.3f} ± {error:.3f} ({abs(diff) / error:.1f}σ)")
        lines.append("| vipr − puppiml, paired | " + " | ".join(cells) + " |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


#: Where the study's numbers come from, said wherever they are quoted (the quickstart, the root README).
STUDY_PROVENANCE = (
    "The pileup study at scale (`analyses/pileup/README.md`): Pythia 8 jets behind the CMS-like detector (Delphes CMS "
    "card), jets reclustered, pileup from the held-out test pool; VIPR and the classifier trained on top jets only; "
    "every baseline tuned and every sampling chosen on validation top jets; each difference paired over the same test "
    f"jets, a verdict at {STUDY_SIGMA:g}σ."
)


def study_summary(paths: dict[str, str | Path]) -> str:
    """:data:`STUDY_PROVENANCE`, then :func:`summary` of ``paths`` (type → metrics.json): the study's summary file."""
    return f"{STUDY_PROVENANCE}\n\n{summary(paths)}"


def main(path: str = "analyses/pileup/validation/metrics.json", heading: str = "###", *more: str) -> None:
    """``headline.py METRICS [HEADING]``: the report of one validation; ``headline.py spread M1 M2 M3 ...``: the seed
    spread of several (one per seed); ``headline.py paired METRICS LEARNED OTHER [OTHER ...]``: a design read;
    ``headline.py study METRICS [HEADING]``: the report with the targets of the study at scale; ``headline.py summary
    top=METRICS w=METRICS qcd=METRICS``: the study in a few lines with their provenance (the root README's, and
    the quickstart's: ``> analyses/pileup/validation_study/summary.md``, ``hepgen.quickstart.PILEUP_STUDY``);
    ``headline.py scan top=M1,M2 w=... qcd=...``: the jet-mass resolution against μ (the study's points and its
    scan)."""
    if path == "summary":  # headline.py summary top=M1 w=M2 qcd=M3
        print(study_summary(dict(arg.split("=", 1) for arg in (heading, *more))))
        return
    if path == "scan":  # headline.py scan top=M1,M2 w=... qcd=...
        print(scan_table(dict(arg.split("=", 1) for arg in (heading, *more))))
        return
    if path == "study":
        print(report(heading, *(more or ("###",)), study=True))
        return
    if path == "spread":
        print(spread_table([heading, *more]))
        return
    if path == "paired":
        print("\n".join(paired_lines(heading, more[0], list(more[1:]))))
        return
    print(report(path, heading))


if __name__ == "__main__":
    main(*sys.argv[1:])
