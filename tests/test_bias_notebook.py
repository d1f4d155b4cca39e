"""notebooks/02_context_bias_lab.ipynb runs end to end offline (real engine, real audio) in a kernel."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_context_bias_lab.ipynb"


@pytest.mark.slow
def test_context_bias_lab_notebook_executes_offline(monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # read the kernel's own numbers back after the notebook has run
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json\n"
        "print('MEASURES=' + json.dumps({c: {**s.measures, **s.info} for c, s in exp.scores.items()}))"
    ))  # fmt: skip
    # the suite draws headless (Agg); the kernel should draw inline as in Jupyter
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()

    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out.get("evalue")
            texts.append(out.get("text", "") + out.get("data", {}).get("text/plain", ""))
    text = "\n".join(texts)
    assert "60/60 transcribed, 0 failed" in text
    # the batch section: one job on voxnb serve, the same transcripts as the in-process run
    assert "batch job: 12 transcripts, 12 identical to the in-process run" in text
    assert "SUCCESS: 12/12 done, 0 failed" in text
    assert "backend: local | model: faster-whisper-tiny.en (local)" in text
    measures = json.loads(text.split("MEASURES=")[1].splitlines()[0])
    assert set(measures) == {"none", "oracle", "oracle+20"}
    assert all(m["backend"] == "local" and m["convention"] == "reference-rare" for m in measures.values())
    # the lab's point, measured for real: the oracle list helps the biased words
    assert measures["oracle"]["b_wer"] < measures["none"]["b_wer"]
    assert measures["oracle"]["term_recall"] > measures["none"]["term_recall"]
    assert not math.isnan(measures["oracle+20"]["distractor_insertion_rate"])
    # figures were drawn
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 3
