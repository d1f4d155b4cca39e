"""Running a notebook of the project as a user would: a real kernel, offline, figures inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest


def execute_offline(path: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], str]:
    """Execute the notebook at *path* in *cwd* with no API key; return its outputs and all printed text."""
    from nbclient import NotebookClient

    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # figures inline
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs, "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def displayed(outputs: list[Any]) -> str:
    """The plain text of every display (the backend line is one in a notebook, never a stream)."""
    return "\n".join(
        o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "display_data"
    )


def assert_committed_clean(path: Path) -> None:
    """The notebook is valid and committed without outputs."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
