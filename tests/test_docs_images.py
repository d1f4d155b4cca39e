"""The README's pictures come from scripts/docs_images.py; this runs it (quick mode, into a temporary
folder) so that a change that breaks the script fails here, and checks each picture's size."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PICTURES = {  # name: (smallest width, smallest height) in pixels
    "transcript.png": (800, 300),
    "segment-table.png": (700, 150),
    "bias-lab.png": (300, 200),
    "recorder-captions.png": (700, 150),
}

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_the_readme_pictures_script_runs_and_makes_every_picture(tmp_path):
    assert shutil.which("chromium") or shutil.which("chromium-browser"), (
        "chromium is not installed (as root, `make test` installs it)"
    )
    from PIL import Image

    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "docs_images.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for name, (min_width, min_height) in PICTURES.items():
        width, height = Image.open(tmp_path / name).size
        assert width >= min_width and height >= min_height, (name, width, height)
    readme = (REPO / "README.md").read_text()
    for name in PICTURES:  # the README shows each picture, from the folder the script writes by default
        assert f"docs/images/{name}" in readme and (REPO / "docs" / "images" / name).is_file()
