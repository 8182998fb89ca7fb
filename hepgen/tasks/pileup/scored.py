"""VIPR conditioned on a classifier's scores: ``hepgen train pileup --classifier-scores RUN`` gives the denoiser and
the multiplicity model the frozen per-particle classifier of RUN (``hepgen train puppiml``), whose p(pileup) of
each observed particle becomes one more input feature. The classifier must read the same inputs: the same detector,
input cloud, pass-through and context."""

from __future__ import annotations

from typing import Any

from hepgen.errors import HepgenInputError
from hepgen.tasks.pileup.inputs import passthrough_options
from hepgen.tasks.pileup.model import VIPRModel
from hepgen.tasks.settings import setting

__all__ = ["with_classifier_scores", "classifier_scores_setting"]


def classifier_scores_setting() -> Any:
    """The ``--classifier-scores RUN`` setting of every model that can read a classifier's scores."""
    return setting(
        "",
        "condition on the p(pileup) of this classifier run (train puppiml) for each observed particle",
        metavar="RUN",
    )


def with_classifier_scores(model: VIPRModel, run: str, settings: Any) -> VIPRModel:
    """``model`` (a VIPR or a hard-fraction model) rebuilt to read the scores of the classifier of ``run`` (adopted,
    frozen), for ``settings``' data; a latent-diffusion model keeps its adopted autoencoder."""
    from hepgen.tasks.run_folder import load_model

    classifier = load_model("puppiml", run)
    theirs = classifier.saved_with
    ours = {"detector": settings.detector, "input": settings.input, **passthrough_options(settings)}
    differing = [k for k, v in ours.items() if theirs.get(k, v) != v]
    if classifier.context_features != model.context_features:
        differing.append(f"context {classifier.context_features} (this run: {model.context_features})")
    if differing:
        raise HepgenInputError(
            f"--classifier-scores {run}: the classifier was trained on other inputs ({', '.join(map(str, differing))}); "
            "train it with the same --detector, --input, pass-through and track losses"
        )
    scored = type(model)(**(model.config | {"scorer": classifier.config}))
    if getattr(model, "latent", False):
        scored.adopt_autoencoder(model)
    scored.adopt_scorer(classifier)
    return scored
