"""Paper-quality figures (mplhep). Every function takes ``ax=None`` and returns the axes it drew on."""

from hepgen.plotting.calibration import plot_coverage, plot_pulls, plot_truth_quantiles
from hepgen.plotting.distributions import plot_distributions
from hepgen.plotting.scan import plot_grid_scores, plot_scan
from hepgen.plotting.style import METHOD_COLORS, color_of, label, label_figure, save_figure, use_style

__all__ = [
    "use_style",
    "label",
    "label_figure",
    "save_figure",
    "METHOD_COLORS",
    "color_of",
    "plot_truth_quantiles",
    "plot_coverage",
    "plot_pulls",
    "plot_distributions",
    "plot_scan",
    "plot_grid_scores",
]
