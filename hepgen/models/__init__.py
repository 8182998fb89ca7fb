"""Models: conditional density heads (MSE, Gaussian, mixture, zuko spline flow); later the EDM diffusion model."""

from hepgen.models.regressors import HEADS, FlowHead, GaussianHead, MixtureHead, PointHead, make_head

__all__ = ["HEADS", "PointHead", "GaussianHead", "MixtureHead", "FlowHead", "make_head"]
