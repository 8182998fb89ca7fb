"""Models: conditional density heads (MSE, Gaussian, mixture, zuko spline flow) and EDM diffusion."""

from hepgen.models import edm, flow_matching, regressors
from hepgen.models.edm import *
from hepgen.models.flow_matching import *
from hepgen.models.regressors import *

__all__ = [*regressors.__all__, *edm.__all__, *flow_matching.__all__]
