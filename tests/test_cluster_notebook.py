"""The cluster notebook runs end to end offline: a LocalCluster, a small corpus, its tables, Parquet."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_cluster.ipynb"


def test_cluster_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
def test_cluster_notebook_executes_offline(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "dashboard: http://127.0.0.1:" in text
    assert "on Dask: 2 workers, 2 threads" in text  # the announcement names the cluster
    assert "6 items: 6 transcribed, 0 failed; 6 requests" in text
    assert "6 items: 0 transcribed, 6 cached, 0 failed; 0 requests" in text
    assert "<Corpus 6 recordings (dask.dataframe, 1 partitions)>" in text
    assert "['recording=b01', 'recording=b02'" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 1  # the confidence chart
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("median_word_seconds" in t for t in tables)
