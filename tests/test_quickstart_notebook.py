"""`voxnb demo` end to end: the offline transcription, its tables and figure, and the quickstart
notebook executed with nbclient (one run covers both; it is the suite's real notebook test)."""

from __future__ import annotations

import json

import nbformat
import pytest

import voxnb
from voxnb.cli import main
from voxnb.demo import QUICKSTART


@pytest.mark.slow
def test_demo_writes_tables_figure_and_the_executed_quickstart(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "segments:" in printed and "speakers:" in printed
    for speaker in ("speaker_1", "speaker_2", "speaker_3"):
        assert speaker in printed
    assert f"outputs in {tmp_path}" in printed

    png = tmp_path / "dialogue.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    saved = voxnb.load_transcript(tmp_path / "dialogue.transcript.json")
    assert saved.backend == "local" and len(saved.speakers) == 3
    assert set(saved.words["timing"]) == {"api"}
    assert (tmp_path / "dialogue.srt").read_text().startswith("1\n")

    executed = nbformat.read(tmp_path / "01_quickstart.ipynb", as_version=4)
    source = nbformat.read(QUICKSTART, as_version=4)
    assert [c.source for c in executed.cells] == [c.source for c in source.cells]
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "every code cell ran"
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the backend is announced as a small neutral output line, not on stderr (a pink box in Jupyter)
    shown = "\n".join(
        o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "display_data"
    )
    assert "backend=local (no MISTRAL_API_KEY and no base_url)" in shown
    assert "backend=" not in "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "context_bias: WER" in text
    assert (
        sum("image/png" in o.get("data", {}) for o in outputs) >= 2
    )  # the transcript figure and the comparison
    html = (tmp_path / "01_quickstart.html").read_text()
    assert "<html" in html and "Traceback" not in html
    assert json.loads((tmp_path / "quickstart.transcript.json").read_text())


def test_quickstart_is_committed_without_outputs():
    notebook = nbformat.read(QUICKSTART, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    nbformat.validate(notebook)
