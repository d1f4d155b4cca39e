"""``voxnb demo`` and ``voxnb transcribe``: the offline engine from the command line.

``voxnb demo --out DIR`` transcribes the bundled sample dialogue with no key and no network
(segment and word timestamps, speakers), prints the segments and speakers tables, writes a
figure, the transcript and its subtitles, executes ``notebooks/01_quickstart.ipynb`` to HTML
and says where everything is.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["add_demo", "add_transcribe", "execute_notebook", "run_demo", "run_transcribe"]

QUICKSTART = Path(__file__).resolve().parents[1] / "notebooks" / "01_quickstart.ipynb"


def add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="transcribe the bundled sample offline and write tables, a figure and the quickstart notebook",
        description="Transcribe voxnb's bundled sample dialogue with the embedded offline engine (no key, "
        "no network): segment and word timestamps and speakers; print the tables, write a "
        "figure, the transcript, subtitles and the executed quickstart notebook as HTML.",
    )
    parser.add_argument("--out", default="demo-output", help="folder for the outputs (default: demo-output)")
    parser.add_argument("--no-notebook", action="store_true", help="skip executing the quickstart notebook")
    parser.set_defaults(run=run_demo)


def add_transcribe(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe an audio file (Mistral API with a key, a server with --base-url, else offline)",
        description="Transcribe AUDIO with voxnb.transcribe: MISTRAL_API_KEY → Mistral's API, --base-url → "
        "that server, otherwise the embedded offline engine. Prints the segments (or the text).",
    )
    parser.add_argument("audio", help="audio file path or https:// URL")
    parser.add_argument("--backend", choices=("mistral", "openai-compatible", "local"), default=None)
    parser.add_argument("--model", default=None, help="model name, or a faster-whisper directory offline")
    parser.add_argument("--base-url", default=None, help="a Voxtral server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--timestamps", nargs="+", choices=("segment", "word"), default=None)
    parser.add_argument("--diarize", action="store_true", help="label speakers")
    parser.add_argument("--num-speakers", type=int, default=None, help="offline: how many speakers there are")
    parser.add_argument(
        "--context-bias",
        nargs="+",
        default=None,
        metavar="TERM",
        help="words or phrases to favour (underscores for spaces)",
    )
    parser.add_argument("--language", default=None)
    parser.add_argument(
        "--out", default=None, help="also save to this path: .json (transcript), .srt, .vtt or .rttm"
    )
    parser.set_defaults(run=run_transcribe)


def _segments_table(t) -> str:
    table = t.segments[["start", "end", "speaker", "text"]].copy()
    table["text"] = table["text"].str.slice(0, 70)
    return table.to_string(float_format=lambda x: f"{x:6.2f}")


SAVERS = (".json", ".srt", ".vtt", ".rttm")


def run_transcribe(args: argparse.Namespace) -> int:
    import voxnb

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in SAVERS:  # before spending the transcription
        raise ParameterError(f"--out must end in one of {', '.join(SAVERS)}; got {out.name!r}")
    timestamps = args.timestamps or (["segment"] if args.diarize or out else None)
    t = voxnb.transcribe(
        args.audio,
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        timestamps=timestamps,
        diarize=args.diarize,
        num_speakers=args.num_speakers,
        context_bias=args.context_bias,
        language=args.language,
    )
    print(_segments_table(t) if len(t.segments) else t.text)
    if out is not None:
        {".json": t.save, ".srt": t.to_srt, ".vtt": t.to_vtt, ".rttm": t.to_rttm}[out.suffix](out)
        print(f"saved {out}")
    return 0


def execute_notebook(path: Path, html: Path, *, timeout: int = 600) -> Path:
    """Run the notebook at *path* top to bottom (working directory: *html*'s folder) and save it as HTML.

    The executed notebook is saved beside the HTML (same name, ``.ipynb``).

    Examples
    --------
    >>> from voxnb.demo import QUICKSTART, execute_notebook
    >>> execute_notebook(QUICKSTART, Path("out/01_quickstart.html"))  # doctest: +SKIP
    PosixPath('out/01_quickstart.html')
    """
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbconvert import HTMLExporter
    except ImportError as err:
        raise MissingDependencyError(
            err.name or "nbclient", "dev", "executing the quickstart notebook"
        ) from None
    notebook = nbformat.read(path, as_version=4)
    # figures must render inline as in Jupyter, whatever backend this process was told to use
    saved = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(html.parent)}},
        ).execute()
    finally:
        if saved is None:
            del os.environ["MPLBACKEND"]
        else:
            os.environ["MPLBACKEND"] = saved
    nbformat.write(notebook, html.with_suffix(".ipynb"))
    body, _ = HTMLExporter().from_notebook_node(notebook)
    html.write_text(body, encoding="utf-8")
    return html


def run_demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import voxnb

    out = Path(args.out).resolve()
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {str(out)!r} is a file; pass a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    audio = voxnb.data.audio("dialogue")
    reference = voxnb.data.reference("dialogue")
    print(
        f"sample: {voxnb.data.path('dialogue').name}, {audio.duration:.1f} s, three TTS voices; "
        f"context_bias={reference['context_bias']}"
    )
    t = voxnb.transcribe(
        audio,
        backend="local",
        timestamps=["segment", "word"],
        diarize=True,
        context_bias=reference["context_bias"],
    )
    took = time.perf_counter() - began
    print(
        f"transcribed in {took:.1f} s (real-time factor {took / audio.duration:.2f}, model load included)\n"
    )
    print("segments:")
    print(_segments_table(t))
    print("\nspeakers:")
    print(t.speakers.to_string(float_format=lambda x: f"{x:.2f}"))
    print("\nwords (first 8):")
    print(t.words.head(8)[["start", "end", "speaker", "score", "timing", "text"]].to_string())
    try:
        from voxnb.bias import score

        wer = score([reference["text"]], [t.text], [reference["context_bias"]]).wer
        print(f"\nword error rate against the reference text: {wer:.1%}")
    except ImportError:  # the bias extra is optional
        pass

    written = {
        "figure": out / "dialogue.png",
        "transcript": out / "dialogue.transcript.json",
        "subtitles": out / "dialogue.srt",
    }
    fig = t.plot(audio)
    fig.savefig(written["figure"], dpi=110, bbox_inches="tight")
    t.save(written["transcript"])
    t.to_srt(written["subtitles"])
    if not args.no_notebook:
        if QUICKSTART.exists():
            print(f"\nexecuting {QUICKSTART.name} ...", flush=True)
            written["notebook"] = execute_notebook(QUICKSTART, out / "01_quickstart.html")
        else:
            print(
                f"\n{QUICKSTART} not found (installed without the source tree): notebook skipped",
                file=sys.stderr,
            )
    print(f"\ndone in {time.perf_counter() - began:.0f} s; outputs in {out}:")
    for label, path in written.items():
        print(f"  {label:<11} {path}")
    return 0
