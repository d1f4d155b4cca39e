"""Make the README's pictures from the real code: ``make docs-images`` (or ``python scripts/docs_images.py``).

* ``transcript.png``: ``t.plot(audio)`` of the bundled dialogue, transcribed by the offline engine;
* ``segment-table.png``: ``t.show(audio)``, the playable segment table, as a browser draws it;
* ``bias-lab.png``: ``Experiment.plot_measures()`` of none / oracle / oracle+20 on the bundled set;
* ``recorder-captions.png``: ``voxnb.Recorder(captions=True)`` during a take.

The widgets are drawn by headless Chromium from their own ``.js`` and ``.css`` with the state the
Python object holds (no kernel needed: a page plays the model). ``--quick`` uses the bundled
reference turns and the deterministic test engine instead of transcribing (seconds instead of
minutes: what the test runs to see that the script still works).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import voxnb
from voxnb import bias

ROOT = Path(__file__).resolve().parents[1]
SPOKEN_NOW = (
    "So the class can read along: the captions follow the speech as it happens, large enough for the back row"
)


def dialogue_transcript(quick: bool) -> Any:
    audio = voxnb.data.audio("dialogue")
    if quick:  # the exact turns the sample was made from, as a diarized response
        reference = voxnb.data.reference("dialogue")
        segments = [
            {"text": turn["text"], "start": turn["start"], "end": turn["end"], "speaker_id": turn["speaker"]}
            for turn in reference["turns"]
        ]
        return voxnb.Transcript.from_response({"text": reference["text"], "segments": segments}), audio
    from voxnb.demo import transcribe_sample

    t = transcribe_sample(audio, quiet=True)
    return t, audio


def bias_experiment(quick: bool) -> Any:
    items = bias.load_bundled()
    if quick:
        from voxnb.local.fake import FakeEngine

        return bias.Experiment(items[:4], ["none", "oracle"], engine=FakeEngine()).run(
            progress=False, cache=False
        )
    exp = bias.Experiment(items, ["none", "oracle", "oracle+20"], distractors=bias.bundled_distractors())
    return exp.run(progress=False)


def widget_state(widget: Any) -> dict[str, Any]:
    """The synced traits of an anywidget, as its JavaScript model sees them."""
    names = [n for n in widget.trait_names(sync=True) if not n.startswith("_")]
    return {n: getattr(widget, n) for n in names if n not in ("layout", "tabbable", "tooltip", "keys")}


PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; padding: 16px; background: #fff; font-family: system-ui, sans-serif; width: %(width)dpx; }
%(css)s
</style></head><body><div id="root"></div><script type="module">
const state = %(state)s;
const listeners = {};
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
  on: (ev, f) => { (listeners[ev] = listeners[ev] || []).push(f); },
  off: () => {},
  send: () => {},
  save_changes: () => {},
};
const url = URL.createObjectURL(new Blob([%(esm)s], { type: "text/javascript" }));
const module = await import(url);
await module.default.render({ model, el: document.getElementById("root") });
%(after)s
document.body.dataset.rendered = "yes";
</script></body></html>"""


def _source(value: Any) -> str:
    """An anywidget's ``_esm``/``_css``: the text itself, or the file that holds it."""
    if isinstance(value, Path) or (isinstance(value, str) and "\n" not in value and Path(value).is_file()):
        return Path(value).read_text(encoding="utf-8")
    return str(value)


def render_widget(
    widget: Any, path: Path, *, width: int, browser: Any, after: str = "", **overrides: Any
) -> Path:
    """Screenshot *widget* drawn by its own JS and CSS (state from Python, *overrides* on top;
    *after*: JavaScript run once it is drawn, for what only a live browser would show)."""
    state = {**widget_state(widget), **overrides}
    esm, css = _source(widget._esm), _source(widget._css)
    html = PAGE % {
        "width": width,
        "css": css,
        "state": json.dumps(state, default=str),
        "esm": json.dumps(esm),
        "after": after,
    }
    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "widget.html"
        page_path.write_text(html, encoding="utf-8")
        page = browser.new_page(viewport={"width": width + 32, "height": 400}, device_scale_factor=1)
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-rendered='yes']", timeout=30_000)
        page.wait_for_timeout(300)
        page.locator("#root").screenshot(path=str(path))
        page.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="folder for the PNGs")
    parser.add_argument(
        "--quick", action="store_true", help="reference turns and the test engine: seconds, not minutes"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print(
            "docs_images: chromium is needed for the widget pictures (apt-get install chromium)",
            file=sys.stderr,
        )
        return 2
    from playwright.sync_api import sync_playwright

    began = time.perf_counter()
    t, audio = dialogue_transcript(args.quick)
    fig = t.plot(audio, width=11)
    fig.savefig(out / "transcript.png", dpi=90, bbox_inches="tight")
    exp = bias_experiment(args.quick)
    ax = exp.plot_measures(n_boot=1000)
    ax.figure.savefig(out / "bias-lab.png", dpi=90, bbox_inches="tight")

    from voxnb.local.fake import FakeEngine

    recorder = voxnb.Recorder(engine=FakeEngine(), captions=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            render_widget(t.show(audio, page_size=6), out / "segment-table.png", width=900, browser=browser)
            render_widget(
                recorder,
                out / "recorder-captions.png",
                width=900,
                browser=browser,
                text=SPOKEN_NOW,
                status="recording",
                message="Recording… (local: offline engine in this kernel)",
                # what a take in progress shows: Stop enabled, the clock and the level meter running
                after="""const q = (c) => document.querySelector(c);
                q('.voxnb-recorder-start').disabled = true; q('.voxnb-recorder-stop').disabled = false;
                q('.voxnb-recorder-elapsed').textContent = '0:12.4';
                q('.voxnb-recorder-meter-fill').style.width = '45%';""",
            )
        finally:
            browser.close()
    for name in ("transcript.png", "segment-table.png", "bias-lab.png", "recorder-captions.png"):
        print(f"{out / name}  {(out / name).stat().st_size // 1024} KiB")
    print(f"done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
