"""The classroom demo notebook runs end to end offline, and context_bias helps on the names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_helpers import assert_committed_clean, displayed, execute_offline

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_classroom_demo.ipynb"


def test_classroom_notebook_is_committed_without_outputs():
    assert_committed_clean(NOTEBOOK)


@pytest.mark.slow
def test_classroom_notebook_executes_offline(tmp_path, monkeypatch):
    outputs, text = execute_offline(NOTEBOOK, tmp_path, monkeypatch)
    assert (
        "backend=local" in displayed(outputs) and "backend=" not in text
    )  # announced as a neutral line, not stderr
    before, after, names_before, names_after = map(
        int, re.search(r"word error rate (\d+)% -> (\d+)%, on the names (\d+)% -> (\d+)%", text).groups()
    )
    assert after <= before and names_after < names_before  # the hints fixed at least one name
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3  # the transcript figure, the comparison, the talk-time chart
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) >= 2  # the playable table and the recorder
