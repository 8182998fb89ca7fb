"""Sample production: blocks of events, worker processes, shards, atomic output and a summary.

A run of N events is cut into blocks of ``block_size`` events; block ``b``
draws its Pythia and numpy seeds from ``(seed, b)`` only. So the events are
the same whatever the number of worker processes, and ``--shard i/n`` (blocks
``i, i + n, ...``) splits a run into grid jobs whose union is the unsharded run.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepgen import __version__
from hepgen.errors import HepgenInputError
from hepgen.io.writer import check_output_path
from hepgen.shards import Shard, derive_seed
from hepgen.sim.boosted_jets import JetSampleConfig, generate_jets_block
from hepgen.sim.detector import DetectorResponse
from hepgen.sim.minbias import MINBIAS_SETTINGS, generate_minbias_block
from hepgen.sim.output import concatenate_columns, write_nanoaod_tree
from hepgen.sim.pileup_files import PileupOptions, with_pileup
from hepgen.sim.ttbar import TTbarSelection, generate_ttbar_block, ttbar_settings
from hepgen.sim.ttbar_dilepton import DILEPTON_SELECTION, DILEPTON_SETTINGS, generate_dilepton_block

__all__ = [
    "SAMPLES",
    "TTBAR_SAMPLES",
    "PileupOptions",
    "ProductionRequest",
    "ProductionSummary",
    "produce",
    "block_plan",
]

log = logging.getLogger("hepgen.sim")

#: Sample name → (tree name, default events per block).
SAMPLES: dict[str, tuple[str, int]] = {
    "ttbar-ljets": ("Events", 250),
    "ttbar-dilepton": ("Events", 250),
    "jets": ("Jets", 500),
    "minbias": ("Events", 1000),
}
#: The tt̄ samples (detector and selection apply) and their default selections.
TTBAR_SAMPLES: dict[str, TTbarSelection] = {"ttbar-ljets": TTbarSelection(), "ttbar-dilepton": DILEPTON_SELECTION}


@dataclass(frozen=True)
class ProductionRequest:
    """Everything that defines a sample file (all of it is stored in the file's metadata)."""

    sample: str
    n_events: int
    seed: int
    out: str
    jobs: int = 1
    shard: Shard = Shard()
    block_size: int | None = None
    detector: DetectorResponse = field(default_factory=DetectorResponse)
    selection: TTbarSelection | None = None  # None: the sample's default (TTBAR_SAMPLES)
    jets: JetSampleConfig = field(default_factory=JetSampleConfig)
    pileup: PileupOptions | None = None
    #: Extra Pythia settings for every instance of a tt̄ sample (e.g. another tune, ``"Tune:pp = 21"``), after the
    #: sample's own: the generator variation of a domain-shift study.
    pythia_settings: tuple[str, ...] = ()
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.sample not in SAMPLES:
            raise HepgenInputError(f"unknown sample {self.sample!r}; choose from {sorted(SAMPLES)}")
        if self.n_events <= 0:
            raise HepgenInputError(f"--events must be positive; got {self.n_events}")
        if self.jobs < 1:
            raise HepgenInputError(f"--jobs must be >= 1; got {self.jobs}")
        if self.seed < 0:
            raise HepgenInputError(f"--seed must be >= 0; got {self.seed}")
        if self.block_size is not None and self.block_size < 1:
            raise HepgenInputError(f"--block-size must be >= 1; got {self.block_size}")
        if self.pileup is not None and self.sample != "jets":
            raise HepgenInputError("--pileup applies to the 'jets' sample only")
        if self.selection is None and self.sample in TTBAR_SAMPLES:
            object.__setattr__(self, "selection", TTBAR_SAMPLES[self.sample])
        if self.pythia_settings:
            if self.sample not in TTBAR_SAMPLES:
                raise HepgenInputError(f"--pythia-set applies to the tt̄ samples ({', '.join(TTBAR_SAMPLES)})")
            _check_pythia_settings(self.pythia_settings)

    @property
    def events_per_block(self) -> int:
        return self.block_size or SAMPLES[self.sample][1]


@dataclass(frozen=True)
class ProductionSummary:
    """What a production wrote."""

    path: Path
    sample: str
    events: int
    generated: int
    seconds: float
    skipped: bool = False

    @property
    def efficiency(self) -> float:
        """Written / generated events (the selection efficiency for tt̄)."""
        return self.events / self.generated if self.generated else float("nan")

    def text(self) -> str:
        if self.skipped:
            return f"{self.path} exists: nothing to do (pass --overwrite to regenerate)"
        rate = self.generated / self.seconds if self.seconds > 0 else float("nan")
        return (
            f"wrote {self.events} {self.sample} entries to {self.path} from {self.generated} generated events "
            f"(efficiency {self.efficiency:.3f}) in {self.seconds:.1f} s ({rate:.1f} generated events/s)"
        )


def block_plan(n_events: int, block_size: int, shard: Shard) -> list[tuple[int, int]]:
    """(block index, events in block) for this shard's blocks."""
    n_blocks = -(-n_events // block_size)
    blocks = [(b, min(block_size, n_events - b * block_size)) for b in range(n_blocks)]
    return shard.take(blocks)


def _run_block(request: ProductionRequest, block: int, n: int, progress: Any = None) -> tuple[dict, int]:
    """Generate one block (in a worker process or in-process); returns (columns, generated events)."""
    seed = request.seed
    if request.sample in TTBAR_SAMPLES:
        rng = np.random.default_rng(derive_seed(seed, block, 2))
        options = {"rng": rng, "block_index": block, "detector": request.detector, "progress": progress}
        options["extra_settings"] = request.pythia_settings
        if request.sample == "ttbar-ljets":
            seeds = (derive_seed(seed, block, 0), derive_seed(seed, block, 1))
            result = generate_ttbar_block(n, pythia_seeds=seeds, selection=request.selection, **options)
        else:
            result = generate_dilepton_block(
                n, pythia_seed=derive_seed(seed, block, 0), selection=request.selection, **options
            )
        return result.columns, result.generated
    if request.sample == "jets":
        result = generate_jets_block(
            n, pythia_seed=derive_seed(seed, block, 0), config=request.jets, block_index=block, progress=progress
        )
        columns = result.columns
        if request.pileup is not None:
            columns = with_pileup(columns, request.pileup, derive_seed(seed, block, 3))
        return columns, result.generated
    result = generate_minbias_block(n, pythia_seed=derive_seed(seed, block, 0), block_index=block, progress=progress)
    return result.columns, result.generated


def _check_pythia_settings(lines: tuple[str, ...]) -> None:
    """HepgenInputError naming the first line Pythia does not know."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in lines:
        if not pythia.readString(line):
            raise HepgenInputError(f"--pythia-set {line!r}: Pythia does not know this setting")


def _settings(request: ProductionRequest) -> list[str]:
    extra = list(request.pythia_settings)
    if request.sample == "ttbar-ljets":
        return ttbar_settings(+1) + extra + ["# and alternating events with"] + ttbar_settings(-1) + extra
    if request.sample == "ttbar-dilepton":
        return list(DILEPTON_SETTINGS) + extra
    if request.sample == "jets":
        return request.jets.pythia_settings()
    return list(MINBIAS_SETTINGS)


def produce(request: ProductionRequest, *, on_block: Callable[[int, int], None] | None = None) -> ProductionSummary:
    """Generate this shard's blocks with ``request.jobs`` processes and write one ROOT file atomically."""
    out = Path(request.out)
    if out.exists() and not request.overwrite:
        return ProductionSummary(out, request.sample, 0, 0, 0.0, skipped=True)
    check_output_path(out)
    plan = block_plan(request.n_events, request.events_per_block, request.shard)
    if not plan:
        raise HepgenInputError(
            f"shard {request.shard} has no blocks: {request.n_events} events make "
            f"{-(-request.n_events // request.events_per_block)} block(s) of {request.events_per_block}"
        )
    total = sum(n for _, n in plan)
    start = time.perf_counter()
    bar = _progress_bar(total, request)
    results: dict[int, tuple[dict, int]] = {}
    try:
        if request.jobs == 1 or len(plan) == 1:
            for block, n in plan:
                results[block] = _run_block(request, block, n, bar)
                if on_block:
                    on_block(block, n)
        else:
            with ProcessPoolExecutor(max_workers=min(request.jobs, len(plan))) as pool:
                futures = {pool.submit(_run_block, request, block, n): (block, n) for block, n in plan}
                for future in as_completed(futures):
                    block, n = futures[future]
                    results[block] = future.result()
                    if bar is not None:
                        bar.update(n)
                    if on_block:
                        on_block(block, n)
    finally:
        if bar is not None:
            bar.close()
    ordered = [results[b] for b, _ in plan]
    columns = concatenate_columns([c for c, _ in ordered])
    generated = sum(g for _, g in ordered)
    seconds = time.perf_counter() - start
    tree = SAMPLES[request.sample][0]
    metadata = {
        "hepgen_version": __version__,
        "sample": request.sample,
        "events": total,
        "generated": generated,
        "efficiency": total / generated if generated else None,
        "seed": request.seed,
        "shard": str(request.shard),
        "block_size": request.events_per_block,
        "blocks": [b for b, _ in plan],
        "pythia_settings": _settings(request),
        "detector": dataclasses.asdict(request.detector) if request.sample in TTBAR_SAMPLES else None,
        "selection": dataclasses.asdict(request.selection) if request.sample in TTBAR_SAMPLES else None,
        "jets": dataclasses.asdict(request.jets) if request.sample == "jets" else None,
        "pileup": dataclasses.asdict(request.pileup) if request.pileup else None,
        "command": " ".join(sys.argv) if sys.argv else "",
        "seconds": round(seconds, 1),
    }
    write_nanoaod_tree(out, tree, columns, metadata)
    return ProductionSummary(out, request.sample, total, generated, seconds)


def _progress_bar(total: int, request: ProductionRequest) -> Any:
    if not request.progress:
        return None
    from tqdm.auto import tqdm

    unit = {"ttbar-ljets": "selected events", "ttbar-dilepton": "selected events", "jets": "jets", "minbias": "events"}[
        request.sample
    ]
    return tqdm(total=total, unit=f" {unit}", desc=f"generate {request.sample} [{request.shard}]", dynamic_ncols=True)
