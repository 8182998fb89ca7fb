"""Paper style: mplhep with a configurable experiment label (neutral "Simulation" by default)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

from hepgen.io.writer import atomic_path

__all__ = ["use_style", "label", "label_figure", "save_figure", "METHOD_COLORS", "color_of"]

#: One colour per method, the same in every figure (colour-blind-safe Okabe–Ito palette).
METHOD_COLORS: dict[str, str] = {
    "truth": "#000000",
    "flow": "#0072B2",
    "mdn": "#D55E00",
    "gauss": "#E69F00",
    "mse": "#009E73",
    "analytic": "#CC79A7",
    "observed": "#999999",
    "softdrop": "#56B4E9",
    "chs": "#E69F00",
    "chs_softdrop": "#F0E442",
    "softkiller": "#CC79A7",
    "chs_softkiller": "#D55E00",
    "puppiml": "#009E73",
    "puppiml_observed": "#6BBF9B",
    "vipr": "#0072B2",
    "vipr_samples": "#0072B2",
    "vipr_observed": "#7A4FA3",
    "vipr_observed_samples": "#7A4FA3",
    "ellipse": "#CC79A7",
    "weighting": "#E69F00",
    "kinreco": "#009E73",
    "puppi": "#882255",
    "puppi_tuned": "#AA4499",
    "puppi_softdrop": "#44AA99",
}


#: Colours for a second run of a method in one figure, and for methods without a colour of their own (Okabe–Ito, then
#: Paul Tol's muted palette): the first not yet on the axes is taken, so no two methods of a figure share one.
_SPARE_COLORS = (
    "#D55E00",
    "#009E73",
    "#56B4E9",
    "#7A4FA3",
    "#F0E442",
    "#332288",
    "#117733",
    "#88CCEE",
    "#999933",
    "#661100",
    "#6699CC",
    "#DDCC77",
)


def _colors_on(ax) -> set[str]:
    """The colours already drawn on ``ax`` (lines and histogram steps), as hex."""
    from matplotlib.colors import to_hex

    drawn = [line.get_color() for line in ax.lines] + [patch.get_edgecolor() for patch in ax.patches]
    return {to_hex(c) for c in drawn}


def color_of(name: str, ax=None) -> str | None:
    """The fixed colour of a method (``flow (run)`` takes ``flow``'s unless ``ax`` already shows it: two runs of
    one method in a figure get different colours); for other names the first spare colour not yet on ``ax`` (None
    without ``ax``)."""
    color = METHOD_COLORS.get(name)
    if color is None:
        color = METHOD_COLORS.get(name.split(" ")[0])
        if color is not None and ax is not None and color.lower() in _colors_on(ax):
            color = None
    if color is None and ax is not None:
        drawn = _colors_on(ax)
        color = next(
            (c for c in _SPARE_COLORS if c.lower() not in drawn), _SPARE_COLORS[len(drawn) % len(_SPARE_COLORS)]
        )
    return color


def use_style(style: str = "ROOT") -> None:
    """Apply an mplhep style (``ROOT``, ``CMS``, ``ATLAS``, ...) and the non-interactive backend if no display."""
    if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import mplhep

    mplhep.style.use(style)


def label(ax, text: str = "Simulation", *, right: str = "√s = 13 TeV", experiment: str | None = None):
    """Put the experiment label on ``ax`` (no experiment name unless ``experiment`` is given)."""
    import mplhep

    if experiment:
        return mplhep.label.exp_label(exp=experiment, text=text, rlabel=right, ax=ax, data=False)
    ax.text(0.0, 1.01, text, transform=ax.transAxes, ha="left", va="bottom", fontsize="small", style="italic")
    ax.text(1.0, 1.01, right, transform=ax.transAxes, ha="right", va="bottom", fontsize="small")
    return ax


def label_figure(
    fig, text: str = "Simulation", *, right: str = "√s = 13 TeV", experiment: str | None = None, title: str = ""
):
    """Label a multi-panel figure once above all panels (experiment name only if given), with an optional title."""
    left = f"{experiment} {text}" if experiment else text
    fig.text(0.01, 1.0, left, ha="left", va="bottom", style="italic", fontsize="medium")
    fig.text(0.99, 1.0, right, ha="right", va="bottom", fontsize="medium")
    if title:
        fig.text(0.5, 1.0, title, ha="center", va="bottom", fontsize="medium")
    return fig


def save_figure(fig, path: str | os.PathLike, *, formats: tuple[str, ...] = ("pdf", "png")) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats``, cropped to its content; returns the written files.

    The layout runs once and the tight bounding box is measured once, for every format: ``bbox_inches="tight"``
    with a layout engine would lay out and draw the figure twice per format, which makes many-panel figures
    several times slower. The figure keeps the computed layout afterwards.
    """
    import matplotlib as mpl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.draw_without_rendering()  # the layout engine places every artist, once
    engine = fig.get_layout_engine()
    if engine is not None and fig._check_layout_engines_compat(
        engine, mpl.layout_engine.PlaceHolderLayoutEngine(engine.adjust_compatible, engine.colorbar_gridspec)
    ):
        # keep the positions just computed: the layout would otherwise run again in every draw below
        fig.set_layout_engine(
            mpl.layout_engine.PlaceHolderLayoutEngine(engine.adjust_compatible, engine.colorbar_gridspec)
        )
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(mpl.rcParams["savefig.pad_inches"])
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        with atomic_path(target) as tmp:  # a killed job never leaves half a figure
            fig.savefig(tmp, format=fmt, bbox_inches=bbox, dpi=150 if fmt == "png" else None)
        written.append(target)
    return written
