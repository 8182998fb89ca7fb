"""The one prediction driver of every task: blocks, shards, seeds, atomic and empty outputs, Dask.

The input entries (all files chained, as a TChain) are cut into blocks of the task's ``block_size``;
``--shard i/n`` takes blocks ``i, i + n, ...``; each block's random stream derives from (``seed``, block) only,
so the shards' outputs merged (``hepgen merge``) equal the unsharded output entry by entry. A shard without
entries writes every branch with no rows, so a grid campaign's merge sees every shard. With
``overwrite=False`` an existing output is kept and nothing is computed (safe reruns of grid jobs). With
``scheduler`` the shards run on a Dask cluster and are merged into ``out``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepgen import __version__
from hepgen.io.writer import check_output_path, write_event_outputs
from hepgen.shards import Shard, derive_seed, entry_blocks, parse_shard
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, Task
from hepgen.tasks.settings import to_mapping

__all__ = ["predict", "predict_task"]

log = logging.getLogger("hepgen.prediction")


def _join(pieces: list[Any]) -> Any:
    return ak.concatenate(pieces) if isinstance(pieces[0], ak.Array) else np.concatenate(pieces)


def _merge(outputs: list[BlockOutput]) -> tuple[dict[str, tuple[dict, dict]], dict[str, int]]:
    trees: dict[str, tuple[dict, dict]] = {}
    for name in outputs[0].trees:
        parts = [o.trees[name] for o in outputs]
        trees[name] = (
            {k: _join([p[0][k] for p in parts]) for k in parts[0][0]},
            {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]},
        )
    counts: dict[str, int] = {}
    for o in outputs:
        for key, value in o.counts.items():
            counts[key] = counts.get(key, 0) + int(value)
    return trees, counts


def predict(task: Task, settings: PredictSettings) -> Path:
    """Predict ``task`` on the inputs of ``settings`` and write ``settings.out`` (see the module docstring).

    The output's main tree is ``task.output_tree``; its metadata holds the task, the resolved settings, the
    input files, the shard, the block size, the entries left out per reason and the hepgen version.
    """
    out = Path(settings.out)
    if not settings.overwrite and out.exists():
        log.warning("%s exists; nothing to do (use --overwrite to recompute)", out)
        return out
    check_output_path(out)  # before any work: a path that cannot be written fails now, not after the prediction
    if settings.scheduler:
        return _predict_on_cluster(task, settings)
    shard = parse_shard(settings.shard)
    predictor = task.load_predictor(settings)
    described = task.prediction_metadata(predictor, settings)  # before any work: it checks the method's name
    n_entries = task.count_entries(settings)
    if settings.max_events is not None:
        n_entries = min(n_entries, settings.max_events)
    blocks = [
        Block(b, start, stop, derive_seed(settings.seed, b))
        for b, start, stop in entry_blocks(n_entries, task.block_size, shard)
    ]
    if not blocks:
        log.warning(
            "shard %s holds no entries (%d in blocks of %d); writing an empty output", shard, n_entries, task.block_size
        )
    from tqdm.auto import tqdm

    outputs = []
    with tqdm(
        total=sum(b.size for b in blocks),
        unit=" entries",
        disable=not settings.progress,
        desc=f"predict {task.name} [{shard}]",
    ) as bar:
        for block in blocks:
            outputs.append(task.predict_block(predictor, settings, block))
            bar.update(block.size)
    if not outputs:  # the same branches with no rows
        outputs = [task.predict_block(predictor, settings, Block(0, 0, 0, derive_seed(settings.seed, 0)))]
    trees, counts = _merge(outputs)
    (main, (main_outputs, main_id)), *others = trees.items()
    metadata = {
        **to_mapping(settings),
        "task": task.name,
        "files": task.input_files(settings),
        "shard": str(shard),
        "block_size": task.block_size,
        "skipped": counts,
        "hepgen_version": __version__,
        **described,
    }
    for key in ("out", "overwrite", "progress", "scheduler", "parts", "device"):
        metadata.pop(key, None)  # where and how it ran, not what it is
    return write_event_outputs(
        out, main_outputs, event_id=main_id, tree=main, extra_trees=dict(others), metadata=metadata
    )


def predict_task(task_name: str, settings: PredictSettings) -> Path:
    """:func:`predict` by task name (what a Dask worker runs: the task is looked up in the worker)."""
    from hepgen.tasks.registry import get_task

    return predict(get_task(task_name), settings)


def _predict_on_cluster(task: Task, settings: PredictSettings) -> Path:
    """The shards of the prediction on a Dask cluster, merged into ``settings.out``."""
    import dataclasses
    import shutil

    from hepgen.cluster import map_units
    from hepgen.errors import HepgenInputError
    from hepgen.io.writer import merge_event_outputs

    if settings.shard:
        raise HepgenInputError("--shard and --scheduler exclude each other: a Dask run makes its own shards (--parts)")
    if settings.parts < 1:
        raise HepgenInputError(f"--parts must be >= 1; got {settings.parts}")
    out = Path(settings.out)
    scratch = out.parent / f".{out.name}.parts"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    units = [
        {
            "task_name": task.name,
            "settings": dataclasses.replace(
                settings,
                out=str(scratch / f"part{i:04d}.root"),
                shard=str(Shard(i, settings.parts)),
                overwrite=True,
                progress=False,
                scheduler=None,
            ),
        }
        for i in range(settings.parts)
    ]
    files = map_units(predict_task, units, settings.scheduler, progress=settings.progress)  # type: ignore[arg-type]
    merged = merge_event_outputs(
        files, out, metadata={"shard": "all", "scheduler": settings.scheduler, "parts": settings.parts}
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return merged
