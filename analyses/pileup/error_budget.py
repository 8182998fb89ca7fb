"""Where VIPR's jet-mass error comes from, on validation jets (a design read: nothing here looks at a test jet).

Behind the detector VIPR passes through the part P of the observed jet it trusts (tracks dz-compatible with the hard
vertex, towers above the pass-through pT) and generates the rest R of the hard jet, so a VIPR sample is P + R̂ and
the truth is P + R (R = truth − P, including the pileup P holds, with a minus sign). Per jet this reads:

* the shares of the truth jet's pT in P and in R;
* the mass resolution of P alone, of VIPR's posterior median, and of VIPR's samples with R̂ rescaled to the true
  energy of R (its shape kept): what VIPR loses in the energy of what it generates, and what in its shape;
* the error of R̂'s pT (over the jet's pT) per sample and for the median of the samples;
* the bounds of what a method that reads the observed particles can reach: keeping those whose energy is mostly
  hard (``truth_keep``) and weighting each by its true hard share (the fraction-weighted truth).

    .venv/bin/python analyses/pileup/error_budget.py --pred runs/pileup_eval_study/design_scores/val_top_vipr_plain_mu60.root \
        [--pred ..._mu200.root] --out analyses/pileup/validation_study/error_budget.json

Resolutions are IQR/1.349 of x / x_true − 1 (as the validation's), with a bootstrap error over jets (200 resamples).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import awkward as ak
import numpy as np

from hepgen.io import read_event_outputs
from hepgen.physics.kinematics import PION_MASS
from hepgen.tasks.pileup.inputs import TOWER_PASSTHROUGH_PT
from hepgen.validation.metrics import bias_resolution, bootstrap_bias_resolution

RESAMPLES = 200


def four_momenta(pt: ak.Array, eta: ak.Array, phi: ak.Array) -> np.ndarray:
    """Summed (px, py, pz, E) ``[J, 4]`` of jagged particles with the charged-pion mass (every method's hypothesis)."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + PION_MASS**2)
    return np.stack([np.asarray(ak.sum(c, axis=1), np.float64) for c in (px, py, pz, energy)], axis=1)


def mass(p: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p[..., 3] ** 2 - (p[..., :3] ** 2).sum(-1), 0.0))


def transverse(p: np.ndarray) -> np.ndarray:
    return np.hypot(p[..., 0], p[..., 1])


def resolution(x: np.ndarray) -> float:
    """IQR/1.349 of ``x`` (the validation's resolution)."""
    return bias_resolution(x)[1]


def with_error(x: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Resolution of ``x`` ``[J]`` with its bootstrap error over jets (the validation's)."""
    result = bootstrap_bias_resolution(x, resamples=RESAMPLES, seed=seed)
    return {"resolution": result["resolution"], "error": result["resolution_err"]}


def budget(path: str | Path, tower_passthrough_pt: float = TOWER_PASSTHROUGH_PT) -> dict[str, object]:
    """The error budget of one VIPR prediction file (its ``Jets`` tree holds the truth and the observed jets)."""
    jets, jet_id, metadata = read_event_outputs(path, tree="Jets")
    samples, sample_id, _ = read_event_outputs(path, tree="VIPR")
    order = np.lexsort((np.asarray(samples["sample"]), np.asarray(sample_id["entry"])))
    n = len(jet_id["entry"])
    per_jet = len(order) // n
    if not np.array_equal(np.asarray(sample_id["entry"])[order][::per_jet], np.sort(np.asarray(jet_id["entry"]))):
        raise ValueError(f"{path}: the VIPR samples and the Jets tree describe different jets")
    jets = {k: v[np.argsort(np.asarray(jet_id["entry"]))] for k, v in jets.items()}

    def observed(name):
        return jets[f"observed_constituent_{name}"]

    through = (observed("is_track") & observed("dz_compatible")) | (
        ~observed("is_track") & (observed("pt") > tower_passthrough_pt)
    )
    P = four_momenta(observed("pt")[through], observed("eta")[through], observed("phi")[through])
    T = four_momenta(*(jets[f"truth_constituent_{k}"] for k in ("pt", "eta", "phi")))
    S = four_momenta(*(samples[f"constituent_{k}"][order] for k in ("pt", "eta", "phi"))).reshape(n, per_jet, 4)
    R, generated = T - P, S - P[:, None, :]
    m_true, pt_true = mass(T), transverse(T)
    rescaled = P[:, None, :] + generated * (R[:, None, 3] / np.maximum(generated[..., 3], 1e-9))[..., None]
    hard = observed("hard_fraction") > 0  # a particle with no hard energy is not in the weighted jet
    bounds = {}
    for name, keep, scale in (
        ("truth_keep", ~observed("is_pileup"), 1.0),
        ("fraction_weighted", hard, observed("hard_fraction")),
    ):
        pt = (observed("pt") * scale)[keep]
        bounds[name] = with_error(mass(four_momenta(pt, observed("eta")[keep], observed("phi")[keep])) / m_true - 1)
    rest_error = (transverse(generated) - transverse(R)[:, None]) / pt_true[:, None]
    return {
        "file": str(path),
        "mu": metadata.get("mu"),
        "jets": n,
        "samples_per_jet": per_jet,
        "pt_share_passed_through": float(np.median(transverse(P) / pt_true)),
        "pt_share_generated": float(np.median(transverse(R) / pt_true)),
        "mass": {
            "passed_through_alone": with_error(mass(P) / m_true - 1),
            "vipr_median": with_error(np.median(mass(S), axis=1) / m_true - 1),
            "vipr_rest_at_true_energy": with_error(np.median(mass(rescaled), axis=1) / m_true - 1),
            **bounds,
        },
        "generated_pt_error": {
            "bias": float(np.median(rest_error)),
            "per_sample": resolution(rest_error.ravel()),
            "median_of_samples": with_error(np.median(rest_error, axis=1)),
        },
    }


def summary_line(entry: dict) -> str:
    """One budget in the README's words (tests/integration/test_readme_numbers.py checks the README quotes it)."""
    m, generated = entry["mass"], entry["generated_pt_error"]

    def res(key):
        return f"{m[key]['resolution']:.4f} ± {m[key]['error']:.4f}"

    return (
        f"- μ = {entry['mu']:g} ({entry['jets']} jets, {entry['samples_per_jet']} samples each): pT share passed "
        f"through {entry['pt_share_passed_through']:.2f}, generated {entry['pt_share_generated']:.2f}; the generated "
        f"pT's error over the jet's pT {generated['per_sample']:.3f} per sample, "
        f"{generated['median_of_samples']['resolution']:.3f} for the median; mass resolution of VIPR's median "
        f"{res('vipr_median')}, with the generated part at its true energy {res('vipr_rest_at_true_energy')}, the "
        f"passed-through part alone {res('passed_through_alone')}; bounds: keep/drop {res('truth_keep')}, "
        f"fraction-weighted {res('fraction_weighted')}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pred", nargs="+", required=True, help="VIPR prediction files (validation jets)")
    parser.add_argument("--out", required=True, help="the JSON of the budgets, one per file")
    args = parser.parse_args(argv)
    result = [budget(path) for path in args.pred]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp-json")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    for entry in result:
        print(summary_line(entry))


if __name__ == "__main__":
    main()
