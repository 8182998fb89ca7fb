"""The physics targets of issue 15, read from the validation `evaluate.sh` writes: one markdown table with every
target, the measured value with its statistical error, and whether it is met.

    .venv/bin/python analyses/dineutrino/targets.py [--validation analyses/dineutrino/validation] [--method flow]

Errors: bootstrap over events (resolutions), binomial (answered fractions, coverages). The flow's m(tt̄) is compared
with each classical method on the events that method answers (the flow answers them all); the two resolutions are
measured on the same events, so their difference has its own, paired bootstrap error (the same resampled events for
both), smaller than the errors combined.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINES = ("weighting", "ellipse")
#: The 68 % coverage target and its tolerance.
COVERAGE, TOLERANCE = 0.683, 0.05


def row(target: str, value: str, met: bool | None) -> str:
    return f"| {target} | {value} | {'—' if met is None else ('met' if met else '**not met**')} |"


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
    lines.append(row("the flow answers 100 % of events", f"{ours['answered']:.4f}", ours["answered"] == 1.0))
    for baseline in BASELINES:
        if baseline not in methods:
            continue
        b = methods[baseline]
        lines.append(
            row(
                f"{baseline}: fraction of events answered (no target)",
                f"{b['answered']:.3f} ± {b['answered_error']:.3f}",
                None,
            )
        )
        f, c = ours[f"{baseline}_events"]["m_ttbar"], b[f"{baseline}_events"]["m_ttbar"]
        d = ours[f"{baseline}_events"][f"resolution_minus_{baseline}"]["m_ttbar"]
        lines.append(
            row(
                f"m(tt̄) relative resolution better than {baseline}'s on its {b[f'{baseline}_events']['events']} events",
                f"{f['resolution']:.4f} ± {f['resolution_err']:.4f} vs {c['resolution']:.4f} ± {c['resolution_err']:.4f}; "
                f"paired difference {d['difference']:+.4f} ± {d['error']:.4f}",
                d["difference"] < 0,
            )
        )
    calibration = ours["calibration"]
    for quantity in ("m_ttbar", "nu_pz", "nubar_pz"):
        c = calibration[quantity]
        lines.append(
            row(
                f"68 % coverage of {quantity} 0.68 ± {TOLERANCE:.2f}",
                f"{c['coverage_68']:.3f} ± {c['coverage_68_error']:.3f}",
                abs(c["coverage_68"] - COVERAGE) <= TOLERANCE,
            )
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
