"""The physics targets of the dilepton study (issues 15 and 28), read from the validation `evaluate.sh` writes: one
markdown table with every target, the measured value with its statistical error, and whether it is met.

    .venv/bin/python analyses/dineutrino/targets.py [--validation analyses/dineutrino/validation] [--method flow]

Errors: bootstrap over events (resolutions), binomial (answered fractions, coverages). The flow's m(tt̄) is compared
with each classical method on the events that method answers; the two resolutions are measured on the same events,
so their difference has its own, paired bootstrap error (the same resampled events for both). A comparison is met
when the flow is better by more than twice that error. Every method's answered fraction is reported, never a
target: the flow's posterior exists for every event by construction. A posterior is "calibrated" when its verdict
says so: the Kolmogorov–Smirnov distance of the truth quantiles from uniform within its 95 % critical value
1.36/√n (n events) — judged against its statistical error, not a fixed tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from hepgen.validation.tables import calibration_target_row, target_row

HERE = Path(__file__).resolve().parent
BASELINES = ("kinreco", "weighting", "ellipse")
#: The flow's quantities whose calibration is a target.
CALIBRATED = ("m_ttbar", "nu_px", "nu_py", "nu_pz", "nubar_px", "nubar_py", "nubar_pz")


def comparison(ours: dict, baseline: str, methods: dict) -> str:
    """The flow's m(tt̄) resolution against ``baseline``'s on the events it answers, paired."""
    b = methods[baseline]
    f, c = ours[f"{baseline}_events"]["m_ttbar"], b[f"{baseline}_events"]["m_ttbar"]
    d = ours[f"{baseline}_events"][f"resolution_minus_{baseline}"]["m_ttbar"]
    sigma = abs(d["difference"]) / d["error"] if d["error"] > 0 else math.inf
    return target_row(
        f"m(tt̄) resolution better than {baseline}'s on its {b[f'{baseline}_events']['events']} events (paired, > 2σ)",
        f"{f['resolution']:.4f} ± {f['resolution_err']:.4f} vs {c['resolution']:.4f} ± {c['resolution_err']:.4f}; "
        f"difference {d['difference']:+.4f} ± {d['error']:.4f} ({sigma:.1f}σ)",
        d["difference"] < -2 * d["error"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", default=str(HERE / "validation"))
    parser.add_argument("--method", default="flow")
    args = parser.parse_args()
    m = json.loads((Path(args.validation) / "metrics.json").read_text())
    methods, name = m["methods"], args.method
    where = Path(args.validation).resolve()
    where = where.relative_to(HERE.parents[1]) if where.is_relative_to(HERE.parents[1]) else where
    lines = [f"{m['events']} test events ({where}); model `{name}`:", "", "| target | measured | |", "|---|---|---|"]
    ours = methods[name]
    for method, entry in methods.items():
        lines.append(
            target_row(
                f"{method}: fraction of events answered (no target)",
                f"{entry['answered']:.3f} ± {entry['answered_error']:.3f}",
                None,
            )
        )
    for baseline in (b for b in BASELINES if b in methods and f"{b}_events" in ours):
        lines.append(comparison(ours, baseline, methods))
    for quantity in (q for q in CALIBRATED if q in ours.get("calibration", {})):
        lines.append(calibration_target_row(quantity, ours["calibration"][quantity]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
