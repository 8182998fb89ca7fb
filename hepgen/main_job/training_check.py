"""The main job's training check: a small neutrino flow trained for a few steps must have learned something.

"Learned" is judged on independent test events against what knows nothing of the event: the posterior median of px —
the component the event measures best (through MET), so the first a training learns — must have a smaller
resolution (IQR/1.349 of predicted − true) than the constant guess (the training events' median px), by more than
twice the paired bootstrap error; py and pz are reported beside it. It shows the training path works — not a result (the shipped models
are the results).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepgen.main_job.sections import predict_with, train_model

__all__ = ["training_check"]

#: Posterior samples per event and test events of the check.
_SAMPLES, _EVENTS = 32, 1000


def training_check(
    training: Path, test: Path, run: Path, fields: dict[str, Any], common: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Train a flow on ``training`` with ``fields`` into ``run``, predict ``test``; (markdown, metrics)."""
    from hepgen.io import read_event_outputs
    from hepgen.validation.metrics import paired_resolution_difference

    settings = {"accelerator": common["accelerator"], "devices": 1, "progress": common["progress"]}
    train_model("neutrino", fields, data=[str(training)], head="flow", out=str(run), **settings)
    predicted = run / "test_prediction.root"
    predict_with(
        "neutrino",
        {"samples": _SAMPLES, "max_events": _EVENTS},
        data=[str(test)],
        out=str(predicted),
        run=str(run),
        device=common["device"],
        progress=common["progress"],
    )
    outputs, _, _ = read_event_outputs(predicted, tree="Neutrino")
    constant = _median_training_momentum(training, fields.get("max_events"))
    truth = outputs["truth"].astype(np.float64)
    differences = {
        c: paired_resolution_difference(outputs["point"][:, j] - truth[:, j], constant[j] - truth[:, j])
        for j, c in enumerate(("px", "py", "pz"))
    }
    d = differences["px"]
    learned = bool(d["difference"] < -2 * d["error"])
    metrics = {
        "steps": fields.get("max_steps"),
        "training_events": fields.get("max_events"),
        "test_events": int(len(truth)),
        "resolution_minus_constant": differences,
        "learned": learned,
    }
    others = ", ".join(f"{c} {differences[c]['difference']:+.1f} ± {differences[c]['error']:.1f}" for c in ("py", "pz"))
    text = (
        f"Training check (not a result): a small flow trained for {fields.get('max_steps')} steps on "
        f"{fields.get('max_events')} events of `{training}`, on {len(truth)} test events: its px resolution is "
        f"{d['difference']:+.1f} ± {d['error']:.1f} GeV from the constant guess's ({others} GeV): "
        + ("**it learns**." if learned else "**it did not learn** — the training path is broken.")
        + "\n"
    )
    return text, metrics


def _median_training_momentum(training: Path, events: int | None) -> np.ndarray:
    """The median true neutrino (px, py, pz) [GeV] of the training events: the guess that knows nothing of the
    event."""
    from hepgen.io import read

    nu = read(training, "hepgen-ttbar", entry_stop=events).truth["neutrino"]
    pt, eta, phi = (np.asarray(nu[k][:, 0], dtype=np.float64) for k in ("pt", "eta", "phi"))
    return np.median(np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]), axis=0)
