"""End to end: the Recorder in JupyterLab 4, driven by Playwright in headless Chromium.

A WAV is Chromium's fake microphone; the widget captures it, the kernel streams it to
``voxnb serve`` (the offline engine when installed), and the test checks what a user would see:
live text in the page while recording, and after Stop a transcript with the spoken words and a
captured take that correlates with the WAV that was fed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
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
        pytest.fail(
            "chromium is not installed (as root, `make test` runs `apt-get install -y chromium`; "
            "otherwise install it yourself)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("recorder-e2e")
    for name in (
        "nb",
        "out",
        "jupyter-config",
        "jupyter-runtime",
        "lab-settings",
        "lab-workspaces",
        "browser",
    ):
        (work / name).mkdir()
    clip = voxnb.data.audio("two_voices").slice(0, 6.6)
    clip.save(work / "mic.wav")  # 16 kHz mono s16: Chromium converts it to its 44.1 kHz device
    return work


@pytest.fixture(scope="module")
def server():
    from voxnb.local.engine import get_engine
    from voxnb.serve import ServerThread, create_app

    # the offline engine the recorder is meant to be used with: failing to load it fails the test
    engine = get_engine()
    with ServerThread(create_app(engine)) as thread:
        yield thread.url, engine


@pytest.fixture(scope="module")
def lab(work):
    chromium()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(work / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "lab-workspaces"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        MPLBACKEND="module://matplotlib_inline.backend_inline",  # figures inline, as for a user
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "labextension",
            "disable",
            "@jupyterlab/apputils-extension:announcements",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    port, token = free_port(), secrets.token_hex(16)
    log = open(work / "lab.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work / 'nb'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # the insecure-page scenario reaches this loopback server under another host name
            "--ServerApp.allow_remote_access=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
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


def write_notebook(path: Path, *cells: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def save_take(out: Path) -> str:
    """A cell that waits for the take and writes its audio and a summary into *out*."""
    return (
        "import json\n"
        "t = rec.wait(timeout=240)\n"
        f"rec.audio.save({str(out / 'captured.wav')!r})\n"
        "json.dump({'text': t.text, 'status': rec.status, 'capture': rec.capture, 'seconds': rec.seconds,\n"
        "           'chunks': rec._seq + 1,\n"
        "           'gaps': [g.as_dict() for g in rec.gaps], 'model': t.model},\n"
        f"          open({str(out / 'summary.json')!r}, 'w'))"
    )


def chunks_sent(page) -> int:
    """How many chunks the widget says it sent (recorder.js keeps the count on its root)."""
    return int(page.locator(".voxnb-recorder").first.get_attribute("data-chunks"))


def assert_every_chunk_arrived(summary: dict, sent: int) -> None:
    """The take holds every chunk the browser sent, each 100 ms but the flushed last one.

    Counted in chunks and samples, not against the test's clock: a loaded machine delays the
    chunks, it must not lose them."""
    assert summary["chunks"] == sent and summary["gaps"] == []
    assert (sent - 1) * 0.1 < summary["seconds"] <= sent * 0.1 + 1e-9


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


@contextlib.contextmanager
def lab_page(work: Path, url: str, *, microphone: bool = True, args: tuple[str, ...] = ()):
    """A headless Chromium page on *url*; the WAV is the microphone when *microphone* is set.

    On failure, a screenshot and the browser console are left in ``work/out``.
    """
    from playwright.sync_api import sync_playwright

    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={work / 'mic.wav'}",
        "--autoplay-policy=no-user-gesture-required",
        *args,
    ]
    if microphone:  # allowed without a prompt; headless without it means NotAllowedError
        flags.append("--use-fake-ui-for-media-stream")
    profile = Path(tempfile.mkdtemp(dir=work / "browser"))
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium(),
            headless=True,
            permissions=["microphone"] if microphone else [],
            viewport={"width": 1280, "height": 900},
            args=flags,
        )
        page = context.pages[0] if context.pages else context.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        try:
            page.goto(url)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            yield page
        except Exception:
            name = url.split("/lab/tree/")[1].split(".ipynb")[0]
            page.screenshot(path=str(work / "out" / f"failure-{name}.png"))
            (work / "out" / f"console-{name}.txt").write_text("\n".join(console))
            print(f"screenshot and browser console in {work / 'out'}")
            raise
        finally:
            context.close()


def status_text(page) -> str:
    return page.locator(".voxnb-recorder-status").inner_text()


def wait_for_status(page, pattern: str, timeout: float) -> str:
    """Wait until the widget's status line matches *pattern* (a regex); return it."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, status := status_text(page), re.I):
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched {pattern!r}; it says {status!r}")
        page.wait_for_timeout(250)
    return status


def wait_for_file(page, path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert path.exists(), f"the notebook did not write {path.name}"


def output_text(page, index: int) -> str:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def wait_for_output(page, index: int, pattern: str, timeout: float = 30) -> str:
    """Wait until cell *index*'s output matches *pattern* (a regex); return it. (Counting output
    areas is not enough: a cell may show several, such as the backend line and a widget.)"""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text := output_text(page, index)):
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index} never printed {pattern!r}; it shows {text!r}")
        page.wait_for_timeout(250)
    return text


def test_recorder_in_jupyterlab_with_a_fake_microphone(work, server, lab):
    server_url, engine = server
    base, token = lab
    out = work / "out"
    write_notebook(
        work / "nb" / "rec.ipynb",
        f"import voxnb\nrec = voxnb.Recorder(base_url={server_url!r})\nrec",
        save_take(out),
    )
    live_samples: list[tuple[float, str]] = []
    with lab_page(work, f"{base}/lab/tree/rec.ipynb?reset&token={token}") as page:
        run_cell(page, 0)
        start = page.locator(".voxnb-recorder-start")
        start.wait_for(timeout=60_000)
        start.click()
        t0 = time.monotonic()
        text = page.locator(".voxnb-recorder-text")
        # record at least 8 s, and until live text has shown up (a loaded 2-core CI box is slow)
        while time.monotonic() - t0 < 8 or (
            not any(s for _, s in live_samples) and time.monotonic() - t0 < 60
        ):
            live_samples.append((time.monotonic() - t0, text.inner_text()))
            page.wait_for_timeout(500)
        status_while_recording = status_text(page)
        page.locator(".voxnb-recorder-stop").click()
        final_status = wait_for_status(page, "transcribed|error|failed", 240)
        sent = chunks_sent(page)
        page.screenshot(path=str(out / "recorder.png"))
        assert "transcribed" in final_status, final_status
        run_cell(page, 1)
        wait_for_file(page, out / "summary.json")

    summary = json.loads((out / "summary.json").read_text())
    # live text appeared in the page while recording
    live = [s for _, s in live_samples if s.strip()]
    assert live, f"no live text while recording; status was {status_while_recording!r}"
    assert summary["status"] == "done" and summary["gaps"] == []
    assert summary["capture"]["mode"] == "worklet" and summary["capture"]["ctx_rate"] in (44100, 48000)
    assert_every_chunk_arrived(summary, sent)
    # the captured take is the fed WAV: non-silent and correlated
    captured = voxnb.Audio.load(out / "captured.wav").y
    reference = voxnb.Audio.load(work / "mic.wav").y
    rms = float(np.sqrt(np.mean((captured * 32768.0) ** 2)))
    assert rms > 100, f"the capture is silent (RMS {rms:.0f}): the fake microphone file was not used"
    ncc = ncc_best(captured, reference)
    first_live = next(t for t, text in live_samples if text.strip())
    print(
        f"capture {summary['seconds']:.1f} s at {summary['capture']['ctx_rate']} Hz, RMS {rms:.0f}, NCC {ncc:.3f}; "
        f"first live text {first_live:.1f} s after Start; engine {summary['model']}"
    )
    assert ncc > 0.5, f"the capture does not match the fed WAV (NCC {ncc:.3f})"
    # the transcript holds the spoken words: the offline recogniser heard them
    assert summary["model"] == engine.model
    words = summary["text"].lower()
    found = [w for w in SPOKEN if w in words]
    assert len(found) >= 4, f"spoken words missing from {summary['text']!r}"


def test_recorder_fallback_and_busy_kernel_lose_nothing(work, server, lab):
    """The ScriptProcessor path, and a cell running mid-take: the widget says the kernel is
    busy, the chunks queue, and the whole take still arrives."""
    server_url, _ = server
    base, token = lab
    out = work / "out" / "fallback"
    out.mkdir(parents=True)
    write_notebook(
        work / "nb" / "fallback.ipynb",
        f"import voxnb\nrec = voxnb.Recorder(base_url={server_url!r})\n"
        "rec.force_script_processor = True\nrec",
        # ipykernel 7 keeps taking comm messages while a cell merely waits; a C call that
        # holds the GIL (as a long numeric routine can) is what really stalls the kernel
        "import ctypes\nctypes.PyDLL(None).sleep(4)",
        save_take(out),
    )
    with lab_page(work, f"{base}/lab/tree/fallback.ipynb?reset&token={token}") as page:
        run_cell(page, 0)
        page.locator(".voxnb-recorder-start").click()
        page.wait_for_timeout(1500)
        run_cell(page, 1)  # the kernel is stuck for 4 s while the browser keeps recording
        busy = wait_for_status(page, "kernel is busy", 10)
        page.wait_for_timeout(5000)
        page.locator(".voxnb-recorder-stop").click()
        assert "transcribed" in wait_for_status(page, "transcribed|error|failed", 240)
        sent = chunks_sent(page)
        run_cell(page, 2)
        wait_for_file(page, out / "summary.json")
    summary = json.loads((out / "summary.json").read_text())
    assert "nothing is lost" in busy
    assert summary["capture"]["mode"] == "scriptprocessor" and summary["status"] == "done"
    assert_every_chunk_arrived(summary, sent)  # the queued chunks all arrived
    captured = voxnb.Audio.load(out / "captured.wav").y
    assert ncc_best(captured, voxnb.Audio.load(work / "mic.wav").y) > 0.5


def test_recorder_explains_denied_permission_and_insecure_pages(work, server, lab):
    server_url, _ = server
    base, token = lab
    port = base.rsplit(":", 1)[1]
    write_notebook(
        work / "nb" / "denied.ipynb",
        f"import voxnb\nrec = voxnb.Recorder(base_url={server_url!r})\nrec",
        "print(rec.status, '|', rec.message)",
    )
    # no microphone permission (headless has no prompt to grant it)
    with lab_page(work, f"{base}/lab/tree/denied.ipynb?reset&token={token}", microphone=False) as page:
        run_cell(page, 0)
        page.locator(".voxnb-recorder-start").click()
        denied = wait_for_status(page, "permission", 20)
        run_cell(page, 1)
        kernel_side = wait_for_output(page, 1, r"\|")
    assert "Allow the microphone" in denied
    assert kernel_side.startswith("error |") and "permission was denied" in kernel_side
    # the same server under a non-loopback name over plain http: no secure context, no microphone
    insecure = f"http://voxnb-lab.test:{port}/lab/tree/denied.ipynb?reset&token={token}"
    with lab_page(work, insecure, args=("--host-resolver-rules=MAP voxnb-lab.test 127.0.0.1",)) as page:
        run_cell(page, 0)
        page.locator(".voxnb-recorder-start").click()
        message = wait_for_status(page, "secure page", 20)
    assert "https://" in message and "localhost" in message


ARTIFACTS = REPO / "tests" / "_artifacts"  # screenshots to look at; not committed


def captions_style(page) -> dict:
    return page.evaluate(
        """() => {
            const box = document.querySelector('.voxnb-recorder-captions');
            const lines = document.querySelector('.voxnb-recorder-captions-lines');
            const s = getComputedStyle(box);
            return {size: parseFloat(s.fontSize), color: s.color, background: s.backgroundColor,
                    width: document.querySelector('.voxnb-recorder').getBoundingClientRect().width,
                    lineHeight: parseFloat(s.lineHeight), linesHeight: lines.getBoundingClientRect().height,
                    text: box.innerText,
                    placeholder: getComputedStyle(
                        document.querySelector('.voxnb-recorder-captions-partial'), '::before').content};
        }"""
    )


def test_recorder_captions_are_large_and_follow_the_speech(work, server, lab):
    """Captions mode: big white-on-black text that updates while the take runs, the last two lines,
    full screen on request, the finished text kept; then the take compared with a batch pass."""
    server_url, _ = server
    base, token = lab
    out = work / "out" / "captions"
    out.mkdir(parents=True)
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(
        work / "nb" / "captions.ipynb",
        f"import voxnb\nrec = voxnb.Recorder(base_url={server_url!r}, captions=True)\nrec",
        save_take(out),
        "batch = rec.retranscribe(timestamps=['segment', 'word'])\nvoxnb.diff({'live': rec.transcript, 'batch': batch})",
        "rec.transcript.compare(batch, rec.audio, labels=('live', 'batch'), width=11)",
    )
    seen: list[str] = []
    with lab_page(work, f"{base}/lab/tree/captions.ipynb?reset&token={token}") as page:
        run_cell(page, 0)
        start = page.locator(".voxnb-recorder-start")
        start.wait_for(timeout=60_000)
        before = captions_style(page)
        widget = page.locator(".voxnb-recorder")
        start.click()
        t0 = time.monotonic()
        shot_live = False
        while time.monotonic() - t0 < 8 or (len(set(filter(None, seen))) < 2 and time.monotonic() - t0 < 60):
            seen.append(page.locator(".voxnb-recorder-captions-final").inner_text().strip())
            if seen[-1] and not shot_live:
                widget.screenshot(path=str(ARTIFACTS / "recorder-captions-live.png"))
                shot_live = True
            page.wait_for_timeout(400)
        page.locator(".voxnb-recorder-fullscreen").click()
        page.wait_for_timeout(500)
        in_fullscreen = page.evaluate(
            "() => document.fullscreenElement && document.fullscreenElement.className"
        )
        fullscreen_size = captions_style(page)["size"]
        page.evaluate(
            "() => document.exitFullscreen && document.fullscreenElement && document.exitFullscreen()"
        )
        page.locator(".voxnb-recorder-stop").click()
        assert "transcribed" in wait_for_status(page, "transcribed|error|failed", 240)
        page.wait_for_timeout(500)
        after = captions_style(page)
        widget.screenshot(path=str(ARTIFACTS / "recorder-captions.png"))
        run_cell(page, 1)
        wait_for_file(page, out / "summary.json")
        run_cell(page, 2)
        diff_view = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".voxnb-diff")
        diff_view.wait_for(timeout=120_000)
        diff_view.screenshot(path=str(ARTIFACTS / "diff-view.png"))
        run_cell(page, 3)
        figure = page.locator(".jp-Notebook .jp-Cell").nth(3).locator(".jp-OutputArea-output img")
        figure.wait_for(timeout=120_000)
        figure.screenshot(path=str(ARTIFACTS / "compare-view.png"))
    summary = json.loads((out / "summary.json").read_text())
    live = [s for s in seen if s]
    print(
        f"caption font {before['size']:.0f} px in a {before['width']:.0f} px cell; {len(set(live))} caption texts"
    )
    # large, scaled to the cell, high contrast
    assert before["size"] >= 32 and before["size"] == pytest.approx(max(32, 0.045 * before["width"]), abs=1)
    assert before["color"] == "rgb(255, 255, 255)" and before["background"] == "rgb(0, 0, 0)"
    assert "captions appear here" in before["placeholder"]  # until the first words
    # the captions followed the speech: several different texts while recording, each growing
    assert len(set(live)) >= 2, f"the captions did not update while recording: {seen}"
    # two lines at most are visible; full screen makes them larger still
    assert after["linesHeight"] == pytest.approx(2 * after["lineHeight"], abs=2)
    assert "voxnb-recorder-captions" in (in_fullscreen or "") and fullscreen_size > before["size"]
    # after Stop the finished text stays, all of it final (nothing dimmed)
    final = page_text = after["text"].replace("Full screen", "").strip()
    assert final and " ".join(summary["text"].split()).endswith(" ".join(page_text.split()[-3:]))
    assert shot_live and (ARTIFACTS / "compare-view.png").stat().st_size > 10_000


def test_matplotlib_widget_figure_is_shown_once_within_the_cell(work, lab):
    """Under ``%matplotlib widget`` a plot is one widget, redrawn at the cell's width (not 1,200 px)."""
    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(
        work / "nb" / "widget.ipynb",
        "%matplotlib widget\nimport voxnb\naudio = voxnb.data.audio('two_voices')\n"
        "t = voxnb.Transcript.from_response(voxnb.data.path('two_voices').with_suffix('.json'))",
        "t.plot(audio)",
    )
    with lab_page(work, f"{base}/lab/tree/widget.ipynb?reset&token={token}") as page:
        run_cell(page, 0)
        run_cell(page, 1)
        output = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
        output.locator(".jupyter-matplotlib canvas").first.wait_for(timeout=120_000)
        deadline = time.monotonic() + 60
        while True:  # the kernel redraws the figure at the width the cell reported
            sizes = page.evaluate(
                """() => {
                    const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
                    const area = cell.querySelector('.jp-OutputArea-output').getBoundingClientRect();
                    const canvas = cell.querySelector('.jupyter-matplotlib-canvas-div canvas, .jupyter-matplotlib canvas');
                    const c = canvas.getBoundingClientRect();
                    return {figures: cell.querySelectorAll('.jupyter-matplotlib').length,
                            images: cell.querySelectorAll('.jp-OutputArea-output img').length,
                            outputs: cell.querySelectorAll('.jp-OutputArea-output').length,
                            areaRight: area.right, canvasRight: c.right, canvasWidth: c.width};
                }"""
            )
            if sizes["canvasWidth"] != 1200 or time.monotonic() > deadline:
                break
            page.wait_for_timeout(500)
        page.wait_for_timeout(1000)
        output.screenshot(path=str(ARTIFACTS / "ipympl-figure.png"))
    print(f"ipympl: {sizes}")
    assert sizes["figures"] == 1 and sizes["images"] == 0 and sizes["outputs"] == 1
    assert sizes["canvasWidth"] < 1200 and sizes["canvasRight"] <= sizes["areaRight"] + 1
