"""Compare neutrino predictions (flow, mdn, gauss, mse, analytic) on the same events: accuracy and calibration.

* :mod:`~hepgen.validation.neutrino.estimates` — the point estimates of a posterior (median, mode, pz window mode);
* :mod:`~hepgen.validation.neutrino.evaluate` — :func:`validate_neutrino`: bias and resolution of every estimate,
  m(ℓν) of the samples, the calibration of every component;
* :mod:`~hepgen.validation.neutrino.assignment` — which jet is the leptonic b, per method;
* :mod:`~hepgen.validation.neutrino.report` — histograms, tables, summary and figures.
"""

from hepgen.validation.neutrino.assignment import MULTIPLICITIES, assignment_accuracy
from hepgen.validation.neutrino.estimates import PZ_WINDOW_HALF_WIDTH, point_estimates, with_eta
from hepgen.validation.neutrino.evaluate import evaluate_method, load_predictions, validate_neutrino
from hepgen.validation.neutrino.report import COMPONENTS, assignment_table, methods_table, neutrino_histograms

__all__ = [
    "COMPONENTS",
    "PZ_WINDOW_HALF_WIDTH",
    "MULTIPLICITIES",
    "with_eta",
    "point_estimates",
    "load_predictions",
    "evaluate_method",
    "assignment_accuracy",
    "validate_neutrino",
    "neutrino_histograms",
    "methods_table",
    "assignment_table",
]
