"""The `hepgen` command line: thin wrappers around plain, testable functions.

Commands (more arrive with the task modules):

* ``hepgen inspect FILE... --schema nanoaod`` — read files and summarise the point clouds.
* ``hepgen schemas`` — list the built-in schemas.
* ``hepgen quickstart`` — the main job on the shipped data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hepgen import __version__
from hepgen.errors import HepgenInputError

__all__ = ["main", "build_parser"]


def _cmd_inspect(args: argparse.Namespace) -> int:
    from hepgen.io import describe_events, read

    events = read(
        args.files,
        args.schema,
        tree=args.tree,
        entry_start=args.entry_start,
        entry_stop=args.entry_stop,
        nonfinite=args.nonfinite,
    )
    print(describe_events(events))
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from hepgen.io import available_schemas, get_schema

    for name, description in available_schemas().items():
        schema = get_schema(name)
        print(f"{name:16s} {description}")
        for cname, c in schema.all_collections().items():
            kind = "truth" if cname in schema.truth else "input"
            print(f"    {kind:5s} {cname:12s} {c.source.describe():45s} features={list(c.features)} max={c.max_length}")
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from hepgen.quickstart import run_quickstart

    result = run_quickstart(args.data, args.out)
    print(result.summary_path.read_text(encoding="utf-8"))
    print(
        f"{result.n_with_w_neutrino}/{result.n_events} events have a truth W-decay neutrino; "
        f"corr(MET, ν pT) = {result.met_nu_pt_correlation:.3f}"
    )
    print(f"Results written to {result.summary_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hepgen` command."""
    parser = argparse.ArgumentParser(prog="hepgen", description="Calibrated generative posteriors for collider physics")
    parser.add_argument("--version", action="version", version=f"hepgen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("inspect", help="read ROOT files with a schema and summarise the point clouds")
    p.add_argument("files", nargs="+", help="ROOT files or glob patterns (chained in order)")
    p.add_argument("--schema", default="nanoaod", help="built-in schema name (see `hepgen schemas`)")
    p.add_argument("--tree", default=None, help="tree name (default: the schema's)")
    p.add_argument("--entry-start", type=int, default=None)
    p.add_argument("--entry-stop", type=int, default=None)
    p.add_argument("--nonfinite", choices=["raise", "drop"], default="raise", help="what to do with NaN/inf inputs")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("schemas", help="list the built-in schemas")
    p.set_defaults(func=_cmd_schemas)

    p = sub.add_parser("quickstart", help="the main job on the shipped data")
    p.add_argument("--data", default="data", help="folder with the shipped samples (default: ./data)")
    p.add_argument("--out", default="results", help="folder for the report (default: ./results)")
    p.set_defaults(func=_cmd_quickstart)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for bad input, with a one-line message)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(args.func(args) or 0)
    except HepgenInputError as err:
        print(f"hepgen {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
