"""hepgen: calibrated generative posteriors for collider physics.

Readers (:mod:`hepgen.io`) turn ROOT files into padded point clouds with
explicit masks; later modules generate samples, train conditional generative
models and validate their posteriors.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
