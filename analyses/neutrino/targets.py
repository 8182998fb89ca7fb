"""The physics targets of issue 14, read from the validations `evaluate.sh` writes: one markdown table with every
target, the measured value with its statistical error, and whether it is met. Posteriors are judged by their
verdicts — against the statistical error of the events (issue 28), not the fixed ±0.03 of issue 14.

    .venv/bin/python analyses/neutrino/targets.py [--default analyses/neutrino/validation_default]
        [--degraded analyses/neutrino/validation_degraded] [--cms analyses/neutrino/validation_cms]
        [--method flow] [--mixture "flow (flow_mix)"]

``--method`` is the model the targets are judged on (its name in ``metrics.json``; the files of evaluate.sh are
``flow``, ``flow (flow_mt)``, ``flow (flow_mix)``); its best pz point estimate is the window mode (``_window``, the
half-width chosen on validation events, never on a test sample); the b-jet assignment is judged with its mode (the
most likely sample, as ν-Flows uses; it was the best of the three on validation events). ``--mixture`` is the model judged on the other
detector. Errors: bootstrap (resolutions), binomial (coverages, accuracies); a ratio's error is propagated from its
two errors as if independent (conservative: both are measured on the same events).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

from hepgen.validation.tables import calibration_target_row, target_row

HERE = Path(__file__).resolve().parent


def ratio(a: dict, b: dict) -> tuple[float, float]:
    r = a["resolution"] / b["resolution"]
    return r, r * math.hypot(a["resolution_err"] / a["resolution"], b["resolution_err"] / b["resolution"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", default=str(HERE / "validation_default"))
    parser.add_argument("--degraded", default=str(HERE / "validation_degraded"))
    parser.add_argument("--cms", default=str(HERE / "validation_cms"))
    parser.add_argument("--method", default="flow")
    parser.add_argument("--mixture", default="flow (flow_mix)")
    args = parser.parse_args()
    m = json.loads((Path(args.default) / "metrics.json").read_text())
    methods, name = m["methods"], args.method
    lines = [
        f"Default detector, {m['events']} events ({os.path.relpath(args.default)}); model `{name}`:",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    analytic = methods["analytic"]
    for estimate in (name, f"{name}_mode", f"{name}_window"):
        r, e = ratio(methods[estimate]["pz"], analytic["pz"])
        judged = estimate == f"{name}_window"
        lines.append(
            target_row(
                f"pz resolution {estimate} ≤ 0.85 × analytic" + ("" if judged else " (not the judged estimate)"),
                f"{methods[estimate]['pz']['resolution']:.1f} vs {analytic['pz']['resolution']:.1f} GeV: "
                f"{r:.3f} ± {e:.3f}",
                r <= 0.85 if judged else None,
            )
        )
    for c in ("px", "py"):
        r, e = ratio(methods[name][c], analytic[c])
        lines.append(
            target_row(
                f"{c} resolution ≤ 0.85 × MET",
                f"{methods[name][c]['resolution']:.1f} vs {analytic[c]['resolution']:.1f} GeV: {r:.3f} ± {e:.3f}",
                r <= 0.85,
            )
        )
    for c in ("pz", "px", "py"):  # judged against the statistical error of the events (the verdict), issue 28
        lines.append(calibration_target_row(c, methods[name][c]["calibration"]))
    assignment = m.get("assignment")
    if assignment:
        theirs = assignment["methods"]["analytic"]["chi2"]["4"]
        for estimate in (f"{name}_mode", name, f"{name}_window"):
            ours = assignment["methods"][estimate]["chi2"]["4"]
            diff = assignment["methods"][estimate].get("chi2_minus_analytic", {}).get("4")
            judged = estimate == f"{name}_mode"
            paired = f"; difference {diff['difference']:+.3f} ± {diff['error']:.3f} (paired)" if diff else ""
            lines.append(
                target_row(
                    f"b-jet assignment at 4 jets, χ² with {estimate}'s ν better than with the analytic ν (both "
                    "roots tried)" + ("" if judged else " (not the judged estimate)"),
                    f"{ours['accuracy']:.3f} ± {ours['error']:.3f} vs {theirs['accuracy']:.3f} ± "
                    f"{theirs['error']:.3f} ({assignment['events']['4']} events){paired}",
                    ours["accuracy"] > theirs["accuracy"] if judged else None,
                )
            )
        for model in (name, "flow (flow_mt)"):
            head = assignment["methods"].get(model, {}).get("head")
            if head:
                diff = assignment["methods"][model].get("head_minus_analytic", {}).get("4")
                paired = f"; difference {diff['difference']:+.3f} ± {diff['error']:.3f} (paired)" if diff else ""
                lines.append(
                    target_row(
                        f"b-jet assignment at 4 jets, learned head of `{model}` (no target)",
                        f"{head['4']['accuracy']:.3f} ± {head['4']['error']:.3f}{paired}",
                        None,
                    )
                )
    degraded = Path(args.degraded) / "metrics.json"
    if degraded.exists():
        d = json.loads(degraded.read_text())
        for model in dict.fromkeys((args.mixture, name)):
            if model in d["methods"]:
                cal = d["methods"][model]["pz"]["calibration"]
                if model == args.mixture:
                    lines.append(calibration_target_row(f"other detector ({d['events']} events), pz of `{model}`", cal))
                else:
                    lines.append(
                        target_row(
                            f"other detector ({d['events']} events), pz of `{model}` (for comparison)",
                            f"68 % coverage {cal['coverage_68']:.3f} ± {cal['coverage_68_error']:.3f}: {cal['verdict']}",
                            None,
                        )
                    )
    cms = Path(args.cms) / "metrics.json"
    if cms.exists():
        c = json.loads(cms.read_text())
        for model in dict.fromkeys((name, args.mixture)):
            if model in c["methods"]:
                cal = {k: c["methods"][model][k]["calibration"] for k in ("px", "py", "pz")}
                lines.append(
                    target_row(
                        f"CMS NanoAOD: 68 % coverage px / py / pz, `{model}` (no target)",
                        " / ".join(f"{cal[k]['coverage_68']:.2f} ± {cal[k]['coverage_68_error']:.2f}" for k in cal)
                        + f" ({c['events']} events)",
                        None,
                    )
                )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
