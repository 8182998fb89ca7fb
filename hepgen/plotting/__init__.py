"""Paper-quality figures (mplhep). Every function takes ``ax=None`` and returns the axes it drew on."""

from hepgen.plotting.calibration import plot_coverage, plot_pulls, plot_truth_quantiles
from hepgen.plotting.distributions import plot_distributions
from hepgen.plotting.style import METHOD_COLORS, color_of, label, save_figure, use_style

__all__ = ["use_style", "label", "save_figure", "METHOD_COLORS", "color_of", "plot_truth_quantiles", "plot_coverage", "plot_pulls", "plot_distributions"]
