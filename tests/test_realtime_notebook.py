"""notebooks/03_realtime_recorder.ipynb runs end to end in a kernel (offline engine, no key).

Headless there is no browser take, so the notebook streams the sample through the realtime path
itself; the Recorder cell still builds the widget in the kernel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_realtime_recorder.ipynb"


@pytest.mark.slow
def test_realtime_notebook_executes_offline(monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "print('RESULT', len(live.transcript.segments), round(audio.duration, 1), type(rec).__name__)"
        )
    )
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()

    texts, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{out.get('ename')}: {out.get('evalue')}"
            texts.append(out.get("text", "") + out.get("data", {}).get("text/plain", ""))
            images += "image/png" in out.get("data", {})
    text = "\n".join(texts)
    assert "backend=local" in text  # the choice was announced
    assert "morning" in text.lower()  # live text was printed as it came
    segments, seconds, widget = text.split("RESULT ")[1].split()[:3]
    assert int(segments) >= 1 and float(seconds) == pytest.approx(13.1, abs=0.05) and widget == "Recorder"
    assert images >= 2  # the take's plot and the comparison
    # the bias list fixes names in the batch re-transcription (the cell's dict output)
    found = next(t for t in texts if "batch + context_bias" in t and "realtime" in t and "[" in t)
    assert "'Voxtral'" in found.split("'batch + context_bias'")[1]
