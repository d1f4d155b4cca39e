"""``voxnb demo`` and ``voxnb transcribe``: the offline engine from the command line.

``voxnb demo --out DIR`` transcribes the bundled sample dialogue with no key and no network
(segment and word timestamps, speakers), prints the segments and speakers tables, writes a
figure, the transcript and its subtitles, executes ``notebooks/01_quickstart.ipynb`` to HTML
and says where everything is.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path
from typing import Any

from voxnb.errors import MissingDependencyError, ParameterError

__all__ = [
    "add_demo",
    "add_transcribe",
    "execute_notebook",
    "run_demo",
    "run_transcribe",
    "transcribe_sample",
]

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


TRANSCRIBE_EXAMPLES = """\
examples:
  voxnb transcribe talk.wav                       # offline (no key): talk.json, .srt, .vtt, .TextGrid, .rttm, tables
  voxnb transcribe calls/ --out transcripts       # every recording in a folder
  voxnb transcribe 'calls/**/*.flac' --diarize --concurrency 4
  voxnb transcribe a.mp3 b.mp3 --formats srt csv  # only subtitles and the four tables as CSV
  MISTRAL_API_KEY=... voxnb transcribe talk.wav --context-bias Voxtral Janis_Joplin
  voxnb transcribe talk.wav --base-url http://127.0.0.1:8000   # a voxnb serve or vLLM server
"""


def add_transcribe(subparsers: Any) -> None:
    from voxnb.outputs import FORMATS
    from voxnb.request import GRANULARITIES

    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe files, folders or glob patterns and write every export format",
        description="Transcribe recordings with voxnb.transcribe_many (MISTRAL_API_KEY → Mistral's API, "
        "--base-url → that server, otherwise the embedded offline engine), with a progress bar, a cache "
        "(a re-run sends nothing) and several requests in flight. For each recording NAME it writes "
        "NAME.json (the transcript), NAME.srt, NAME.vtt, NAME.TextGrid, NAME.rttm and the segments, words, "
        "turns and speakers tables as NAME.<table>.csv and .parquet.",
        epilog=TRANSCRIBE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        # "*", not "+": an option list given before the audio swallows it, and run_transcribe gives it back
        "audio",
        nargs="*",
        help="audio files, folders of audio files, glob patterns or https:// URLs",
    )
    parser.add_argument("--out", default=None, help="folder for the outputs (default: transcripts)")
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["all"],
        metavar="FORMAT",
        help=f"what to write: {', '.join(FORMATS)} or all (default; parquet when pyarrow is installed)",
    )
    parser.add_argument("--recursive", action="store_true", help="look into the subfolders of folders too")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="recordings in flight (default 8 on a server, 1 offline)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="transcribe again what the cache already holds"
    )
    parser.add_argument(
        "--cache-dir", default=None, help="the cache folder (default: $VOXNB_CACHE_DIR or the user cache)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--backend", choices=("mistral", "openai-compatible", "local"), default=None)
    parser.add_argument("--model", default=None, help="model name, or a faster-whisper directory offline")
    parser.add_argument("--base-url", default=None, help="a Voxtral server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--timestamps", nargs="+", metavar="{" + ",".join(GRANULARITIES) + "}", default=None)
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
    parser.set_defaults(run=run_transcribe)


def _segments_table(t) -> str:
    import pandas as pd

    table = t.segments[["start", "end", "speaker", "text"]]
    with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
        return table.to_string(float_format=lambda x: f"{x:6.2f}")


#: an --out ending in one of these names one file (one recording): the older, single-file form
SAVERS = (".json", ".srt", ".vtt", ".rttm", ".textgrid")


def _audio_swallowed_by_options(args: argparse.Namespace) -> None:
    """Give ``args.audio`` back what a list option took from it (``--formats srt talk.wav``).

    argparse lets ``--formats``, ``--timestamps`` and ``--context-bias`` take every word up to
    the next option, audio included. What trails such a list and is not one of its values (a
    format, a granularity) or names something on disk (a bias term does not) is audio; a list
    keeps at least its first value, so that a misspelt format is refused as one.
    """
    from voxnb.outputs import FORMATS
    from voxnb.request import GRANULARITIES

    def is_audio(name: str, word: str) -> bool:
        if name == "formats":
            return word.lower() not in (*FORMATS, "all")
        if name == "timestamps":
            return word not in GRANULARITIES
        return "://" in word or bool(glob.glob(word))

    for name in ("formats", "timestamps", "context_bias"):
        values = getattr(args, name)
        if args.audio or not values:
            continue
        keep = len(values)
        while keep > 1 and is_audio(name, values[keep - 1]):
            keep -= 1
        setattr(args, name, values[:keep])
        args.audio = values[keep:]
    if not args.audio:
        raise ParameterError("give the audio to transcribe: files, folders, glob patterns or https:// URLs")
    wrong = [g for g in args.timestamps or () if g not in GRANULARITIES]
    if wrong:
        raise ParameterError(
            f"--timestamps: invalid choice: {wrong[0]!r} (choose from {', '.join(GRANULARITIES)})"
        )


def run_transcribe(args: argparse.Namespace) -> int:
    import voxnb
    from voxnb.outputs import check_formats, find_audio, output_names, write_outputs

    _audio_swallowed_by_options(args)
    began = time.perf_counter()
    single_file = args.out is not None and Path(args.out).suffix.lower() in SAVERS
    formats = [Path(args.out).suffix.lower()[1:]] if single_file else check_formats(args.formats)
    recordings = find_audio(args.audio, recursive=args.recursive)
    if single_file and len(recordings) > 1:
        raise ParameterError(
            f"--out {args.out} names one file, but {len(recordings)} recordings were given; pass a folder"
        )
    if args.concurrency is not None and args.concurrency < 1:
        raise ParameterError(f"--concurrency must be at least 1, got {args.concurrency}")
    names = output_names(recordings)
    out = Path(args.out) if args.out else Path("transcripts")
    # exports need times; Mistral refuses timestamps with language=, so then the text alone is asked
    timestamps: list[str] = args.timestamps or ([] if args.language else ["segment"])
    result = voxnb.transcribe_many(
        names,
        backend=args.backend,
        base_url=args.base_url,
        concurrency=args.concurrency,
        cache=False if args.no_cache else (args.cache_dir or True),
        progress=not (args.no_progress or args.quiet),
        quiet=args.quiet,
        model=args.model,
        timestamps=timestamps,
        diarize=args.diarize,
        num_speakers=args.num_speakers,
        context_bias=args.context_bias,
        language=args.language,
    )
    files = 0
    for name in result:
        t = result[name]
        if single_file:
            target = Path(args.out)
            written = write_outputs(t, target.parent, target.stem, formats)
            if written and written[0] != target:  # e.g. .TextGrid for .textgrid: keep the name asked for
                written[0].replace(target)
            files += len(written)
        else:
            files += len(write_outputs(t, out, name, formats))
    if not args.quiet:
        if len(recordings) == 1 and len(result):
            t = result[next(iter(result))]
            print(_segments_table(t) if len(t.segments) else t.text)
        else:
            _print_batch(result)
        where = args.out if single_file else f"{out}/ ({', '.join(formats)})"
        print(
            f"{len(result)} of {len(recordings)} transcribed ({len(result.from_cache)} from the cache), "
            f"{files} files written to {where} in {time.perf_counter() - began:.1f} s"
        )
    for name, error in result.errors.items():
        print(f"voxnb transcribe: {names[name]}: {error}", file=sys.stderr)
    return 1 if result.errors else 0


def _print_batch(result: Any) -> None:
    import pandas as pd

    frame = result.to_frame()[["name", "status", "duration", "n_segments", "seconds"]]
    with pd.option_context("display.max_rows", 200, "display.width", 10_000):
        print(frame.to_string(index=False, float_format=lambda x: f"{x:.1f}"))


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
    from voxnb._atomic import atomic_path, write_atomic

    with atomic_path(html.with_suffix(".ipynb")) as tmp:
        nbformat.write(notebook, tmp)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    write_atomic(html, body)
    return html


def transcribe_sample(audio: Any = None, *, quiet: bool = False) -> Any:
    """The bundled dialogue transcribed offline as the demo does it: segment and word times,
    speakers, and its names as ``context_bias``."""
    import voxnb

    return voxnb.transcribe(
        voxnb.data.audio("dialogue") if audio is None else audio,
        backend="local",
        timestamps=["segment", "word"],
        diarize=True,
        context_bias=voxnb.data.reference("dialogue")["context_bias"],
        quiet=quiet,
    )


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
    t = transcribe_sample(audio)
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
    from voxnb._atomic import atomic_path

    fig = t.plot(audio)
    with atomic_path(written["figure"], suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
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
