"""The backend announcement: one stderr line in a terminal, a small neutral output in a notebook,
silenced by ``quiet=True`` or the global setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import voxnb
from voxnb.backend import Backend, announce

REPO = Path(__file__).resolve().parents[1]


def test_in_a_terminal_the_announcement_is_one_stderr_line(capsys):
    announce("voxnb.transcribe", Backend("local", "no key"), model="tiny", details="aligned words")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "voxnb.transcribe: backend=local (no key), model=tiny, aligned words\n"


def test_quiet_and_the_global_setting_silence_it(capsys, monkeypatch):
    backend = Backend("local", "no key")
    announce("voxnb.transcribe", backend, model="tiny", quiet=True)
    assert capsys.readouterr().err == ""
    with voxnb.set_options(announce=False):
        announce("voxnb.transcribe", backend, model="tiny")
        assert voxnb.get_option("announce") is False
    assert capsys.readouterr().err == ""
    announce("voxnb.transcribe", backend, model="tiny")  # restored after the block
    assert capsys.readouterr().err.startswith("voxnb.transcribe: backend=local")
    with pytest.raises(voxnb.ParameterError, match="unknown voxnb option"):
        voxnb.set_options(anounce=False)
    with pytest.raises(voxnb.ParameterError, match="True or False"):
        voxnb.set_options(announce="no")


def test_the_environment_sets_the_default():
    code = "import voxnb; print(voxnb.get_option('announce'))"
    env = dict(os.environ, VOXNB_ANNOUNCE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_in_a_notebook_it_is_a_small_html_line_and_never_stderr(tmp_path):
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import voxnb\nfrom voxnb.local.fake import FakeEngine\n"
            "t = voxnb.transcribe_many({'a': voxnb.data.path('two_voices')}, engine=FakeEngine(), "
            "cache=False, progress=False)"
        ),
        nbformat.v4.new_code_cell(
            "voxnb.set_options(announce=False)\n"
            "t = voxnb.transcribe_many({'a': voxnb.data.path('two_voices')}, engine=FakeEngine(), "
            "cache=False, progress=False)"
        ),
    ]
    # the kernel imports this tree's voxnb (PYTHONPATH is inherited)
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    first, second = (cell.outputs for cell in nb.cells)
    assert [o.output_type for o in first] == ["display_data"]
    html = first[0].data["text/html"]
    assert "voxnb-announce" in html and "backend=local (engine= given)" in html
    assert first[0].data["text/plain"].startswith("voxnb.transcribe_many: backend=local")
    assert not any(o.output_type == "stream" and o.name == "stderr" for o in first + second)
    assert second == []
