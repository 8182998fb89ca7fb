"""The `hepgen` command line: thin wrappers around plain, testable functions.

* ``hepgen inspect FILE... --schema nanoaod`` — read files and summarise the point clouds.
* ``hepgen schemas`` — list the built-in schemas.
* ``hepgen generate ttbar-ljets|ttbar-dilepton|jets|minbias --events N --seed S --out FILE`` — Pythia 8 samples.
* ``hepgen train|predict|validate TASK ...`` — for every task of :mod:`hepgen.tasks.registry`; the flags
  are generated from the task's settings dataclasses (``hepgen train TASK --help`` shows them with their
  defaults), plus ``--config FILE`` (YAML, e.g. a run's ``config.yaml``) and ``--set key=value``.
* ``hepgen export neutrino|pileup --run RUN --out DIR`` — ONNX graphs and their metadata for onnxruntime.
* ``hepgen merge SHARD_FILES... --out FILE`` — the shards of a grid job as one file.
* ``hepgen quickstart`` — the main job on the shipped data; ``hepgen report RESULTS`` — its page and HEPData record.

Exit codes: 0 done; 2 bad input (do not retry); 75 a transient failure — an I/O error or no memory (retry).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hepgen import __version__
from hepgen.cli_main_job import add_main_job_commands
from hepgen.errors import EXIT_TEMPFAIL, HepgenError, HepgenInputError
from hepgen.tasks.settings import values_of

__all__ = ["main", "build_parser"]


def _cmd_inspect(args: argparse.Namespace) -> int:
    from hepgen.io import describe_events, read

    events = read(args.files, args.schema, **values_of(args, "tree", "entry_start", "entry_stop", "nonfinite"))
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
    from hepgen.sim import JetSampleConfig, PileupOptions, ProductionRequest, TTbarSelection, produce
    from hepgen.sim.detector import CONSTITUENT_DETECTORS, DETECTORS

    jets_sample = args.sample == "jets"
    detectors = CONSTITUENT_DETECTORS if jets_sample else DETECTORS
    detector = args.detector or ("none" if jets_sample else "default")
    if args.ideal_detector and not jets_sample:
        detector = "ideal"
    if detector not in detectors:
        raise HepgenInputError(
            f"--detector {detector}: the {args.sample} sample's detectors are {', '.join(sorted(detectors))}"
        )
    pileup = None
    if args.pileup:
        pileup = PileupOptions(
            pool=tuple(args.pileup),
            mu=60.0 if args.mu is None else args.mu,
            distribution="gaussian" if args.mu_sigma is not None else "poisson",
            sigma=args.mu_sigma,
            radius=args.radius,
            detector=detector,
            recluster=args.recluster,
        )
    elif args.mu is not None or args.mu_sigma is not None or args.recluster or (jets_sample and detector != "none"):
        raise HepgenInputError(
            "--mu, --mu-sigma, --recluster and a jets --detector need --pileup POOL (a minimum-bias file from "
            "`hepgen generate minbias`); the hard jets are stored as particles"
        )
    try:
        jets = JetSampleConfig(process=args.process, pt_min=args.pt_min, radius=args.radius)
        selection = None  # the sample's default (4 jets and 2 b-tags for ℓ+jets; 2 and 1 for dilepton)
        if args.min_jets is not None or args.min_btags is not None:
            from hepgen.sim.production import TTBAR_SAMPLES

            default = TTBAR_SAMPLES.get(args.sample, TTbarSelection())
            selection = TTbarSelection(
                min_jets=default.min_jets if args.min_jets is None else args.min_jets,
                min_btags=default.min_btags if args.min_btags is None else args.min_btags,
            )
    except ValueError as err:
        raise HepgenInputError(str(err)) from None
    request = ProductionRequest(
        sample=args.sample,
        n_events=args.events,
        seed=args.seed,
        out=args.out,
        jobs=args.jobs,
        shard=parse_shard(args.shard),
        block_size=args.block_size,
        detector=DETECTORS[detector if not jets_sample else "default"],
        selection=selection,
        jets=jets,
        pileup=pileup,
        pythia_settings=tuple(args.pythia_set),
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    summary = produce(request)
    print(summary.text())
    return 0


_COMMAND_SETTINGS = {"train": "Training", "predict": "Prediction", "validate": "Validation"}


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """The task of ``args`` and its resolved settings: defaults < --config FILE < flags < --set key=value."""
    from hepgen.tasks.registry import get_task
    from hepgen.tasks.run_folder import read_run_config
    from hepgen.tasks.settings import fields_of, parse_assignments, resolve

    task = get_task(args.task)
    cls = getattr(task, _COMMAND_SETTINGS[args.command])
    names = {f.name for f, _ in fields_of(cls)}
    layers: list[tuple[str, dict[str, Any]]] = []
    if args.config:
        layers.append((f"--config {args.config}", read_run_config(args.config, task.name)))
    layers.append(("the command line", {k: v for k, v in vars(args).items() if k in names}))
    if args.set:
        layers.append(("--set", parse_assignments(args.set)))
    return task, resolve(cls, *layers)


def _cmd_train(args: argparse.Namespace) -> int:
    from hepgen.tasks.training import train

    task, settings = _settings(args)
    run = train(task, settings)
    print(f"trained {task.name}; run folder: {run} (model.pt, config.yaml, checkpoints/, logs/)")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from hepgen.io.writer import read_metadata
    from hepgen.tasks.prediction import predict

    task, settings = _settings(args)
    out = predict(task, settings)
    skipped = {reason: n for reason, n in read_metadata(out).get("skipped", {}).items() if n}
    why = f"; {sum(skipped.values())} entries skipped ({', '.join(f'{r}: {n}' for r, n in skipped.items())})"
    print(f"{task.name} predictions in {out}" + (why if skipped else ""))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from hepgen.tasks.onnx_export import METADATA_FILE, export_onnx

    out = export_onnx(args.task, args.run, args.out, opset=args.opset, overwrite=args.overwrite)
    files = sorted(p.name for p in out.glob("*.onnx"))
    print(f"exported {args.task} to {out}: {', '.join(files)} and {METADATA_FILE} (inputs, units, standardisation)")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from hepgen.io.files import expand_files
    from hepgen.shards import parse_shard

    task, settings = _settings(args)
    settings.pred = expand_files(settings.pred)
    if settings.shard:  # whole groups (μ points, methods): their metrics do not depend on the other groups
        shard = parse_shard(settings.shard)
        groups = task.validation_groups(settings.pred)
        chosen = shard.take(sorted(groups))
        if not chosen:
            raise HepgenInputError(
                f"validation shard {shard} gets no {task.group_name}: {len(groups)} group(s) in "
                f"{len(settings.pred)} file(s); use at most as many shards"
            )
        settings.pred = [f for key in chosen for f in groups[key]]
    if (Path(settings.out) / "metrics.json").exists() and not settings.overwrite:
        print(
            f"{settings.out} already holds a validation (metrics.json); nothing to do (use --overwrite)",
            file=sys.stderr,
        )
        return 0
    metrics = task.validate(settings)
    print((Path(settings.out) / "summary.md").read_text(encoding="utf-8"))
    print(f"{task.validation_headline(metrics)}; results in {settings.out}")
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


_COMMAND_HELP = {
    "train": "train a model (PyTorch Lightning: checkpoints, --resume, early stopping, DDP)",
    "predict": "posterior samples for every input entry, aligned with the inputs",
    "validate": "compare methods with the truth: accuracy, calibration, figures",
}


def _add_task_commands(sub: Any) -> None:
    """``train``, ``predict`` and ``validate``, each with one sub-command per registered task."""
    from hepgen.tasks.registry import all_tasks
    from hepgen.tasks.settings import add_arguments

    for command, help_text in _COMMAND_HELP.items():
        p = sub.add_parser(command, help=help_text)
        tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
        for task in all_tasks():
            cls = getattr(task, _COMMAND_SETTINGS[command])
            t = tasks.add_parser(task.name, help=task.summary, description=cls.__doc__)
            add_arguments(t, cls, title=f"{task.name} settings")
            g = t.add_argument_group("configuration files")
            g.add_argument(
                "--config",
                default=None,
                metavar="FILE",
                help="YAML settings (e.g. a run's config.yaml); flags and --set override them",
            )
            g.add_argument(
                "--set",
                nargs="+",
                default=None,
                metavar="KEY=VALUE",
                help="override settings by name, e.g. --set learning_rate=3e-4 dim=32",
            )
            t.set_defaults(func={"train": _cmd_train, "predict": _cmd_predict, "validate": _cmd_validate}[command])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hepgen` command."""
    parser = argparse.ArgumentParser(prog="hepgen", description="Calibrated generative posteriors for collider physics")
    parser.add_argument("--version", action="version", version=f"hepgen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_reading_commands(sub)
    _add_generate_command(sub)
    _add_task_commands(sub)
    _add_export_and_merge_commands(sub)
    add_main_job_commands(sub)
    return parser


def _add_reading_commands(sub: Any) -> None:
    """``hepgen inspect`` and ``hepgen schemas``."""
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


def _add_generate_command(sub: Any) -> None:
    """``hepgen generate SAMPLE``."""
    p = sub.add_parser(
        "generate", help="generate Pythia 8 samples (tt̄ → ℓ+jets or dilepton, boosted jets, minimum bias)"
    )
    p.add_argument("sample", choices=["ttbar-ljets", "ttbar-dilepton", "jets", "minbias"], help="which sample")
    p.add_argument("--events", type=int, required=True, help="entries to write: selected tt̄ events, jets, or events")
    p.add_argument("--seed", type=int, default=1, help="base seed; every block's seeds derive from it (default 1)")
    p.add_argument("--out", required=True, help="output ROOT file (written atomically)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--shard", default=None, help="i/n: generate only this job's share of the blocks")
    p.add_argument(
        "--block-size", type=int, default=None, help="entries per block (default: 250 tt̄, 500 jets, 1000 minbias)"
    )
    p.add_argument("--overwrite", action="store_true", help="regenerate even if --out exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (batch logs)")
    g = p.add_argument_group("ttbar-ljets, ttbar-dilepton")
    g.add_argument(
        "--min-jets", type=int, default=None, help="selection: at least this many jets (default 4; dilepton 2)"
    )
    g.add_argument(
        "--min-btags", type=int, default=None, help="selection: at least this many b-tags (default 2; dilepton 1)"
    )
    p.add_argument(
        "--detector",
        choices=["default", "degraded", "ideal", "none", "cms"],
        default=None,
        help="the detector (hepgen/sim/detector.py). tt̄: default; degraded (20 %% worse jet, MET and lepton "
        "resolution, a looser b-tag); ideal (no smearing). jets with --pileup: none (particles, the default) or cms "
        "(tracks, vertices and calorimeter towers; schema hepgen-detected-jets)",
    )
    g.add_argument("--ideal-detector", action="store_true", help="the same as --detector ideal (closure tests)")
    g.add_argument(
        "--pythia-set",
        action="append",
        default=[],
        metavar="LINE",
        help="an extra Pythia setting for tt̄ (repeatable; e.g. 'Tune:pp = 21', ATLAS A14): a generator variation",
    )
    g = p.add_argument_group("jets")
    g.add_argument("--process", choices=["top", "w", "qcd"], default="top", help="jet origin (default top)")
    g.add_argument("--pt-min", type=float, default=400.0, help="jet pT threshold in GeV (default 400)")
    g.add_argument("--radius", type=float, default=1.0, help="anti-kt radius and pileup cone (default 1.0)")
    g.add_argument("--pileup", nargs="+", default=None, metavar="POOL", help="minimum-bias file(s) to overlay")
    g.add_argument("--mu", type=float, default=None, help="mean pileup interactions (Poisson; default 60)")
    g.add_argument("--mu-sigma", type=float, default=None, help="use |N(mu, sigma)| instead of Poisson(mu)")
    g.add_argument(
        "--recluster",
        action="store_true",
        help="with --detector cms: overlay pileup beyond the jet and find the jet again with anti-kT in the event",
    )
    p.set_defaults(func=_cmd_generate)


def _add_export_and_merge_commands(sub: Any) -> None:
    """``hepgen export TASK`` and ``hepgen merge``."""
    from hepgen.tasks.onnx_export import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET
    from hepgen.tasks.registry import all_tasks

    p = sub.add_parser("export", help="write a trained model as ONNX graphs for onnxruntime (CMSSW, Athena, C++)")
    p.add_argument(
        "task", choices=[t.name for t in all_tasks()], metavar="TASK", help="the run's task (neutrino, pileup)"
    )
    p.add_argument("--run", required=True, help="run folder of the trained model (or its model.pt)")
    p.add_argument("--out", required=True, help="folder to write (appears complete or not at all)")
    p.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        help=f"ONNX opset, {MIN_OPSET}–{MAX_OPSET} (default {DEFAULT_OPSET})",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("merge", help="merge the prediction files of the shards of one job (ordered by event)")
    p.add_argument("parts", nargs="+", help="the shards' output files (globs allowed)")
    p.add_argument("--out", required=True, help="the merged file (written atomically)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_merge)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code: 0 done, 2 bad input, 75 a transient failure (retry)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(args.func(args) or 0)
    except HepgenError as err:
        print(f"hepgen {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except MemoryError:
        print(
            f"hepgen {args.command}: error: out of memory (a retry with more memory, or smaller --batch-size or "
            "shards, may succeed)",
            file=sys.stderr,
        )
        return EXIT_TEMPFAIL
    except OSError as err:  # I/O errors outside the readers and writers (a full disk, a lost mount): worth a retry
        print(f"hepgen {args.command}: error: I/O error: {err}", file=sys.stderr)
        return EXIT_TEMPFAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
