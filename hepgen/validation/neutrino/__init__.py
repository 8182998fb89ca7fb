"""Compare neutrino predictions (flow, mdn, gauss, mse, analytic) on the same events: accuracy and calibration.

* :mod:`~hepgen.validation.neutrino.estimates` — the point estimates of a posterior (median, mode, pz window mode);
* :mod:`~hepgen.validation.neutrino.evaluate` — :func:`validate_neutrino`: bias and resolution of every estimate,
  m(ℓν) of the samples, the calibration of every component;
* :mod:`~hepgen.validation.neutrino.assignment` — which jet is the leptonic b, per method;
* :mod:`~hepgen.validation.neutrino.ttbar_mass` — m(tt̄) by the χ² with each method's neutrino;
* :mod:`~hepgen.validation.neutrino.report` — histograms, tables, summary and figures.
"""

from hepgen.validation.neutrino import assignment, estimates, evaluate, report
from hepgen.validation.neutrino.assignment import *
from hepgen.validation.neutrino.estimates import *
from hepgen.validation.neutrino.evaluate import *
from hepgen.validation.neutrino.report import *

__all__ = [*estimates.__all__, *evaluate.__all__, *assignment.__all__, *report.__all__]
