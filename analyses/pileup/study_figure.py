"""The study's figure: bias and resolution of an observable against μ for every method, with the bootstrap error as
a band, one column per validation (jet type, or world); a column may join several validations of other μ
(comma-separated: the study's points and its μ scan).

    .venv/bin/python analyses/pileup/study_figure.py --out analyses/pileup/validation_study/mass_vs_mu \\
        top=analyses/pileup/validation_study/top/metrics.json,analyses/pileup/validation_study/scan_top/metrics.json \\
        w=.../w/metrics.json qcd=.../qcd/metrics.json
    .venv/bin/python analyses/pileup/study_figure.py --observable tau32 --out /tmp/tau32 \\
        "detector level=analyses/pileup/validation_cms/metrics.json"

Points with an inefficiency ("60, 10% lost") are left out (they are not a μ scan); methods are the point estimates
(``*_samples`` rows are not), the learned ones drawn solid, the classical ones dashed, the truth-label bound of every
keep/drop method (``truth_keep``, where the validation has it) dotted black. The bias axis is linear within ±5 % (the
study's ±2 % target shaded) and logarithmic beyond, the resolution axis logarithmic: the methods span two orders of
magnitude.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from hepgen.physics.substructure import OBSERVABLE_LABELS
from hepgen.plotting.style import label_figure, save_figure, use_style
from hepgen.validation.pileup.tune import TRUTH_BOUND

LEARNED = ("vipr", "puppiml")
BOUND = TRUTH_BOUND
BIAS_LINEAR = 0.05  # the bias axis is linear within ±5 % and logarithmic beyond (CHS reaches +250 %)
BIAS_TICKS = (-1.0, -0.1, -0.02, 0.0, 0.02, 0.1, 1.0)


def _study_bias_limit() -> float:
    """The study's bias target, shaded: headline.py's STUDY_BIAS_LIMIT (its one source)."""
    spec = importlib.util.spec_from_file_location("headline", Path(__file__).with_name("headline.py"))
    headline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(headline)
    return headline.STUDY_BIAS_LIMIT


def curves(metrics: dict, observable: str) -> dict[str, dict[str, np.ndarray]]:
    """method → {mu, bias, bias_err, resolution, resolution_err} over the μ scan of one metrics.json."""
    points = {float(k): e for k, e in metrics["per_mu"].items() if "lost" not in k}
    mus = sorted(points)
    methods = sorted({m for e in points.values() for m in e["methods"] if not m.endswith("_samples")})
    out = {}
    for method in methods:
        rows = [points[mu]["methods"].get(method, {}).get(observable) for mu in mus]
        keep = [i for i, r in enumerate(rows) if r]
        out[method] = {"mu": np.array([mus[i] for i in keep])}
        for key in ("bias", "bias_err", "resolution", "resolution_err"):
            out[method][key] = np.array([rows[i].get(key, np.nan) for i in keep], dtype=float)
    return out


def joined(paths: str) -> dict:
    """The points of several metrics.json (comma-separated paths) as one; a μ in two of them is an error."""
    per_mu: dict = {}
    for path in paths.split(","):
        points = json.loads(Path(path).read_text())["per_mu"]
        if twice := sorted(set(points) & set(per_mu)):
            raise SystemExit(f"{path}: the point(s) {twice} are already in an earlier file of {paths}")
        per_mu |= points
    return {"per_mu": per_mu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", metavar="NAME=METRICS[,METRICS]", help="a column per validation")
    parser.add_argument("--observable", default="mass")
    parser.add_argument("--out", required=True, help="figure path without suffix (PDF and PNG are written)")
    parser.add_argument("--skip", nargs="*", default=["observed", "softdrop", "chs_softdrop"], help="methods left out")
    args = parser.parse_args()
    use_style()
    columns = [c.partition("=") for c in args.columns]
    fig, axes = plt.subplots(
        2, len(columns), figsize=(6 * len(columns), 10), sharex=True, squeeze=False, layout="constrained"
    )
    palette = plt.get_cmap("tab20").colors
    bias_limit = _study_bias_limit()
    smallest = [np.inf] * len(columns)
    colours: dict[str, tuple] = {}
    drawn: dict[str, object] = {}
    for col, (name, _, path) in enumerate(columns):
        data = curves(joined(path), args.observable)
        for method, c in data.items():
            if method in args.skip or not len(c["mu"]):
                continue
            if method == BOUND:  # the truth-label bound of keep/drop methods: not a method, drawn apart
                colour, style = "black", {"color": "black", "ls": ":", "marker": ""}
            else:
                colour = colours.setdefault(method, palette[(2 * len(colours)) % 20 + (len(colours) >= 10)])
                style = {"color": colour, "ls": "-" if method.startswith(LEARNED) else "--", "marker": "o", "ms": 4}
            positive = c["resolution"][c["resolution"] > 0]
            if method != BOUND and len(positive):
                smallest[col] = min(smallest[col], positive.min())
            for row, key in enumerate(("bias", "resolution")):
                ax = axes[row, col]
                (line,) = ax.plot(c["mu"], c[key], **style)
                drawn.setdefault(method, line)
                ax.fill_between(c["mu"], c[key] - c[f"{key}_err"], c[key] + c[f"{key}_err"], color=colour, alpha=0.2)
        axes[0, col].set_title(name)
        axes[0, col].axhline(0, color="grey", lw=1)
        # the methods span two orders of magnitude: the bias linear within ±BIAS_LINEAR, the resolution logarithmic
        axes[0, col].set_yscale("symlog", linthresh=BIAS_LINEAR, linscale=2)
        axes[0, col].yaxis.set_major_locator(FixedLocator(BIAS_TICKS))
        axes[0, col].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes[0, col].yaxis.set_minor_locator(NullLocator())
        axes[0, col].axhspan(-bias_limit, bias_limit, color="grey", alpha=0.15, lw=0)
        axes[1, col].set_yscale("log")
        if smallest[col] < np.inf:  # a decade below the best method: the bound where it is closer, else below
            axes[1, col].set_ylim(bottom=smallest[col] / 10)
        axes[1, col].set_xlabel("μ")
    quantity = OBSERVABLE_LABELS.get(args.observable, args.observable).split(" [")[0]
    axes[0, 0].set_ylabel(f"{quantity}: bias")
    axes[1, 0].set_ylabel(f"{quantity}: resolution")
    fig.legend(
        list(drawn.values()), list(drawn), loc="outside lower center", ncols=min(len(drawn), 5), fontsize="small"
    )
    label_figure(fig)
    for path in save_figure(fig, args.out):
        print(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
