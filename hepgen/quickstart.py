"""The main job, `hepgen quickstart`: at this stage, read the shipped CMS NanoAOD tt̄ file and summarise it.

It grows into the full chain (generate → train → predict → validate) as the
task modules land; it stays a plain function so tests can call it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepgen.errors import MissingFileError
from hepgen.io import describe_events, read
from hepgen.io.writer import atomic_path

__all__ = ["QuickstartResult", "run_quickstart", "DEFAULT_NANOAOD"]

log = logging.getLogger("hepgen.quickstart")

#: The shipped CMS Open Data NanoAOD file, relative to the data folder.
DEFAULT_NANOAOD = "cms_opendata_ttbar_nanoaod.root"


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart measured and where it wrote its report."""

    n_events: int
    n_with_w_neutrino: int
    met_nu_pt_correlation: float
    summary_path: Path


def run_quickstart(data_dir: str | os.PathLike = "data", out_dir: str | os.PathLike = "results") -> QuickstartResult:
    """Read the shipped NanoAOD file, check its truth neutrinos against MET, write ``out_dir/summary.md``."""
    path = Path(data_dir) / DEFAULT_NANOAOD
    if not path.exists():
        raise MissingFileError(
            f"quickstart input {str(path)!r} not found; run from the hepgen checkout or pass --data DIR "
            f"(a folder holding {DEFAULT_NANOAOD})"
        )
    log.info("reading %s with the 'nanoaod' schema", path)
    events = read(path, "nanoaod")
    neutrinos = events.truth["neutrinos"]
    has_nu = neutrinos.counts >= 1
    met_pt = events["met"]["pt"][:, 0]
    nu_pt = neutrinos["pt"][:, 0]
    corr = float(np.corrcoef(met_pt[has_nu], nu_pt[has_nu])[0, 1]) if has_nu.sum() > 2 else float("nan")
    text = describe_events(events)
    report = (
        "# hepgen quickstart\n\n"
        f"Input: `{path}` (CMS Open Data NanoAOD, semileptonic tt̄), schema `nanoaod`.\n\n"
        f"- events read: {events.n_events}\n"
        f"- events with a truth W → ℓν neutrino (GenPart, mother |pdgId| = 24): {int(has_nu.sum())}\n"
        f"- correlation of reconstructed MET with the truth neutrino pT: {corr:.3f}\n\n"
        "```\n" + text + "\n```\n"
    )
    out = Path(out_dir) / "summary.md"
    with atomic_path(out) as tmp:
        tmp.write_text(report, encoding="utf-8")
    return QuickstartResult(events.n_events, int(has_nu.sum()), corr, out)
