"""The `hepgen` command line: thin wrappers around plain, testable functions.

Commands (more arrive with the task modules):

* ``hepgen inspect FILE... --schema nanoaod`` — read files and summarise the point clouds.
* ``hepgen schemas`` — list the built-in schemas.
* ``hepgen generate ttbar-ljets|jets|minbias --events N --seed S --out FILE`` — Pythia 8 samples.
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


def _cmd_generate(args: argparse.Namespace) -> int:
    from hepgen.shards import parse_shard
    from hepgen.sim import DetectorResponse, JetSampleConfig, PileupOptions, ProductionRequest, TTbarSelection, produce

    pileup = None
    if args.pileup:
        pileup = PileupOptions(
            pool=tuple(args.pileup), mu=60.0 if args.mu is None else args.mu, distribution="gaussian" if args.mu_sigma is not None else "poisson",
            sigma=args.mu_sigma, radius=args.radius,
        )  # fmt: skip
    elif args.mu is not None or args.mu_sigma is not None:
        raise HepgenInputError("--mu/--mu-sigma need --pileup POOL (a minimum-bias file from `hepgen generate minbias`)")
    try:
        jets = JetSampleConfig(process=args.process, pt_min=args.pt_min, radius=args.radius)
        selection = TTbarSelection(min_jets=args.min_jets, min_btags=args.min_btags)
    except ValueError as err:
        raise HepgenInputError(str(err)) from None
    request = ProductionRequest(
        sample=args.sample, n_events=args.events, seed=args.seed, out=args.out, jobs=args.jobs,
        shard=parse_shard(args.shard), block_size=args.block_size,
        detector=DetectorResponse.ideal() if args.ideal_detector else DetectorResponse(),
        selection=selection, jets=jets, pileup=pileup, overwrite=args.overwrite, progress=not args.no_progress,
    )  # fmt: skip
    summary = produce(request)
    print(summary.text())
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

    p = sub.add_parser("generate", help="generate Pythia 8 samples (tt̄ → ℓ+jets, boosted jets, minimum bias)")
    p.add_argument("sample", choices=["ttbar-ljets", "jets", "minbias"], help="which sample")
    p.add_argument("--events", type=int, required=True, help="entries to write: selected tt̄ events, jets, or events")
    p.add_argument("--seed", type=int, default=1, help="base seed; every block's seeds derive from it (default 1)")
    p.add_argument("--out", required=True, help="output ROOT file (written atomically)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--shard", default=None, help="i/n: generate only this job's share of the blocks")
    p.add_argument("--block-size", type=int, default=None, help="entries per block (default: 250 tt̄, 500 jets, 1000 minbias)")
    p.add_argument("--overwrite", action="store_true", help="regenerate even if --out exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (batch logs)")
    g = p.add_argument_group("ttbar-ljets")
    g.add_argument("--min-jets", type=int, default=4, help="selection: at least this many jets (default 4)")
    g.add_argument("--min-btags", type=int, default=2, help="selection: at least this many b-tags (default 2)")
    g.add_argument("--ideal-detector", action="store_true", help="no smearing, MET = the W neutrino's pT (closure tests)")
    g = p.add_argument_group("jets")
    g.add_argument("--process", choices=["top", "w", "qcd"], default="top", help="jet origin (default top)")
    g.add_argument("--pt-min", type=float, default=400.0, help="jet pT threshold in GeV (default 400)")
    g.add_argument("--radius", type=float, default=1.0, help="anti-kt radius and pileup cone (default 1.0)")
    g.add_argument("--pileup", nargs="+", default=None, metavar="POOL", help="minimum-bias file(s) to overlay")
    g.add_argument("--mu", type=float, default=None, help="mean pileup interactions (Poisson; default 60)")
    g.add_argument("--mu-sigma", type=float, default=None, help="use |N(mu, sigma)| instead of Poisson(mu)")
    p.set_defaults(func=_cmd_generate)

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
