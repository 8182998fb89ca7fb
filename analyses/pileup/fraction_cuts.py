"""The cuts of the hard-fraction posterior (hepgen/tasks/pileup/fractions.py: MIN_FRACTION, MIN_HARD_PT), chosen on
validation jets that no design read scores: a sampled particle is kept when its hard fraction f ≥ min_fraction and its
hard pT (pT × f) ≥ min_hard_pt [GeV]. The predictions are made with the loosest cuts and the constituents' f
(``constituent_hard_fraction``), so every grid point is applied here to the same samples; each is scored by the
validation's criterion, √(bias² + resolution²) of the posterior median's m / m_true − 1 (resolution IQR/1.349),
averaged over the points (μ), on the jets from --first on.

    .venv/bin/python analyses/pileup/fraction_cuts.py --pred val_top_vipr_fractions_mu60.root ..._mu200.root \
        --first 1000 --out analyses/pileup/validation_study/fraction_cuts.json

(predicted with `--max-events 2000 --min-fraction 0.005`: evaluate_at_scale.sh section 8 makes them). With
--sampling-pred, predictions of the same jets with other samplings are scored at the chosen cut: the check of the
model's default sampling (fractions.py DEFAULT_SAMPLING).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import awkward as ak
import numpy as np

from hepgen.io import read_event_outputs
from hepgen.io.writer import read_metadata
from hepgen.physics.kinematics import PION_MASS, pt_eta_phi_mass, summed_p4
from hepgen.validation.metrics import bias_resolution

MIN_FRACTIONS = (0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
MIN_HARD_PTS = (0.0, 0.5, 1.0, 2.0, 4.0)


def scores(path: str | Path, first: int, grid: list[tuple[float, float]]) -> dict[str, object]:
    """Bias, resolution and score of the median jet mass at every (min_fraction, min_hard_pt) of ``grid``, on the
    jets of entry ≥ ``first``."""
    samples, sample_id, metadata = read_event_outputs(path, tree="VIPR")
    jets, jet_id, _ = read_event_outputs(path, tree="Jets")
    chosen = np.asarray(sample_id["entry"]) >= first
    order = np.lexsort((np.asarray(samples["sample"])[chosen], np.asarray(sample_id["entry"])[chosen]))
    entry = np.asarray(sample_id["entry"])[chosen][order]
    per_jet = int(np.max(samples["sample"])) + 1
    truth_rows = np.searchsorted(np.asarray(jet_id["entry"]), entry[::per_jet])
    truth = ak.zip({k: jets[f"truth_constituent_{k}"][truth_rows] for k in ("pt", "eta", "phi")})
    m_true = pt_eta_phi_mass(summed_p4(truth, mass=PION_MASS))[3]
    particles = ak.zip({k: samples[f"constituent_{k}"][chosen][order] for k in ("pt", "eta", "phi")})
    fraction = samples["constituent_hard_fraction"][chosen][order]
    rows = []
    for min_fraction, min_hard_pt in grid:
        kept = particles[(fraction >= min_fraction) & (particles.pt >= min_hard_pt)]
        median = np.median(pt_eta_phi_mass(summed_p4(kept, mass=PION_MASS))[3].reshape(-1, per_jet), axis=1)
        ratio = median / m_true - 1
        bias, resolution = bias_resolution(ratio)
        cut = {"min_fraction": min_fraction, "min_hard_pt": min_hard_pt}
        rows.append(cut | {"bias": bias, "resolution": resolution, "score": float(np.hypot(bias, resolution))})
    return {"file": str(path), "mu": metadata.get("mu"), "jets": len(m_true), "rows": rows}


def choose(points: list[dict[str, object]]) -> dict[str, float]:
    """The grid point of the lowest score averaged over the points."""
    mean = np.mean([[row["score"] for row in point["rows"]] for point in points], axis=0)
    best = points[0]["rows"][int(np.argmin(mean))]
    return {"min_fraction": best["min_fraction"], "min_hard_pt": best["min_hard_pt"], "mean_score": float(mean.min())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pred", nargs="+", required=True, help="hard-fraction predictions on validation jets")
    parser.add_argument("--first", type=int, default=1000, help="the first jet (entry) of the choice")
    parser.add_argument(
        "--sampling-pred",
        nargs="*",
        default=[],
        help="predictions of the same jets with other samplings: each scored at the chosen cut (the sampling check)",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    grid = list(itertools.product(MIN_FRACTIONS, MIN_HARD_PTS))
    points = [scores(path, args.first, grid) for path in args.pred]
    result = {"choice": choose(points), "first_jet": args.first, "points": points}
    chosen = [(result["choice"]["min_fraction"], result["choice"]["min_hard_pt"])]
    result["sampling"] = [
        scores(path, args.first, chosen) | {"sampling": read_metadata(path).get("sampling")}
        for path in args.sampling_pred
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp-json")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    print(json.dumps(result["choice"]))
    for point in points:
        best = min(point["rows"], key=lambda r: r["score"])
        print(f"μ = {point['mu']:g} ({point['jets']} jets): its own best {best}")
    for point in result["sampling"]:
        row, sampling = point["rows"][0], point["sampling"]
        print(
            f"μ = {point['mu']:g}, {sampling['sampler']} × {sampling['steps']} ({sampling['network_evaluations']} "
            f"evaluations): mass bias {row['bias']:+.4f}, resolution {row['resolution']:.4f}"
        )


if __name__ == "__main__":
    main()
