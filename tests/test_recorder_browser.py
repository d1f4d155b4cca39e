"""End to end: the Recorder in JupyterLab 4, driven by Playwright in headless Chromium.

A WAV is Chromium's fake microphone; the widget captures it, the kernel streams it to
``voxnb serve`` (the offline engine when installed), and the test checks what a user would see:
live text in the page while recording, and after Stop a transcript with the spoken words and a
captured take that correlates with the WAV that was fed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import voxnb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
#: content words of the fed clip ("Can you hear me clearly on the recording? Yes, the sound is
#: fine on my side of the room.") that a recogniser must find
SPOKEN = ["hear", "clearly", "recording", "sound", "fine", "side", "room"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed and could not be (as root, `make test` runs "
                    "`apt-get install -y chromium`)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offline_engine():
    try:
        from voxnb.local.engine import get_engine

        return get_engine()
    except voxnb.VoxnbError:
        return None


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("recorder-e2e")
    for name in ("nb", "out", "jupyter-config", "jupyter-runtime", "lab-settings", "lab-workspaces", "browser"):
        (work / name).mkdir()
    clip = voxnb.data.audio("two_voices").slice(0, 6.6)
    clip.save(work / "mic.wav")  # 16 kHz mono s16: Chromium converts it to its 44.1 kHz device
    return work


@pytest.fixture(scope="module")
def server():
    from voxnb.local.fake import FakeEngine
    from voxnb.local.server import ServerThread, create_app

    engine = offline_engine() or FakeEngine()
    with ServerThread(create_app(engine)) as thread:
        yield thread.url, engine


@pytest.fixture(scope="module")
def lab(work):
    chromium()
    pytest.importorskip("jupyterlab")
    pytest.importorskip("playwright.sync_api")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(work / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "lab-workspaces"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    subprocess.run([sys.executable, "-m", "jupyter", "labextension", "disable",
                    "@jupyterlab/apputils-extension:announcements"], env=env, check=True, capture_output=True)
    port, token = free_port(), secrets.token_hex(16)
    log = open(work / "lab.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work / 'nb'}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"JupyterLab did not start: {(work / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.25)
    try:
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def write_notebook(path: Path, server_url: str, out: Path) -> None:
    import nbformat

    record = f"import voxnb\nrec = voxnb.Recorder(base_url={server_url!r})\nrec"
    save = (
        "import json\n"
        "t = rec.wait(timeout=240)\n"
        f"rec.audio.save({str(out / 'captured.wav')!r})\n"
        f"json.dump({{'text': t.text, 'status': rec.status, 'capture': rec.capture, 'seconds': rec.seconds,\n"
        f"           'gaps': [g.as_dict() for g in rec.gaps], 'model': t.model}},\n"
        f"          open({str(out / 'summary.json')!r}, 'w'))"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(record), nbformat.v4.new_code_cell(save)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def ncc_best(captured: np.ndarray, reference: np.ndarray) -> float:
    """Normalised cross-correlation of the capture with the (looping) reference at the best lag."""
    n = len(captured)
    tiled = np.tile(reference, int(np.ceil(n / len(reference))) + 2)[: n + len(reference)]
    size = 1 << int(np.ceil(np.log2(len(tiled) + n)))
    corr = np.fft.irfft(np.fft.rfft(tiled, size) * np.conj(np.fft.rfft(captured, size)), size)
    lag = int(np.argmax(corr[: len(reference)]))
    aligned = tiled[lag : lag + n]
    return float(np.dot(aligned, captured) / (np.linalg.norm(aligned) * np.linalg.norm(captured) + 1e-12))


def run_cell(page, index: int) -> None:
    """Run one cell as a user does: click into it, press Ctrl+Enter, see it start."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    # the execution indicator says idle before the kernel's websocket is up, and a cell run
    # before that is dropped: try again until the prompt shows [*] or [n]
    for _ in range(6):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if re.search(r"\[(\*|\d+)\]", prompt.inner_text()):
                return
            page.wait_for_timeout(250)
    raise AssertionError(f"cell {index} never started running: is the kernel up?")


def test_recorder_in_jupyterlab_with_a_fake_microphone(work, server, lab):
    from playwright.sync_api import sync_playwright

    server_url, engine = server
    base, token = lab
    write_notebook(work / "nb" / "rec.ipynb", server_url, work / "out")
    live_samples: list[tuple[float, str]] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(work / "browser"), executable_path=chromium(), headless=True, permissions=["microphone"],
            viewport={"width": 1280, "height": 900},
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={work / 'mic.wav'}",
                  "--autoplay-policy=no-user-gesture-required"])
        try:
            page = context.pages[0] if context.pages else context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
            page.goto(f"{base}/lab/tree/rec.ipynb?reset&token={token}")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            run_cell(page, 0)
            start = page.locator(".voxnb-recorder-start")
            start.wait_for(timeout=60_000)
            start.click()
            t0 = time.monotonic()
            text = page.locator(".voxnb-recorder-text")
            # record at least 8 s, and until live text has shown up (a loaded 2-core CI box is slow)
            while time.monotonic() - t0 < 8 or (not any(s for _, s in live_samples) and time.monotonic() - t0 < 60):
                live_samples.append((time.monotonic() - t0, text.inner_text()))
                page.wait_for_timeout(500)
            status_while_recording = page.locator(".voxnb-recorder-status").inner_text()
            page.locator(".voxnb-recorder-stop").click()
            clicked = time.monotonic() - t0
            page.wait_for_function(
                "() => { const s = document.querySelector('.voxnb-recorder-status');"
                " return s && /transcribed|error|failed/i.test(s.textContent); }", timeout=240_000)
            final_status = page.locator(".voxnb-recorder-status").inner_text()
            page.screenshot(path=str(work / "out" / "recorder.png"))
            assert "transcribed" in final_status, final_status
            run_cell(page, 1)
            summary_path = work / "out" / "summary.json"
            deadline = time.monotonic() + 120
            while not summary_path.exists() and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert summary_path.exists(), "the notebook's second cell did not write its summary"
        except Exception:
            page.screenshot(path=str(work / "out" / "failure.png"))
            (work / "out" / "console.txt").write_text("\n".join(console))
            print(f"screenshot and browser console in {work / 'out'}")
            raise
        finally:
            context.close()

    summary = json.loads((work / "out" / "summary.json").read_text())
    # live text appeared in the page while recording
    live = [s for _, s in live_samples if s.strip()]
    assert live, f"no live text while recording; status was {status_while_recording!r}"
    assert summary["status"] == "done" and summary["gaps"] == []
    assert summary["capture"]["mode"] == "worklet" and summary["capture"]["ctx_rate"] in (44100, 48000)
    assert abs(summary["seconds"] - clicked) < 1.5
    # the captured take is the fed WAV: non-silent and correlated
    captured = voxnb.Audio.load(work / "out" / "captured.wav").y
    reference = voxnb.Audio.load(work / "mic.wav").y
    rms = float(np.sqrt(np.mean((captured * 32768.0) ** 2)))
    assert rms > 100, f"the capture is silent (RMS {rms:.0f}): the fake microphone file was not used"
    ncc = ncc_best(captured, reference)
    first_live = next(t for t, text in live_samples if text.strip())
    print(f"capture {summary['seconds']:.1f} s at {summary['capture']['ctx_rate']} Hz, RMS {rms:.0f}, NCC {ncc:.3f}; "
          f"first live text {first_live:.1f} s after Start; engine {summary['model']}")
    assert ncc > 0.5, f"the capture does not match the fed WAV (NCC {ncc:.3f})"
    # the transcript holds the spoken words (a real recogniser), or the test engine's exact text
    if summary["model"] == "voxnb-deterministic-test-engine":
        expected = engine.transcribe(captured)["text"]
        assert summary["text"].strip() == expected.strip()
    else:
        words = summary["text"].lower()
        found = [w for w in SPOKEN if w in words]
        assert len(found) >= 4, f"spoken words missing from {summary['text']!r}"
