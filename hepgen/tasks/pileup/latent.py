"""Latent diffusion for VIPR, in two trainings: ``--objective autoencoder`` trains the set autoencoder of the hard
jets (and the multiplicity model), then ``--autoencoder RUN`` trains the denoiser in that autoencoder's latent space
(frozen, with the constituents' standardisation it was trained with). :func:`latent_model` builds either."""

from __future__ import annotations

from typing import Any

from hepgen.errors import HepgenInputError
from hepgen.tasks.base import constructor_arguments
from hepgen.tasks.pileup.model import VIPRModel

__all__ = ["wants_latent_model", "latent_model"]

#: The autoencoder's architecture, which a latent-diffusion model takes from the autoencoder's run.
_AUTOENCODER_KEYS = ("latent_tokens", "latent_dim", "autoencoder_dim", "autoencoder_blocks", "max_hard", "heads")


def wants_latent_model(settings: Any) -> bool:
    """Whether ``settings`` train an autoencoder or a latent-diffusion model."""
    return settings.objective == "autoencoder" or bool(settings.autoencoder)


def latent_model(task: Any, settings: Any) -> VIPRModel:
    """The model of an autoencoder training (its width ``dim``, depth ``encoder_blocks``), or of a latent-diffusion
    training with the frozen autoencoder of ``settings.autoencoder``."""
    arguments = constructor_arguments(VIPRModel, settings)
    if settings.objective == "autoencoder":
        if settings.autoencoder:
            raise HepgenInputError(
                "--autoencoder RUN trains in that run's latent space: not with --objective autoencoder"
            )
        shape = {"latent_tokens": settings.autoencoder_tokens, "latent_dim": settings.autoencoder_latent_dim}
        return VIPRModel(**arguments, **shape, autoencoder_dim=settings.dim, autoencoder_blocks=settings.encoder_blocks)
    from hepgen.tasks.run_folder import load_model

    trained = load_model(task, settings.autoencoder)
    if trained.objective != "autoencoder":
        raise HepgenInputError(
            f"--autoencoder {settings.autoencoder}: a run of objective {trained.objective!r}; give a run trained "
            "with --objective autoencoder"
        )
    differing = [k for k in ("max_hard", "heads") if trained.config[k] != arguments[k]]
    if differing:
        raise HepgenInputError(
            f"--autoencoder {settings.autoencoder}: its {', '.join(differing)} differ from this run's; use the same"
        )
    model = VIPRModel(**(arguments | {k: trained.config[k] for k in _AUTOENCODER_KEYS}))
    model.adopt_autoencoder(trained)
    return model
