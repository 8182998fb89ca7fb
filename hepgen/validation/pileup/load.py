"""Pileup prediction files as points (μ, inefficiency, track loss): the truth and observed constituents of each jet, and every
learned method's outputs, pooled over the shards of one job and checked to describe the same observed jets."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs

__all__ = ["PointPrediction", "load_pileup_predictions", "point_folder", "point_of"]

_FIELDS = ("pt", "eta", "phi")


@dataclass
class PointPrediction:
    """The jets of one point (μ, inefficiency, track loss): truth and observed constituents, and every learned method's outputs.

    ``generated`` maps a VIPR method to its samples (``n_samples[method]`` consecutive rows per jet, jet-major);
    ``scores`` maps a classifier method to p(pileup) per observed particle. ``entry`` is the jet index ``[J]``.
    ``event_cuts`` (behind a detector) maps ``softkiller`` and ``chs_softkiller`` to SoftKiller's cut on each jet's
    whole event for every patch size ``[J, G]``; the observed constituents then carry their ``puppi_weight`` (and
    ``puppi_weight_t`` for each of :data:`~hepgen.physics.puppi.PUPPI_VARIANTS`).
    """

    mu: float
    inefficiency: float
    track_loss: float
    files: list[str]
    entry: np.ndarray
    truth: ak.Array
    observed: ak.Array
    n_pileup: np.ndarray
    n_vertices: np.ndarray
    generated: dict[str, ak.Array] = field(default_factory=dict)
    n_samples: dict[str, int] = field(default_factory=dict)
    scores: dict[str, ak.Array] = field(default_factory=dict)
    event_cuts: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_jets(self) -> int:
        return len(self.entry)

    @property
    def key(self) -> str:
        """The point's name in metrics.json and figures: ``"60"``, ``"60, 10% lost"`` with an inefficiency,
        ``"60, 10% tracks lost"`` with a degraded tracker."""
        lost = f", {100 * self.inefficiency:g}% lost" if self.inefficiency else ""
        tracks = f", {100 * self.track_loss:g}% tracks lost" if self.track_loss else ""
        return f"{self.mu:g}{lost}{tracks}"

    @property
    def nominal_detector(self) -> bool:
        """Whether the point is a μ point of the nominal detector (no inefficiency, no track loss)."""
        return self.inefficiency == 0 and self.track_loss == 0


def point_folder(point: PointPrediction) -> str:
    """A point's name in file and folder names: ``mu60``, ``mu60_10pct_lost``, ``mu60_10pct_tracks_lost``."""
    return "mu" + point.key.replace(", ", "_").replace("% tracks lost", "pct_tracks_lost").replace("% lost", "pct_lost")


def point_of(metadata: dict[str, Any]) -> tuple[float, float, float]:
    """The point (μ, inefficiency, track loss) of a prediction file's metadata."""
    return (
        float(metadata.get("mu", np.nan)),
        float(metadata.get("inefficiency", 0.0)),
        float(metadata.get("track_loss", 0.0)),
    )


def _records(table: dict[str, Any], prefix: str, path: str, fields: Sequence[str] = _FIELDS) -> ak.Array:
    missing = [f"{prefix}_{k}" for k in fields if f"{prefix}_{k}" not in table]
    if missing:
        raise HepgenInputError(f"{path}: missing {missing}; predict again with this hepgen (`hepgen predict pileup`)")
    return ak.zip({k: table[f"{prefix}_{k}"] for k in fields})


def _read_one(path: str) -> tuple[tuple[float, float], str, dict[str, Any]]:
    """(point, method, content) of one prediction file."""
    import uproot

    with uproot.open(path) as file:
        trees = {k.split(";")[0] for k in file.keys()}
    kind = "VIPR" if "VIPR" in trees else "PuppiML" if "PuppiML" in trees else None
    if kind is None or "Jets" not in trees:
        raise HepgenInputError(
            f"{path} holds the trees {sorted(trees)}; a pileup prediction file holds 'VIPR' or 'PuppiML' and 'Jets' "
            "(made by `hepgen predict pileup` or `hepgen predict puppiml`; files from older hepgen lack them: predict again)"
        )
    jets, jet_id, metadata = read_event_outputs(path, tree="Jets")
    fields = [*_FIELDS, "charge"] if "observed_constituent_charge" in jets else list(_FIELDS)
    observed = _records(jets, "observed_constituent", path, fields)
    observed = ak.with_field(observed, jets["observed_constituent_is_pileup"], "is_pileup")
    variants = sorted(
        k.removeprefix("observed_constituent_") for k in jets if k.startswith("observed_constituent_puppi_weight_")
    )
    for name in ("is_track", "from_hard_vertex", "dz_compatible", "puppi_weight", *variants):  # behind a detector
        if f"observed_constituent_{name}" in jets:
            observed = ak.with_field(observed, jets[f"observed_constituent_{name}"], name)
    content: dict[str, Any] = {
        "entry": jet_id["entry"],
        "truth": _records(jets, "truth_constituent", path),
        "observed": observed,
        "n_pileup": jets["n_pileup"],
        "n_vertices": jets.get("n_vertices", np.full(len(jet_id["entry"]), -1)),
    }
    for name in ("softkiller", "chs_softkiller"):  # SoftKiller on the whole event (behind a detector)
        columns = sorted((k for k in jets if k.startswith(f"{name}_cut_")), key=lambda k: int(k.rsplit("_", 1)[1]))
        if columns:
            content[f"event_cuts_{name}"] = np.stack([jets[k] for k in columns], axis=1)
    method = metadata.get("method", "vipr" if kind == "VIPR" else "puppiml")
    if kind == "VIPR":
        samples, sample_id, _ = read_event_outputs(path, tree="VIPR")
        order = np.lexsort((samples["sample"], sample_id["entry"]))
        unique, counts = np.unique(sample_id["entry"][order], return_counts=True)
        if not np.array_equal(unique, np.sort(jet_id["entry"])):
            raise HepgenInputError(
                f"{path}: the 'VIPR' tree has samples for {len(unique)} jets and the 'Jets' tree holds "
                f"{len(jet_id['entry'])} jets (or other jets); prediction and truth must describe the same jets"
            )
        if len(counts) and counts.min() != counts.max():
            raise HepgenInputError(
                f"{path}: jets have between {counts.min()} and {counts.max()} samples; expected the same number"
            )
        content["generated"] = _records(samples, "constituent", path)[order]
        content["n_samples"] = int(counts[0]) if len(counts) else 0
    else:
        scores, score_id, _ = read_event_outputs(path, tree="PuppiML")
        if not np.array_equal(score_id["entry"], jet_id["entry"]):
            raise HepgenInputError(f"{path}: the 'PuppiML' and 'Jets' trees describe different jets")
        content["scores"] = scores["pileup_probability"]
    return point_of(metadata), method, content


def _sorted_by_entry(content: dict[str, Any]) -> dict[str, Any]:
    order = np.argsort(content["entry"], kind="stable")
    keys = ("entry", "truth", "observed", "n_pileup", "n_vertices")
    out = {k: content[k][order] for k in (*keys, *(k for k in content if k.startswith("event_cuts_")))}
    if "scores" in content:
        out["scores"] = content["scores"][order]
    if "generated" in content:  # samples are jet-major: reorder whole blocks of n_samples rows
        s = content["n_samples"]
        rows = (order[:, None] * s + np.arange(s)[None, :]).ravel()
        out["generated"], out["n_samples"] = content["generated"][rows], s
    return out


def _join(parts: list[dict[str, Any]]) -> dict[str, Any]:
    joined = {
        k: (
            ak.concatenate([p[k] for p in parts])
            if isinstance(parts[0][k], ak.Array)
            else np.concatenate([p[k] for p in parts])
        )
        for k in parts[0]
        if k != "n_samples"
    }
    if "n_samples" in parts[0]:
        counts = {p["n_samples"] for p in parts}
        if len(counts) > 1:
            raise HepgenInputError(f"files of one method hold {sorted(counts)} samples per jet; pool files made alike")
        joined["n_samples"] = counts.pop()
    return _sorted_by_entry(joined)


def load_pileup_predictions(files: Sequence[str | os.PathLike]) -> list[PointPrediction]:
    """Read prediction files, pool them by point (μ, inefficiency, track loss) and method; sorted by point."""
    if not files:
        raise HepgenInputError("no prediction files given")
    grouped: dict[tuple[float, float, float], dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    for path in files:
        point, method, content = _read_one(os.fspath(path))
        grouped.setdefault(point, {}).setdefault(method, []).append((os.fspath(path), content))
    points = []
    for (mu, inefficiency, track_loss), methods in sorted(grouped.items()):
        joined = {method: _join([c for _, c in parts]) for method, parts in methods.items()}
        first_method, first = next(iter(joined.items()))
        for method, content in joined.items():
            same = np.array_equal(content["entry"], first["entry"]) and bool(
                ak.all(ak.num(content["observed"]) == ak.num(first["observed"]))
                and ak.all(ak.ravel(content["observed"].pt) == ak.ravel(first["observed"].pt))
            )
            if not same:
                raise HepgenInputError(
                    f"μ = {mu:g}: the files of {method!r} and {first_method!r} describe different observed jets; predict "
                    "every method with the same --jets, --pileup, --mu, --inefficiency, --track-loss and --seed"
                )
        point = PointPrediction(
            mu,
            inefficiency,
            track_loss,
            [p for parts in methods.values() for p, _ in parts],
            first["entry"],
            first["truth"],
            first["observed"],
            first["n_pileup"],
            first["n_vertices"],
            event_cuts={k.removeprefix("event_cuts_"): v for k, v in first.items() if k.startswith("event_cuts_")},
        )
        for method, content in joined.items():
            if "generated" in content:
                point.generated[method], point.n_samples[method] = content["generated"], content["n_samples"]
            else:
                point.scores[method] = content["scores"]
        points.append(point)
    return points
