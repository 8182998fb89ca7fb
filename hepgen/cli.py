"""The `hepgen` command line: thin wrappers around plain, testable functions.

Commands (more arrive with the task modules):

* ``hepgen inspect FILE... --schema nanoaod`` — read files and summarise the point clouds.
* ``hepgen schemas`` — list the built-in schemas.
* ``hepgen generate ttbar-ljets|jets|minbias --events N --seed S --out FILE`` — Pythia 8 samples.
* ``hepgen train neutrino --data FILES --model flow|mdn|gauss|mse --out RUN`` — train (Lightning).
* ``hepgen predict neutrino --run RUN | --model analytic --data FILES --out FILE`` — posterior samples.
* ``hepgen validate neutrino|pileup --pred FILE... --out DIR`` — metrics, calibration, figures.
* ``hepgen merge SHARD_FILES... --out FILE`` — the shards of a grid job as one file.
* ``hepgen train pileup --jets FILES --pileup POOL --out RUN`` and
  ``hepgen predict pileup --run RUN --jets FILES --pileup POOL --mu 60 --samples K --steps N --out FILE`` — VIPR.
* ``hepgen quickstart`` — the main job on the shipped data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any
from pathlib import Path

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


def _cmd_train(args: argparse.Namespace) -> int:
    from hepgen.tasks.neutrino_run import NeutrinoTrainConfig, train_neutrino
    from hepgen.tasks.pileup_run import PileupTrainConfig, train_pileup
    from hepgen.tasks.run_folder import config_from_file

    devices = int(args.devices) if str(args.devices).isdigit() else args.devices
    runtime = {"out": args.out, "accelerator": args.accelerator, "devices": devices, "strategy": args.strategy,
               "precision": args.precision, "resume": args.resume, "progress": not args.no_progress}  # fmt: skip
    if args.task == "pileup":
        if args.config:
            config = config_from_file(PileupTrainConfig, args.config, "pileup", num_nodes=args.num_nodes, **runtime)
        else:
            if not args.jets or not args.pileup:
                raise HepgenInputError("hepgen train pileup needs --jets FILES and --pileup POOL (or --config FILE)")
            config = PileupTrainConfig(
                jets=list(args.jets), pileup=list(args.pileup), mu=args.mu, mu_sigma=args.mu_sigma, dim=args.dim,
                blocks=args.layers, latents=args.latents, batch_size=args.batch_size, learning_rate=args.lr,
                max_epochs=args.max_epochs, max_steps=args.max_steps, patience=args.patience, max_jets=args.max_events,
                seed=args.seed, num_nodes=args.num_nodes, **runtime,
            )  # fmt: skip
        run = train_pileup(config)
        print(f"trained VIPR; run folder: {run} (model.pt, config.yaml, checkpoints/, logs/)")
        return 0
    if args.config:
        config = config_from_file(NeutrinoTrainConfig, args.config, "neutrino", num_nodes=args.num_nodes, **runtime)
    else:
        if not args.data:
            raise HepgenInputError("hepgen train neutrino needs --data FILES (or --config FILE)")
        config = NeutrinoTrainConfig(
            data=list(args.data), model=args.model, schema=args.schema, dim=args.dim, layers=args.layers,
            batch_size=args.batch_size, learning_rate=args.lr, max_epochs=args.max_epochs, max_steps=args.max_steps,
            patience=args.patience, max_events=args.max_events, seed=args.seed, num_nodes=args.num_nodes, **runtime,
        )  # fmt: skip
    run = train_neutrino(config)
    print(f"trained {config.model}; run folder: {run} (model.pt, config.yaml, checkpoints/, logs/)")
    return 0


def _maybe_on_cluster(args: argparse.Namespace, predict: Any) -> Any:
    """``predict`` itself, or with ``--scheduler`` a function that runs it as shards on a Dask cluster and merges them."""
    if not args.scheduler:
        return predict
    if args.shard:
        raise HepgenInputError("--shard and --scheduler exclude each other: a Dask run makes its own shards (--parts)")
    from hepgen.cluster import predict_on_cluster

    def on_cluster(*, shard: Any = None, overwrite: bool = False, progress: bool = True, **kwargs: Any) -> Any:
        if not overwrite and Path(kwargs["out"]).exists():
            print(f"{kwargs['out']} exists; nothing to do (use --overwrite to recompute)", file=sys.stderr)
            return Path(kwargs["out"])
        return predict_on_cluster(predict, scheduler=args.scheduler, parts=args.parts, progress=progress, **kwargs)

    return on_cluster


def _cmd_predict(args: argparse.Namespace) -> int:
    from hepgen.shards import parse_shard
    from hepgen.tasks.neutrino_run import predict_neutrino

    if args.task == "pileup":
        from hepgen.tasks.pileup_run import predict_pileup

        if args.run is None or not args.jets or not args.pileup:
            raise HepgenInputError("hepgen predict pileup needs --run RUN, --jets FILES and --pileup POOL")
        out = _maybe_on_cluster(args, predict_pileup)(
            run=args.run, jets=list(args.jets), pileup=list(args.pileup), out=args.out, mu=args.mu,
            samples=16 if args.samples is None else args.samples, steps=args.steps, sampler=args.sampler,
            shard=parse_shard(args.shard),
            max_jets=args.max_events, device=args.device, seed=args.seed, progress=not args.no_progress,
            overwrite=args.overwrite,
        )  # fmt: skip
        print(f"VIPR samples written to {out}")
        return 0
    if not args.data:
        raise HepgenInputError("hepgen predict neutrino needs --data FILES")
    if args.run is None and args.model is None:
        raise HepgenInputError("give --run RUN (a trained model) or --model analytic")
    out = _maybe_on_cluster(args, predict_neutrino)(
        data=list(args.data), out=args.out, run=args.run, method=args.model, schema=args.schema,
        samples=256 if args.samples is None else args.samples,
        batch_size=args.batch_size, shard=parse_shard(args.shard), max_events=args.max_events, device=args.device,
        seed=args.seed, overwrite=args.overwrite, progress=not args.no_progress,
    )  # fmt: skip
    print(f"predictions in {out}")
    return 0


def _validation_share(args: argparse.Namespace) -> list[str]:
    """With ``--shard i/n``: the prediction files of this share of the groups (μ points for pileup, methods for
    neutrino), whose metrics do not depend on the other groups — so the shards' ``per_mu``/``methods`` entries
    together equal the unsharded run's."""
    from hepgen.shards import parse_shard

    if not args.shard:
        return list(args.pred)
    shard = parse_shard(args.shard)
    if args.task == "pileup":
        from hepgen.io.writer import read_metadata

        groups: dict[float, list[str]] = {}
        for path in args.pred:
            mu = float(read_metadata(path).get("mu", float("nan")))
            groups.setdefault(mu, []).append(path)
        chosen = shard.take(sorted(groups))
        files = [f for mu in chosen for f in groups[mu]]
        what = "μ point"
    else:
        files = shard.take(sorted(args.pred))
        what = "method (prediction file)"
    if not files:
        raise HepgenInputError(f"validation shard {shard} gets no {what}: {len(args.pred)} file(s); use at most as many shards")
    return files


def _cmd_validate(args: argparse.Namespace) -> int:
    from hepgen.validation.neutrino_comparison import validate_neutrino

    args.pred = _validation_share(args)
    if (Path(args.out) / "metrics.json").exists() and not args.overwrite:
        print(f"{args.out} already holds a validation (metrics.json); nothing to do (use --overwrite)", file=sys.stderr)
        return 0
    if args.task == "pileup":
        from hepgen.validation.pileup_comparison import validate_pileup

        metrics = validate_pileup(args.pred, args.out, validation_fraction=args.validation_fraction, label_text=args.label,
                                  experiment=args.experiment, progress=not args.no_progress, scheduler=args.scheduler,
                                  figures=not args.no_figures)  # fmt: skip
        print((Path(args.out) / "summary.md").read_text(encoding="utf-8"))
        print(f"validated VIPR at μ = {', '.join(f'{m:g}' for m in metrics['mu'])}; results in {args.out}")
        return 0
    metrics = validate_neutrino(args.pred, args.out, label_text=args.label, experiment=args.experiment, scheduler=args.scheduler)
    print((Path(args.out) / "summary.md").read_text(encoding="utf-8"))
    print(f"validated {len(metrics['methods'])} method(s) on {metrics['events']} events; results in {args.out}")
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from hepgen.io.files import expand_files
    from hepgen.io.writer import merge_event_outputs

    parts = expand_files(args.parts)
    if Path(args.out).exists() and not args.overwrite:
        print(f"{args.out} exists; nothing to do (use --overwrite)", file=sys.stderr)
        return 0
    try:
        out = merge_event_outputs(parts, args.out)
    except ValueError as error:
        raise HepgenInputError(str(error)) from None
    print(f"merged {len(parts)} file(s) into {out}")
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from hepgen.quickstart import run_quickstart

    result = run_quickstart(args.data, args.out, budget=args.budget, use_shipped_models=args.use_shipped_models,
                            accelerator=args.accelerator, progress=not args.no_progress, max_events=args.max_events)  # fmt: skip
    print(result.summary_path.read_text(encoding="utf-8"))
    print(f"Results written to {result.summary_path.parent}/: summary.md, metrics.json, neutrino/ and pileup/ "
          "(figures as PDF and PNG)")  # fmt: skip
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

    p = sub.add_parser("train", help="train a model (PyTorch Lightning)")
    p.add_argument("task", choices=["neutrino", "pileup"], help="which task")
    p.add_argument("--data", nargs="+", default=None, help="neutrino: training ROOT files (globs allowed)")
    p.add_argument("--jets", nargs="+", default=None, help="pileup: hard-scatter jets (hepgen generate jets)")
    p.add_argument("--pileup", nargs="+", default=None, help="pileup: minimum-bias pool (hepgen generate minbias)")
    p.add_argument("--mu", type=float, default=60.0, help="pileup: mean interactions (default 60)")
    p.add_argument("--mu-sigma", type=float, default=10.0, help="pileup: μ drawn from |N(mu, mu-sigma)| (default 10)")
    p.add_argument("--latents", type=int, default=0, help="pileup: Perceiver latents for large observed clouds (0: off)")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="take every training setting from FILE (e.g. a run's config.yaml); only --out and the "
                        "device/precision/--resume/--no-progress flags come from the command line")  # fmt: skip
    p.add_argument("--model", choices=["flow", "mdn", "gauss", "mse"], default="flow")
    p.add_argument("--schema", default="hepgen-ttbar")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-epochs", type=int, default=50)
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--patience", type=int, default=5, help="early stopping on the validation loss")
    p.add_argument("--max-events", type=int, default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--accelerator", default="auto", help="cpu, gpu, auto")
    p.add_argument("--devices", default="auto", help="number of devices, or auto")
    p.add_argument("--strategy", default="auto", help="auto, ddp, ddp_spawn, ...")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--precision", default="32-true", help="32-true, bf16-mixed, 16-mixed")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.ckpt")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("predict", help="posterior samples for every input event")
    p.add_argument("task", choices=["neutrino", "pileup"])
    p.add_argument("--data", nargs="+", default=None, help="neutrino: input ROOT files")
    p.add_argument("--jets", nargs="+", default=None, help="pileup: hard-scatter jets to contaminate and clean")
    p.add_argument("--pileup", nargs="+", default=None, help="pileup: minimum-bias pool")
    p.add_argument("--mu", type=float, default=60.0, help="pileup: Poisson mean of the overlaid interactions")
    p.add_argument("--steps", type=int, default=50, help="pileup: sampler steps")
    p.add_argument("--sampler", choices=["heun", "euler"], default="heun")
    p.add_argument("--seed", type=int, default=0, help="seed of the samplers (and of the pileup overlay); default 0")
    p.add_argument("--overwrite", action="store_true", help="recompute even if --out exists (default: a no-op)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help="output ROOT file (written atomically)")
    p.add_argument("--run", default=None, help="run folder of a trained model")
    p.add_argument("--model", choices=["analytic"], default=None, help="a method that needs no training")
    p.add_argument("--schema", default="hepgen-ttbar", help="hepgen-ttbar or nanoaod")
    p.add_argument("--samples", type=int, default=None, help="posterior samples per event (neutrino 256, pileup 16)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--shard", default=None, help="i/n: this job's share of the input events (blocks of 1024 events / 32 jets)")
    p.add_argument("--max-events", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--scheduler", default=None,
                   help="run on a Dask cluster: local:N (N worker processes here) or a scheduler address tcp://host:port")  # fmt: skip
    p.add_argument("--parts", type=int, default=8, help="with --scheduler: the shards the work is cut into (default 8)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("validate", help="compare methods: accuracy, calibration, figures")
    p.add_argument("task", choices=["neutrino", "pileup"])
    p.add_argument("--pred", nargs="+", required=True,
                   help="prediction files: neutrino, one per method; pileup, one or more per μ")  # fmt: skip
    p.add_argument("--validation-fraction", type=float, default=0.3,
                   help="pileup: share of jets used only to tune SoftDrop (default 0.3)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help="folder for metrics.json, summary.md and figures")
    p.add_argument("--label", default="Simulation", help="text beside the experiment label")
    p.add_argument("--experiment", default=None, help="e.g. CMS or ATLAS (default: no experiment name)")
    p.add_argument("--scheduler", default=None,
                   help="evaluate the μ points (pileup) or methods (neutrino) on a Dask cluster: local:N or tcp://host:port")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="validate again even if --out holds a validation")
    p.add_argument("--no-figures", action="store_true", help="pileup: metrics and summary only")
    p.add_argument("--shard", default=None,
                   help="i/n: validate only this share of the groups (μ points for pileup, methods for neutrino)")  # fmt: skip
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("merge", help="merge the prediction files of the shards of one job (ordered by event)")
    p.add_argument("parts", nargs="+", help="the shards' output files (globs allowed)")
    p.add_argument("--out", required=True, help="the merged file (written atomically)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser("quickstart", help="the main job: train, predict and validate both tasks on the shipped data")
    p.add_argument("--data", default="data", help="folder with the shipped samples (default: ./data)")
    p.add_argument("--out", default="results", help="folder for the report (default: ./results)")
    p.add_argument("--budget", default="small", choices=["test", "small", "medium", "large"],
                   help="training and evaluation sizes: small ≈ 15 min on a 2-core CPU (default); medium ≈ 1 h CPU; "
                        "large for a GPU")  # fmt: skip
    p.add_argument("--use-shipped-models", action="store_true", help="skip training; use analyses/*/model")
    p.add_argument("--accelerator", default="cpu", help="cpu (default), gpu or auto")
    p.add_argument("--max-events", type=int, default=5000, help="events read by the input checks (default 5000)")
    p.add_argument("--no-progress", action="store_true", help="no stage lines or progress bars")
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
