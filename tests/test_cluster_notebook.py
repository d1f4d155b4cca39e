"""The cluster notebook runs end to end offline: a LocalCluster, a small corpus, its tables, Parquet."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_helpers import assert_committed_clean, displayed, execute_offline

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_cluster.ipynb"


def test_cluster_notebook_is_committed_without_outputs():
    assert_committed_clean(NOTEBOOK)


@pytest.mark.slow
def test_cluster_notebook_executes_offline(tmp_path, monkeypatch):
    outputs, text = execute_offline(NOTEBOOK, tmp_path, monkeypatch)
    assert "dashboard: http://127.0.0.1:" in text
    assert "on Dask: 2 workers, 2 threads" in displayed(outputs)  # the announcement names the cluster
    assert "6 items: 6 transcribed, 0 failed; 6 requests" in text
    assert "6 items: 0 transcribed, 6 cached, 0 failed; 0 requests" in text
    assert "<Corpus 6 recordings (dask.dataframe, 1 partitions)>" in text
    assert "['recording=b01', 'recording=b02'" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 1  # the confidence chart
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("median_word_seconds" in t for t in tables)
