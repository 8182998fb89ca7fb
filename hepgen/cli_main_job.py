"""The main job's commands: ``hepgen quickstart`` (the whole chain on the shipped data) and ``hepgen report``
(``index.html`` and a HEPData record from any folder of validations)."""

from __future__ import annotations

import argparse
from typing import Any

from hepgen.errors import HepgenInputError
from hepgen.tasks.settings import values_of

__all__ = ["add_main_job_commands"]


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from hepgen.quickstart import run_quickstart

    options = values_of(args, "train", "demo", "accelerator", "max_events")
    result = run_quickstart(
        args.data, args.out, progress=not args.no_progress, draw_figures=not args.no_figures, **options
    )
    print(result.summary_path.read_text(encoding="utf-8"))
    folder = result.summary_path.parent
    print(
        f"Results written to {folder}/: open {folder / 'index.html'} in a browser (verdicts and figures); "
        "summary.md, metrics.json and a folder per task (figures as PDF and PNG)"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hepgen.report.page import write_report_page

    page = write_report_page(args.results, title=args.title)
    print(f"wrote {page} (open it in a browser; it needs no server)")
    if args.hepdata:
        from hepgen.report.hepdata import write_hepdata

        qualifiers = {}
        for item in args.qualifier or []:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise HepgenInputError(f"--qualifier {item!r}: give NAME=VALUE, e.g. detector='CMS-like'")
            qualifiers[name.strip()] = value.strip()
        record = write_hepdata(args.results, args.hepdata, qualifiers)
        print(
            f"wrote the HEPData record {record}/ (submission.yaml and its tables) and {record}.tar.gz to upload; validated"
        )
    return 0


def add_main_job_commands(sub: Any) -> None:
    """``hepgen quickstart`` and ``hepgen report``."""
    p = sub.add_parser(
        "quickstart", help="the main job: the shipped models against every baseline on the shipped test samples"
    )
    p.add_argument("--data", default="data", help="folder with the shipped samples (default: ./data)")
    p.add_argument("--out", default="results", help="folder for the report (default: ./results)")
    from hepgen.quickstart import budgets, demos

    p.add_argument(
        "--train",
        default=None,
        choices=list(budgets()),
        metavar="BUDGET",
        help=f"train the models from scratch instead, at a budget ({', '.join(budgets())}): small ≈ 15 min on a "
        "2-core CPU, medium ≈ 1 h, large for a GPU",
    )
    p.add_argument(
        "--demo",
        default="default",
        choices=list(demos()),
        help="the sizes of the shipped-model evaluation (default ≈ 4 min on 2 cores; test: seconds)",
    )
    p.add_argument("--accelerator", default="cpu", help="cpu (default), gpu or auto")
    p.add_argument("--max-events", type=int, default=5000, help="events read by the input checks (default 5000)")
    p.add_argument("--no-progress", action="store_true", help="no stage lines or progress bars")
    p.add_argument("--no-figures", action="store_true", help="tables and metrics only (no PDF/PNG figures)")
    p.set_defaults(func=_cmd_quickstart)
    p = sub.add_parser("report", help="a results page (index.html) and a HEPData record from a folder of validations")
    p.add_argument("results", metavar="RESULTS_DIR", help="a folder of hepgen validate outputs (e.g. results/)")
    p.add_argument("--hepdata", default=None, metavar="DIR", help="also write a validated HEPData submission to DIR")
    p.add_argument("--title", default="hepgen results", help="the page's title")
    p.add_argument(
        "--qualifier",
        nargs="+",
        default=None,
        metavar="NAME=VALUE",
        help="qualifiers of every HEPData value the metrics do not know, e.g. detector='CMS-like' sample='top jets'",
    )
    p.set_defaults(func=_cmd_report)
