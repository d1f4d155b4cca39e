"""voxnb's figures under ``%matplotlib widget`` (ipympl): shown once, as wide as the cell.

ipympl shows every new figure at the end of the cell *and* the notebook shows the figure a
function returns, so a plot appeared twice; and its canvas keeps the figure's size in pixels,
wider than a narrow cell, which cuts the time axis. :func:`show_once_fitted` takes the figure
out of ipympl's queue and makes displaying it show one widget: the canvas, under an invisible
element that reports the output area's width, at which the figure is then redrawn (and again
whenever the cell's width changes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["is_widget_backend", "show_once_fitted"]

_HERE = Path(__file__).resolve().parent
#: horizontal pixels the canvas widget needs beside the figure (its toolbar and borders)
_CHROME_PX = 60
_MIN_WIDTH_PX = 320

_WIDTH_WIDGET: type | None = None


def is_widget_backend() -> bool:
    """Whether matplotlib draws with ipympl (``%matplotlib widget`` / ``ipympl``)."""
    import matplotlib

    return "ipympl" in matplotlib.get_backend().lower() or matplotlib.get_backend().lower() == "widget"


def _width_widget() -> type:
    global _WIDTH_WIDGET
    if _WIDTH_WIDGET is None:
        import anywidget
        import traitlets

        class CellWidth(anywidget.AnyWidget):
            """An invisible element that reports the width (CSS pixels) of the output area it is in."""

            _esm = _HERE / "figure_width.js"
            width = traitlets.Int(0).tag(sync=True)

        _WIDTH_WIDGET = CellWidth
    return _WIDTH_WIDGET


def fit_to_width(fig: Any, css_width: int) -> None:
    """Redraw *fig* at *css_width* CSS pixels wide (its height kept), as ipympl shows it."""
    canvas = fig.canvas
    ratio = getattr(canvas, "device_pixel_ratio", 1) or 1
    inches = max(css_width - _CHROME_PX, _MIN_WIDTH_PX) * ratio / fig.dpi
    if abs(inches - fig.get_figwidth()) * fig.dpi < 2:
        return
    fig.set_size_inches(inches, fig.get_figheight(), forward=True)
    left, right = getattr(fig, "_voxnb_margins", (None, None))
    if left is not None:  # margins stay the same in inches, as _new_figure set them
        fig.subplots_adjust(left=left / inches, right=1 - right / inches)
    for ax in fig.axes:  # every layer recomputes for the new pixel width
        ax.set_xlim(*ax.get_xlim())
    canvas.draw_idle()


def show_once_fitted(fig: Any) -> None:
    """Make *fig* (a pyplot figure under ipympl) show once, as one widget, at the cell's width."""
    try:
        from ipympl.backend_nbagg import _Backend_ipympl
    except ImportError:  # pragma: no cover - "widget" without ipympl cannot happen
        return
    if fig in _Backend_ipympl._to_show:  # ipympl would show it again at the end of the cell
        _Backend_ipympl._to_show.remove(fig)
    canvas = fig.canvas
    canvas.header_visible = False  # "Figure 3" says nothing the plot does not

    def display_fitted(**kwargs: Any) -> None:
        import ipywidgets
        from IPython.display import display

        sizer = _width_widget()()
        sizer.observe(lambda change: fit_to_width(fig, change["new"]), names="width")
        display(ipywidgets.VBox([sizer, canvas], layout=ipywidgets.Layout(width="100%")))

    # the notebook shows a returned figure through these, instead of a PNG next to the widget:
    # IPython's own printer for figures under widget backends calls manager.reshow()
    fig._ipython_display_ = display_fitted
    if canvas.manager is not None:
        canvas.manager.reshow = display_fitted
