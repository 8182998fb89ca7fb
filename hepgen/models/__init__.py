"""Models: conditional density heads (MSE, Gaussian, mixture, zuko spline flow) and EDM diffusion."""

from hepgen.models.edm import (
    SAMPLERS,
    EDMLoss,
    EDMPrecond,
    ExponentialMovingAverage,
    edm_coefficients,
    euler_sampler,
    heun_sampler,
    karras_sigmas,
)
from hepgen.models.regressors import HEADS, FlowHead, GaussianHead, MixtureHead, PointHead, make_head

__all__ = [
    "HEADS",
    "PointHead",
    "GaussianHead",
    "MixtureHead",
    "FlowHead",
    "make_head",
    "edm_coefficients",
    "EDMPrecond",
    "EDMLoss",
    "karras_sigmas",
    "heun_sampler",
    "euler_sampler",
    "SAMPLERS",
    "ExponentialMovingAverage",
]
