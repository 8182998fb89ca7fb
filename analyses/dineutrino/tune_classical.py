"""The classical dilepton methods tuned like the flow: Neutrino Weighting's MET resolution, η grid and top-mass scan
and the smeared kinematic reconstruction's b candidates and m(ℓb) cut, each chosen on validation events (never the
test events), with each setting's cost per event.

    .venv/bin/python analyses/dineutrino/tune_classical.py --validation runs/ttbar_dilepton/validation.root \\
        --templates data/ttbar_dilepton.root --out analyses/dineutrino/classical_choice.json
    .venv/bin/python analyses/dineutrino/tune_classical.py --flags weighting   # the chosen settings as CLI flags

The choice: the smallest m(tt̄) resolution (IQR/1.349 of m/m_true − 1) on the events the setting answers, among the
settings that answer at least as many events as the best-answering one less two points (a setting may not buy its
resolution by dropping the hard events). Writes the choice, every setting's scores and cost to ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from hepgen.io import read
from hepgen.io.writer import atomic_path
from hepgen.physics.dilepton_kinreco import MLB_MAX
from hepgen.physics.dilepton_neutrinos import neutrino_weighting, solve_with_pairings, ttbar_observables
from hepgen.tasks.dineutrino.classical import b_candidates_p4
from hepgen.tasks.dineutrino.features import dineutrino_arrays
from hepgen.tasks.dineutrino.kinreco import kinreco_of_arrays, templates_from_events
from hepgen.validation.metrics import bias_resolution

CHOICE = Path(__file__).with_name("classical_choice.json")
#: Neutrino Weighting's candidates: σ_MET [GeV], the η grid (±max, points), the top masses [GeV].
WEIGHTING_GRID = {
    "weighting_met_resolution": [10.0, 15.0, 20.0, 30.0, 40.0],
    "weighting_eta": [(2.5, 21), (3.0, 31), (2.5, 51)],
    "weighting_top_masses": [[172.5], [float(m) for m in np.arange(165.0, 180.1, 2.5)]],
}
#: The kinematic reconstruction's candidates: the jets tried as b (leading, b-tagged first) and the m(ℓb) cut [GeV].
KINRECO_GRID = {"kinreco_jets": [2, 3, 4], "kinreco_mlb_max": [MLB_MAX, 2 * MLB_MAX]}
ANSWER_MARGIN = 0.02


def _score(arrays, nu: np.ndarray, nubar: np.ndarray, b_pair: np.ndarray, answered: np.ndarray) -> dict[str, float]:
    leptons = arrays.leptons_p4.astype(np.float64)
    rows = np.flatnonzero(answered)
    observed = ttbar_observables(
        b_pair[rows, 0], leptons[rows, 0], nu[rows], b_pair[rows, 1], leptons[rows, 1], nubar[rows]
    )
    truth = arrays.truth_observables["m_ttbar"][rows]
    _, resolution = bias_resolution((observed["m_ttbar"] / truth - 1.0)[:, None])
    return {"answered": float(answered.mean()), "m_ttbar_resolution": float(resolution)}


def tune_weighting(arrays) -> list[dict]:
    b_pair = b_candidates_p4(arrays)
    leptons, met = arrays.leptons_p4.astype(np.float64), arrays.objects["met"][:, 0].astype(np.float64)
    rows = []
    for sigma, (eta_max, points), masses in itertools.product(*WEIGHTING_GRID.values()):
        options = {
            "etas": np.linspace(-eta_max, eta_max, points),
            "top_masses": np.array(masses),
            "met_resolution": sigma,
        }
        start = time.perf_counter()
        solutions, pairing = solve_with_pairings(
            neutrino_weighting, b_pair, leptons[:, 0], leptons[:, 1], met, **options
        )
        cost = (time.perf_counter() - start) / len(b_pair)
        ordered = np.where((pairing == 1)[:, None, None], b_pair[:, ::-1], b_pair)
        answered = ~solutions.failed
        nu, nubar = np.nan_to_num(solutions.chosen_nu), np.nan_to_num(solutions.chosen_nubar)
        settings = {
            "weighting_met_resolution": sigma,
            "weighting_eta_max": eta_max,
            "weighting_eta_points": points,
            "weighting_top_masses": masses,
        }
        rows.append({"settings": settings, **_score(arrays, nu, nubar, ordered, answered), "ms_per_event": 1e3 * cost})
    return rows


def tune_kinreco(arrays, templates) -> list[dict]:
    rows = []
    for jets, mlb_max in itertools.product(*KINRECO_GRID.values()):
        start = time.perf_counter()
        result = kinreco_of_arrays(arrays, templates, seed=1, max_jets=jets, mlb_max=mlb_max)
        cost = (time.perf_counter() - start) / len(arrays.leptons_p4)
        b_pair = np.stack([result.b, result.bbar], axis=1)
        score = _score(
            arrays, np.nan_to_num(result.nu), np.nan_to_num(result.nubar), np.nan_to_num(b_pair), result.answered
        )
        settings = {"kinreco_jets": jets, "kinreco_mlb_max": mlb_max}
        rows.append({"settings": settings, **score, "ms_per_event": 1e3 * cost})
    return rows


def choose(rows: list[dict]) -> dict:
    """The smallest m(tt̄) resolution among the settings answering within ANSWER_MARGIN of the best-answering one."""
    most = max(r["answered"] for r in rows)
    eligible = [r for r in rows if r["answered"] >= most - ANSWER_MARGIN]
    return min(eligible, key=lambda r: r["m_ttbar_resolution"])


def flags(method: str, path: Path = CHOICE) -> list[str]:
    """The chosen settings of ``method`` as ``hepgen predict dineutrino`` flags."""
    settings = json.loads(path.read_text())[method]["choice"]["settings"]
    out = []
    for key, value in settings.items():
        out += [f"--{key.replace('_', '-')}", *(str(v) for v in (value if isinstance(value, list) else [value]))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validation", help="validation events (never the test events)")
    parser.add_argument("--templates", help="training events for the kinematic reconstruction's templates")
    parser.add_argument("--out", type=Path, default=CHOICE)
    parser.add_argument("--flags", choices=("weighting", "kinreco"), help="print the chosen settings as flags")
    args = parser.parse_args()
    if args.flags:
        print(" ".join(flags(args.flags, args.out)))
        return
    arrays = dineutrino_arrays(read(args.validation, "hepgen-ttbar-dilepton"), require_truth=True)
    templates = templates_from_events(read(args.templates, "hepgen-ttbar-dilepton"))
    result = {"validation": args.validation, "events": len(arrays.leptons_p4), "templates": args.templates}
    for method, rows in (("weighting", tune_weighting(arrays)), ("kinreco", tune_kinreco(arrays, templates))):
        result[method] = {"choice": choose(rows), "scores": rows}
        for r in rows:
            print(
                method,
                r["settings"],
                f"answered {r['answered']:.3f}",
                f"m(tt̄) res {r['m_ttbar_resolution']:.4f}",
                f"{r['ms_per_event']:.2f} ms/event",
            )
        print(method, "chosen:", result[method]["choice"]["settings"])
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
