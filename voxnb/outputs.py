"""Every file a transcript can become, named after its recording: what ``voxnb transcribe`` writes.

:func:`write_outputs` writes one transcript as ``NAME.json`` (the saved transcript),
``NAME.srt``, ``NAME.vtt``, ``NAME.TextGrid``, ``NAME.rttm`` (the recording is ``NAME``), and its
four tables as ``NAME.segments.csv`` ... ``NAME.speakers.csv`` and ``.parquet``; each file is
written whole or not at all. :func:`find_audio` turns files, folders and glob patterns into the
recordings to transcribe, and :func:`output_names` gives each a distinct name.
"""

from __future__ import annotations

import glob
import io
import os
from pathlib import Path
from typing import Any

from voxnb._atomic import atomic_path, write_atomic
from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["AUDIO_SUFFIXES", "FORMATS", "TABLES", "find_audio", "output_names", "write_outputs"]

#: the file suffixes taken from a folder (a file named on its own is taken whatever its suffix)
AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".aac",
    ".webm",
    ".mp4",
    ".aiff",
    ".aif",
)
#: every format, in the order they are written
FORMATS = ("json", "srt", "vtt", "textgrid", "rttm", "csv", "parquet")
TABLES = ("segments", "words", "turns", "speakers")


def find_audio(sources: list[str], *, recursive: bool = False) -> list[str]:
    """The recordings named by *sources*: files, folders (their audio files) and glob patterns.

    URLs (``https://...``) pass through. Each recording is listed once, in the order found
    (folders and patterns sorted).

    Raises
    ------
    ParameterError
        A source that names nothing (no such file, an empty folder, a pattern matching nothing).

    Examples
    --------
    >>> import voxnb
    >>> [Path(p).name for p in find_audio([str(voxnb.data.path("words").parent / "words*.flac")])]
    ['words.flac', 'words_slt.flac']
    """
    found: dict[str, None] = {}
    for source in sources:
        source = str(source)
        if source.startswith(("http://", "https://")):
            found[source] = None
            continue
        path = Path(source).expanduser()
        try:
            path.is_dir()
        except OSError as err:  # a name too long, a path through a file...
            raise ParameterError(f"{source[:200]}: cannot be read ({err.strerror})") from None
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            files = sorted(
                p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not files:
                raise ParameterError(
                    f"{source}: no audio files in this folder ({', '.join(AUDIO_SUFFIXES[:4])}, ...)"
                    + ("" if recursive else "; add --recursive to look in its subfolders")
                )
            found.update(dict.fromkeys(map(str, files)))
        elif path.is_file():
            found[str(path)] = None
        elif glob.has_magic(source):
            matches = sorted(
                p for p in glob.glob(os.path.expanduser(source), recursive=True) if Path(p).is_file()
            )
            if not matches:
                raise ParameterError(f"{source}: the pattern matches no file")
            found.update(dict.fromkeys(matches))
        else:
            raise ParameterError(f"{source}: no such file or folder")
    return list(found)


def output_names(recordings: list[str]) -> dict[str, str]:
    """A distinct output name per recording: its file name without the suffix, prefixed by its
    folders' names where two recordings would share it.

    Examples
    --------
    >>> output_names(["a/talk.wav", "b/talk.wav", "c/intro.flac"])
    {'a_talk': 'a/talk.wav', 'b_talk': 'b/talk.wav', 'intro': 'c/intro.flac'}
    """
    # the folders' names only (never the root "/" or a drive, which would put a separator in a name)
    parts = {r: _name_parts(r) for r in recordings}
    depth = dict.fromkeys(recordings, 1)
    while True:
        names = {r: "_".join(parts[r][-depth[r] :]) for r in recordings}
        clashes = [r for r in recordings if list(names.values()).count(names[r]) > 1]
        grow = [r for r in clashes if depth[r] < len(parts[r])]
        if not grow:
            break
        for r in grow:
            depth[r] += 1
    out: dict[str, str] = {}
    for r in recordings:
        name, k = names[r], 1
        while name in out:  # the same path twice over different spellings: number them
            k += 1
            name = f"{names[r]}_{k}"
        out[name] = r
    return out


def _name_parts(recording: str) -> tuple[str, ...]:
    path = Path(recording.split("?")[0]).with_suffix("")
    named = tuple(p for p in path.parts[len(path.anchor and path.parts[:1]) :] if p not in ("", ".", ".."))
    return named or ("audio",)


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def check_formats(formats: list[str] | None) -> list[str]:
    """The formats to write (default all; Parquet only when pyarrow is installed, unless asked for)."""
    if not formats or formats == ["all"]:
        return [f for f in FORMATS if f != "parquet" or _parquet_available()]
    chosen = [f.lower() for f in formats]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ParameterError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)} (or all)")
    if "parquet" in chosen and not _parquet_available():
        raise MissingDependencyError("pyarrow", None, "writing Parquet tables")
    return list(dict.fromkeys(chosen))


def write_outputs(
    transcript: Any, folder: str | os.PathLike, name: str, formats: list[str] | None = None
) -> list[Path]:
    """Write *transcript* in every format of *formats* (default all) as ``folder/name.*``.

    Timed formats are skipped (with no file) when the transcript has no times; the JSON and the
    tables are always written. Returns the paths written.

    Examples
    --------
    >>> import voxnb, tempfile
    >>> t = voxnb.Transcript.from_response({"text": "Hi.", "segments": [{"text": "Hi.", "start": 0, "end": 1}]})
    >>> sorted(p.name for p in write_outputs(t, tempfile.mkdtemp(), "hello", ["json", "srt", "csv"]))
    ['hello.json', 'hello.segments.csv', 'hello.speakers.csv', 'hello.srt', 'hello.turns.csv', 'hello.words.csv']
    """
    folder = Path(folder)
    written: list[Path] = []
    timed = transcript.segments["start"].notna().any() or not len(transcript.segments)

    def text(path: Path, content: str) -> None:
        written.append(write_atomic(path, content))

    for fmt in check_formats(formats):
        base = folder / name
        if fmt == "json":
            text(base.with_name(f"{name}.json"), transcript.to_json())
        elif fmt in ("srt", "vtt", "rttm") and timed:
            method = {"srt": transcript.to_srt, "vtt": transcript.to_vtt}.get(fmt)
            content = method() if method else transcript.to_rttm(uri=name)
            text(base.with_name(f"{name}.{fmt}"), content)
        elif fmt == "textgrid" and timed:
            target = base.with_name(f"{name}.TextGrid")
            grid = transcript.to_textgrid()
            with atomic_path(target) as tmp:
                grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
            written.append(target)
        elif fmt == "csv":
            for table in TABLES:
                text(base.with_name(f"{name}.{table}.csv"), getattr(transcript, table).to_csv(index=False))
        elif fmt == "parquet":
            for table in TABLES:
                buffer = io.BytesIO()
                getattr(transcript, table).to_parquet(buffer, index=False)
                written.append(write_atomic(base.with_name(f"{name}.{table}.parquet"), buffer.getvalue()))
    return written
