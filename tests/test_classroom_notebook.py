"""The classroom demo notebook runs end to end offline, and context_bias helps on the names."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_classroom_demo.ipynb"


def test_classroom_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
def test_classroom_notebook_executes_offline(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.setenv(
        "MPLBACKEND", "module://matplotlib_inline.backend_inline"
    )  # figures inline, as for a user
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    shown = "\n".join(
        o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "display_data"
    )
    assert "backend=local" in shown and "backend=" not in text  # announced as a neutral line, not stderr
    before, after, names_before, names_after = map(
        int, re.search(r"word error rate (\d+)% -> (\d+)%, on the names (\d+)% -> (\d+)%", text).groups()
    )
    assert after <= before and names_after < names_before  # the hints fixed at least one name
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3  # the transcript figure, the comparison, the talk-time chart
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) >= 2  # the playable table and the recorder
