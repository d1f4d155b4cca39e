"""Notebook views of a transcript with its sound: the playable, filterable segment table.

:func:`segment_table` (what ``t.show(audio)`` returns) is an anywidget. The kernel holds the
segments and the audio; the browser holds one page of rows. Filtering by speaker and text and
paging run in the kernel on the whole table (vectorised, so 100,000 segments stay responsive),
and only the page shown crosses to the browser. Pressing a row's play button sends
``{"type": "play", "segment": i}``; the kernel answers ``{"type": "audio", "segment": i,
"sr": ..., "channels": ...}`` with the slice as one binary buffer of 16-bit PCM, which the browser
plays with the Web Audio API. Nothing is embedded in the notebook file, whatever the audio's length.

The browser-kernel boundary is :meth:`SegmentTable.handle_message`, testable without a browser.

For a static page (nbconvert, a report, a frontend without widgets) :func:`segments_html`
renders a page of the same table as HTML with one ``<audio>`` element per row.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from voxnb.audio import Audio, as_audio
from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["segment_table", "segments_html"]  # and SegmentTable, via __getattr__

_HERE = Path(__file__).parent

# The widget class is defined on first use, so importing this module needs no anywidget.
_WIDGET: type | None = None


def segment_table(
    transcript: Any, audio: Any, *, page_size: int = 50, speaker: str | None = None, query: str = ""
) -> Any:
    """A table of the segments in which each row plays its slice of the audio.

    Shows each segment's number, times, speaker (in the colour the plots use) and text; pages
    through long transcripts and filters by speaker and by text (case-insensitive).

    Parameters
    ----------
    transcript : Transcript
        The transcript.
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts
        Its sound.
    page_size : int
        Rows per page.
    speaker : str, optional
        Show only this speaker's segments at first.
    query : str
        Show only segments whose text contains this at first.

    Returns
    -------
    SegmentTable
        An anywidget; display it (last expression of a cell).

    Raises
    ------
    MissingDependencyError
        anywidget is not installed (``pip install 'voxnb[widgets]'``).
    ParameterError
        ``page_size`` under 1, or a ``speaker`` the transcript does not have.

    Examples
    --------
    >>> t.show(audio)  # doctest: +SKIP
    >>> voxnb.display.segment_table(t, audio, speaker="speaker_2", query="budget")  # doctest: +SKIP
    """
    return _widget_class()(transcript, audio, page_size=page_size, speaker=speaker, query=query)


def __getattr__(name: str) -> Any:
    # ``voxnb.display.SegmentTable``: the widget class, defined when first asked for
    if name == "SegmentTable":
        return _widget_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _SegmentRows:
    """The table's data and every kernel-side operation on it, independent of any widget."""

    def __init__(self, transcript: Any, audio: Any):
        from voxnb.plot import NO_SPEAKER, speaker_colors

        self.audio: Audio = as_audio(audio, sr=None)
        segments = transcript.segments
        self.start = segments["start"].to_numpy(dtype=float, na_value=np.nan)
        self.end = segments["end"].to_numpy(dtype=float, na_value=np.nan)
        self.timed = np.isfinite(self.start) & np.isfinite(self.end)
        text = segments["text"].astype(object).fillna("").astype(str)
        self.text = text.to_numpy()
        self.speaker = (
            segments["speaker"].astype(object).where(segments["speaker"].notna(), "").astype(str).to_numpy()
        )
        # casefolded once; an object Series, not a fixed-width numpy string array sized by the longest text
        self._folded = text.str.casefold()
        self.colors = {k: v for k, v in speaker_colors(transcript).items() if k != NO_SPEAKER}

    def check_filters(self, *, speaker: str | None, page_size: int) -> None:
        """Raise :class:`ParameterError` for a page size or a speaker this table cannot show."""
        if page_size < 1:
            raise ParameterError(f"page_size={page_size}: pass a positive number of rows")
        if speaker and speaker not in self.colors:
            raise ParameterError(
                f"speaker {speaker!r} is not in this transcript; "
                f"its speakers are {sorted(self.colors) or 'none'}"
            )

    def __len__(self) -> int:
        return len(self.text)

    def select(self, *, speaker: str = "", query: str = "") -> Any:
        """Indices of the segments passing the filters, in order."""
        keep = np.ones(len(self), dtype=bool)
        if speaker:
            keep &= self.speaker == speaker
        if query.strip():
            keep &= self._folded.str.contains(query.strip().casefold(), regex=False).to_numpy(dtype=bool)
        return np.flatnonzero(keep)

    def rows(self, indices: Any) -> list[dict[str, Any]]:
        """JSON-ready rows for the browser."""
        out = []
        for i in indices.tolist():
            start, end, timed = float(self.start[i]), float(self.end[i]), bool(self.timed[i])
            out.append(
                {
                    "segment": i,
                    "start": start if timed else None,
                    "end": end if timed else None,
                    "speaker": self.speaker[i],
                    "text": self.text[i],
                    "playable": timed and start < self.audio.duration and end > start,
                }
            )
        return out

    def excerpt(self, i: int) -> Audio:
        """The audio of segment *i*, clipped to the audio."""
        if not 0 <= i < len(self):
            raise ParameterError(f"segment {i} does not exist: the transcript has {len(self)} segments")
        start, end = float(self.start[i]), float(self.end[i])
        if not self.timed[i]:
            raise ParameterError(
                f"segment {i} has no timestamps, so it cannot be played; "
                "transcribe with timestamp_granularities=['segment']"
            )
        if start >= self.audio.duration:
            raise ParameterError(
                f"segment {i} ({start:.2f}–{end:.2f} s) starts after the audio ends "
                f"({self.audio.duration:.2f} s): is this the transcript of this audio?"
            )
        return self.audio.slice(start, end)


def _widget_class() -> type:
    global _WIDGET
    if _WIDGET is not None:
        return _WIDGET
    try:
        import anywidget
        import traitlets
    except ImportError as err:
        raise MissingDependencyError("anywidget", "widgets", "the playable segment table") from err

    class SegmentTable(anywidget.AnyWidget):
        """Paged, filterable segment table whose rows play their audio (see :func:`segment_table`)."""

        _esm = _HERE / "segment_table.js"
        _css = _HERE / "segment_table.css"

        rows: traitlets.List = traitlets.List().tag(sync=True)
        speakers: traitlets.List = traitlets.List().tag(sync=True)
        colors = traitlets.Dict().tag(sync=True)
        speaker = traitlets.Unicode("").tag(sync=True)
        query = traitlets.Unicode("").tag(sync=True)
        page = traitlets.Int(0).tag(sync=True)
        page_size = traitlets.Int(50).tag(sync=True)
        total = traitlets.Int(0).tag(sync=True)
        message = traitlets.Unicode("").tag(sync=True)

        def __init__(
            self,
            transcript: Any,
            audio: Any,
            *,
            page_size: int = 50,
            speaker: str | None = None,
            query: str = "",
        ):
            data = _SegmentRows(transcript, audio)
            data.check_filters(speaker=speaker, page_size=page_size)
            super().__init__(
                page_size=page_size,
                speaker=speaker or "",
                query=query,
                speakers=list(data.colors),
                colors=data.colors,
            )
            self._data = data
            self._refresh()
            self.observe(self._on_filter, names=["speaker", "query", "page_size"])
            self.observe(lambda change: self._refresh(), names=["page"])
            self.on_msg(self._on_msg)

        @property
        def pages(self) -> int:
            """Number of pages with the current filters."""
            return max(1, -(-self.total // self.page_size))

        def _on_filter(self, change: Any) -> None:
            if self.page != 0:
                self.page = 0  # refreshes through the page observer
            else:
                self._refresh()

        def _refresh(self) -> None:
            selected = self._data.select(speaker=self.speaker, query=self.query)
            self.total = int(selected.size)
            page = min(max(self.page, 0), self.pages - 1)
            if page != self.page:
                self.page = page
                return
            self.rows = self._data.rows(selected[page * self.page_size : (page + 1) * self.page_size])

        def _on_msg(self, widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
            reply, reply_buffers = self.handle_message(content)
            self.send(reply, reply_buffers)

        def handle_message(self, content: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
            """Answer one browser message; returns the reply and its binary buffers.

            ``{"type": "play", "segment": i}`` → ``{"type": "audio", "segment": i, "sr": sr,
            "channels": c, "start": s, "end": e}`` with the excerpt as s16le PCM (channels
            interleaved), or ``{"type": "error", "segment": i, "message": ...}``.

            Parameters
            ----------
            content : dict
                The message the browser sent.

            Returns
            -------
            reply : dict
                The answer.
            buffers : list of bytes
                The excerpt's PCM for an ``"audio"`` answer, else empty.

            Examples
            --------
            >>> table = voxnb.display.segment_table(t, audio)  # doctest: +SKIP
            >>> reply, buffers = table.handle_message({"type": "play", "segment": 0})  # doctest: +SKIP
            >>> reply["type"], reply["sr"], len(buffers)  # doctest: +SKIP
            ('audio', 16000, 1)
            """
            kind = content.get("type") if isinstance(content, dict) else None
            if kind != "play":
                return {"type": "error", "message": f"unknown message type {kind!r}"}, []
            try:
                i = int(content.get("segment"))  # type: ignore[arg-type]  # None -> TypeError, handled
                excerpt = self._data.excerpt(i)
            except (TypeError, ValueError) as err:
                return {"type": "error", "segment": content.get("segment"), "message": str(err)}, []
            start = float(self._data.start[i])
            reply = {
                "type": "audio",
                "segment": i,
                "sr": excerpt.sr,
                "channels": excerpt.channels,
                "start": start,
                "end": start + excerpt.duration,
            }
            return reply, [excerpt.to_pcm16()]

        def __repr__(self) -> str:
            return (
                f"<voxnb SegmentTable {self.total} of {len(self._data)} segments, "
                f"page {self.page + 1}/{self.pages}>"
            )

        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            # where widgets do not render (nbconvert, GitHub), the current page as a plain table
            bundle = super()._repr_mimebundle_(**kwargs)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            if isinstance(data, dict):
                data["text/html"] = _table_html(
                    self._data, self.rows, self.total, self.page, self.page_size, players=False
                )
            return bundle

    _WIDGET = SegmentTable
    return SegmentTable


def segments_html(
    transcript: Any,
    audio: Any,
    *,
    speaker: str | None = None,
    query: str = "",
    page: int = 0,
    page_size: int = 50,
) -> str:
    """One page of the segment table as static HTML, each row with an embedded ``<audio>`` player.

    For places without widgets (nbconvert, reports). The page's audio is embedded as base64
    WAV, so keep pages small.

    Parameters
    ----------
    transcript : Transcript
        The transcript.
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts
        Its sound.
    speaker, query : str, optional
        Filters, as in :func:`segment_table`.
    page, page_size : int
        Which rows.

    Returns
    -------
    str
        An HTML fragment.

    Raises
    ------
    ParameterError
        ``page_size`` under 1, or a ``speaker`` the transcript does not have.

    Examples
    --------
    >>> from IPython.display import HTML  # doctest: +SKIP
    >>> HTML(voxnb.display.segments_html(t, audio, query="budget"))  # doctest: +SKIP
    """
    data = _SegmentRows(transcript, audio)
    data.check_filters(speaker=speaker, page_size=page_size)
    selected = data.select(speaker=speaker or "", query=query)
    rows = data.rows(selected[page * page_size : (page + 1) * page_size])
    return _table_html(data, rows, int(selected.size), page, page_size, players=True)


def _table_html(
    data: _SegmentRows, rows: list[dict[str, Any]], total: int, page: int, page_size: int, *, players: bool
) -> str:
    body = []
    for row in rows:
        player = ""
        if players and row["playable"]:
            wav = base64.b64encode(data.excerpt(row["segment"]).to_wav()).decode("ascii")
            player = f'<audio controls preload="none" src="data:audio/wav;base64,{wav}"></audio>'
        times = "–" if row["start"] is None else f"{row['start']:.2f}–{row['end']:.2f}"
        color = data.colors.get(row["speaker"], "#b0b0b0")
        body.append(
            f"<tr><td>{player}</td><td>{row['segment']}</td><td>{times}</td>"
            f'<td><span style="border-left:4px solid {color};padding-left:4px">{html.escape(row["speaker"])}</span></td>'
            f'<td style="text-align:left">{html.escape(row["text"])}</td></tr>'
        )
    shown = f"{len(rows)} of {total} segments" + (f" (page {page + 1})" if total > page_size else "")
    return (
        '<div class="voxnb-segments"><div>' + shown + "</div><table><thead><tr><th></th><th>#</th>"
        "<th>time (s)</th><th>speaker</th><th>text</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )
