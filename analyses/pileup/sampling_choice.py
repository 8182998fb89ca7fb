"""The sampling each VIPR model was given on validation jets (``nfe_curve.py --choose``'s ``choice.json``,
``per_model``), read by the evaluation scripts.

    .venv/bin/python analyses/pileup/sampling_choice.py sampling CHOICE MODEL   # prints "SAMPLER STEPS"
    .venv/bin/python analyses/pileup/sampling_choice.py best CHOICE MODEL...   # the study's VIPR among MODELS

``best``: the model whose validation mass resolution at its chosen sampling is the lowest — the study's headline
VIPR, chosen where no test jet is read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def per_model(path: str | Path) -> dict[str, dict]:
    return json.loads(Path(path).read_text())["per_model"]


def sampling(path: str | Path, model: str) -> tuple[str, int]:
    """(sampler, steps) chosen for ``model``; a clear error where the choice has no such model."""
    choices = per_model(path)
    if model not in choices:
        raise SystemExit(f"{path} has no choice for {model!r} (it has {sorted(choices)}): run nfe_curve.py on it")
    return choices[model]["sampler"], int(choices[model]["steps"])


def best(path: str | Path, models: list[str]) -> str:
    """The model of the lowest validation mass resolution at its chosen sampling."""
    choices = per_model(path)
    missing = [m for m in models if "mass_resolution" not in choices.get(m, {})]
    if missing:
        raise SystemExit(f"{path}: no validation mass resolution for {missing}: run nfe_curve.py --choose again")
    return min(models, key=lambda m: choices[m]["mass_resolution"])


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[0] == "sampling":
        print(*sampling(argv[1], argv[2]))
    elif len(argv) >= 3 and argv[0] == "best":
        print(best(argv[1], argv[2:]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
