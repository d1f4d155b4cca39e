"""Figures in a notebook: shown exactly once, with the inline backend and with ipympl
(``%matplotlib widget``), executed in a real kernel by nbclient."""

from __future__ import annotations

from pathlib import Path

import ipympl  # noqa: F401  (declared: the widget backend the notebook asks for)
import nbclient
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"

SETUP = (
    "import voxnb\n"
    "audio = voxnb.data.audio('two_voices')\n"
    "t = voxnb.Transcript.from_response(voxnb.data.path('two_voices').with_suffix('.json'))"
)


def run(*cells: str) -> list[list[dict]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    return [cell.outputs for cell in nb.cells]


def figures(outputs: list[dict]) -> list[dict]:
    return [
        o
        for o in outputs
        if o.output_type in ("display_data", "execute_result") and ("image/png" in o.data or WIDGET in o.data)
    ]


@pytest.mark.slow
def test_matplotlib_widget_shows_each_plot_exactly_once(monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel starts as a user's would
    outputs = run(
        "%matplotlib widget\n" + SETUP,
        "t.plot(audio)",
        "fig = t.compare(t, audio)",  # assigned, not shown: as with the inline backend
        "fig",
        "from voxnb.figure_widget import fit_to_width\n"
        "before = fig.get_figwidth()\nfit_to_width(fig, 600)\n"
        "print(round(before, 2), round(fig.get_figwidth() * fig.dpi / fig.canvas.device_pixel_ratio))",
    )
    shown = figures(outputs[1])
    assert len(shown) == 1 and WIDGET in shown[0].data and len(outputs[1]) == 1
    assert figures(outputs[2]) == []
    assert len(figures(outputs[3])) == 1
    before, width = outputs[4][0].text.split()
    assert float(before) == 12.0 and int(width) == 600 - 60  # the cell's width less the toolbar


@pytest.mark.slow
def test_inline_backend_shows_each_plot_exactly_once(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run(SETUP, "t.plot(audio)", "t.compare(t, audio)")
    for cell in outputs[1:]:
        assert len(figures(cell)) == 1 and "image/png" in figures(cell)[0].data
