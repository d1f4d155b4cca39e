"""Every drawing voxnb makes: waveform, spectrogram, speaker lanes, the transcript figure, comparison.

Each function takes ``ax=`` (or builds its own figure) and returns what it drew on, so the pieces
compose with any matplotlib figure, inside or outside a notebook.

All of them stay fast on hours of audio because what they draw follows the screen, not the data:
the waveform is an exact min/max envelope with one column per pixel (raw samples once zoomed in
so far that there are fewer samples than pixels), the spectrogram is computed for the visible
window only at about one column per pixel (see :meth:`voxnb.Audio.spectrogram`), and lane items
narrower than a pixel are merged. Every layer listens to the axes' x-limits, so with an
interactive backend (``%matplotlib widget``) zooming or panning redraws it for the new window.

Speakers keep one colour across every plot of the same transcript: :func:`speaker_colors`
depends only on the transcript's set of speakers, never on the window shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.ticker import Formatter, Locator

from voxnb.audio import Audio, _check_spectrogram_options, as_audio
from voxnb.errors import ParameterError

__all__ = [
    "compare",
    "lanes",
    "speaker_colors",
    "spectrogram",
    "transcript_figure",
    "waveform",
    "word_differences",
]

#: lane name for items whose speaker is unknown
NO_SPEAKER = "(no speaker)"

# matplotlib's tab10 then the light half of tab20: distinct, colour-blind-aware first choices
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
)
_UNKNOWN_COLOR = "#b0b0b0"
_SAME_COLOR = "#c6dbef"
_WAVE_COLOR = "#3a6ea5"
_BEYOND_AUDIO = "#f2f2f2"
_FAINT_ALPHA = 0.45

_LEVELS = ("segments", "words", "turns")
_LANE_FONT = 7.0  # points
_MAX_LABELS = 400  # texts drawn per lane axes at most; more could not be read anyway


# -- colours -------------------------------------------------------------------------------------


def speaker_colors(*transcripts: Any) -> dict[str, str]:
    """A stable speaker → colour map for one or more transcripts.

    Colours follow the speakers' names in natural order (``speaker_2`` before ``speaker_10``),
    so every plot of the same transcript, and of transcripts with the same speakers, agrees. A
    renamed speaker (:meth:`voxnb.Transcript.rename_speakers`) keeps the colour of the label it
    had: ``Ada`` who was ``speaker_1`` is drawn as ``speaker_1`` was.

    Parameters
    ----------
    *transcripts : Transcript or pandas.DataFrame
        Transcripts, or tables with a ``speaker`` column.

    Returns
    -------
    dict
        Speaker name → hex colour; :data:`NO_SPEAKER` maps to grey.

    Examples
    --------
    >>> import pandas as pd
    >>> speaker_colors(pd.DataFrame({"speaker": ["speaker_2", "speaker_10", "speaker_1"]}))
    {'speaker_1': '#1f77b4', 'speaker_2': '#ff7f0e', 'speaker_10': '#2ca02c', '(no speaker)': '#b0b0b0'}
    """
    names: set[str] = set()
    origins: dict[str, str] = {}
    for transcript in transcripts:
        tables = [transcript] if _is_frame(transcript) else [transcript.segments, transcript.words]
        origins.update(getattr(transcript, "speaker_order", {}))
        for table in tables:
            if "speaker" in table:
                names.update(str(s) for s in table["speaker"].dropna().unique())
    ordered = sorted(names, key=lambda name: (_natural_key(origins.get(name) or name), name))
    colors = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(ordered)}
    colors[NO_SPEAKER] = _UNKNOWN_COLOR
    return colors


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


# -- the three layers ----------------------------------------------------------------------------


def waveform(
    audio: Any,
    *,
    start: float | None = None,
    end: float | None = None,
    ax: Any = None,
    color: str = _WAVE_COLOR,
) -> Any:
    """Draw the waveform: an exact min/max envelope at the axes' pixel width.

    Each pixel column shows the true minimum and maximum of the samples it covers (see
    :meth:`voxnb.Audio.envelope`); when the window holds fewer samples than the axes has
    pixels, the samples themselves are drawn. With an interactive backend the drawing is
    recomputed whenever the x-limits change.

    Parameters
    ----------
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts
        The sound (several channels are mixed down).
    start, end : float, optional
        Window in seconds; default the whole audio. A window past the audio's end is allowed
        (nothing is drawn there).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new 12 × 2 inch figure by default.
    color : str
        Line and fill colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = voxnb.plot.waveform(audio, start=60, end=70)  # doctest: +SKIP
    """
    audio = as_audio(audio, sr=None)
    x0, x1 = _window(start, end, audio.duration)
    ax = ax if ax is not None else _new_axes((12, 2))
    layer = _WaveformLayer(ax, audio, color)
    _follow_xlim(ax, x0, x1, layer.draw)
    lim = max(layer.peak, 1e-3) * 1.08
    ax.set_ylim(-lim, lim)
    ax.set_ylabel("amplitude")
    _time_axis(ax)
    return ax


def spectrogram(
    audio: Any,
    *,
    kind: str = "mel",
    start: float | None = None,
    end: float | None = None,
    ax: Any = None,
    cmap: str = "magma",
    n_mels: int = 80,
    n_fft: int = 512,
    top_db: float = 80.0,
) -> Any:
    """Draw a mel or linear power spectrogram of the window shown, at display resolution.

    Only the visible window is analysed, at about one column per pixel, and the result is
    cached on the :class:`~voxnb.Audio`; zooming recomputes it for the new window.

    Parameters
    ----------
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts
        The sound.
    kind : {"mel", "linear"}
        Frequency scale.
    start, end : float, optional
        Window in seconds; default the whole audio.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new 12 × 2.5 inch figure by default.
    cmap : str
        Colour map.
    n_mels, n_fft : int
        Mel bands and FFT size (see :meth:`voxnb.Audio.spectrogram`).
    top_db : float
        Dynamic range shown, in dB below the window's loudest bin.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = voxnb.plot.spectrogram(audio, kind="linear", start=0, end=5)  # doctest: +SKIP
    """
    audio = as_audio(audio, sr=None)
    _check_spectrogram_options(kind, n_mels, n_fft)  # before a figure is made
    if not top_db >= 0:
        raise ParameterError(f"top_db={top_db!r}: pass the dynamic range to show, in dB above 0 (default 80)")
    x0, x1 = _window(start, end, audio.duration)
    ax = ax if ax is not None else _new_axes((12, 2.5))
    layer = _SpectrogramLayer(ax, audio, kind=kind, cmap=cmap, n_mels=n_mels, n_fft=n_fft, top_db=top_db)
    _follow_xlim(ax, x0, x1, layer.draw)
    ax.set_ylim(0, layer.n_bins)
    ax.set_ylabel("Hz (mel)" if kind == "mel" else "Hz")
    _time_axis(ax)
    return ax


def lanes(
    transcript: Any,
    *,
    level: str = "segments",
    start: float | None = None,
    end: float | None = None,
    ax: Any = None,
    colors: dict[str, str] | None = None,
    text: bool = True,
) -> Any:
    """Draw one lane per speaker with the transcript's segments, words or turns as boxes.

    Text is written inside a box when it fits (segments are shortened with "…"); boxes
    narrower than a pixel are merged, so 50,000 words draw as fast as 500. Words whose times
    were interpolated over their segment (``timing == "interpolated"``) are drawn faint.

    Parameters
    ----------
    transcript : Transcript or pandas.DataFrame
        A transcript, or a table with ``start``, ``end``, ``text`` and ``speaker`` columns.
    level : {"segments", "words", "turns"}
        Which table of the transcript to draw.
    start, end : float, optional
        Window in seconds; default from 0 to the last item's end.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    colors : dict, optional
        Speaker → colour; by default :func:`speaker_colors` of the transcript.
    text : bool
        Write the items' text where it fits.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = voxnb.plot.lanes(t, level="words", start=12, end=20)  # doctest: +SKIP
    """
    table = _table(transcript, level)
    colors = colors if colors is not None else speaker_colors(transcript)
    spans = _speaker_spans(table, colors, level=level)
    x0, x1 = _window(start, end, _last_end(table) or 1.0)
    ax = ax if ax is not None else _new_axes((12, 0.4 + 0.35 * max(1, len(spans))))
    layer = _LaneLayer(ax, spans, text=text, empty=f"no timed {level}")
    _follow_xlim(ax, x0, x1, layer.draw)
    _lane_axis(ax, [lane.name for lane in spans])
    _time_axis(ax)
    return ax


# -- figures ---------------------------------------------------------------------------------------


def transcript_figure(
    transcript: Any,
    audio: Any,
    *,
    start: float | None = None,
    end: float | None = None,
    kind: str = "mel",
    words: bool = True,
    width: float = 12.0,
) -> Any:
    """Waveform, spectrogram, speaker turns and words stacked on one time axis.

    This is what ``Transcript.plot(audio)`` returns. Zooming any row (with an interactive
    backend) zooms them all and recomputes envelope, spectrogram and lanes for the new window.
    Where the transcript runs past the end of the audio the rows are shaded.

    Parameters
    ----------
    transcript : Transcript
        The transcript to draw.
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts
        Its sound.
    start, end : float, optional
        Window in seconds; default everything (audio or transcript, whichever is longer).
    kind : {"mel", "linear"}
        Spectrogram scale.
    words : bool
        Add a row of word lanes (when the transcript has timed words).
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        With the inline backend the figure is shown once, as the cell's value (a figure
        assigned to a name is shown by displaying it, e.g. ending the cell with ``fig``).

    Raises
    ------
    ParameterError
        A window that ends before it starts, an unknown ``kind``, or a ``width`` too narrow for
        the margins.

    Examples
    --------
    >>> fig = t.plot(audio, start=30, end=45)  # doctest: +SKIP
    >>> fig.savefig("excerpt.png")  # doctest: +SKIP
    """
    audio = as_audio(audio, sr=None)
    colors = speaker_colors(transcript)
    turns = _table(transcript, "turns")
    word_table = _table(transcript, "words") if words else None
    total = max(
        audio.duration,
        _last_end(turns) or 0.0,
        (_last_end(word_table) or 0.0) if word_table is not None else 0.0,
    )
    x0, x1 = _window(start, end, total)
    n_lanes = max(1, len(_speaker_spans(turns, colors, level="turns")))
    rows: list[tuple[str, float]] = [("waveform", 1.1), ("spectrogram", 1.5), ("turns", 0.3 + 0.3 * n_lanes)]
    if word_table is not None and _columns(word_table, level="words")[3].any():  # any timed word
        rows.append(("words", 0.3 + 0.3 * n_lanes))
    fig, axes = _new_figure(width, [h for _, h in rows], returned=True)
    for (row, _), ax in zip(rows, axes):
        if row == "waveform":
            waveform(audio, start=x0, end=x1, ax=ax)
        elif row == "spectrogram":
            spectrogram(audio, kind=kind, start=x0, end=x1, ax=ax)
        else:
            lanes(transcript, level=row, start=x0, end=x1, ax=ax, colors=colors)
            name = row
            if row == "words" and _interpolated(word_table).any():
                name = "words (faint: times interpolated, not measured)"
            ax.text(1.0, 1.0, name, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.4")
    _finish_rows(axes, x0, x1, audio_end=audio.duration, total=total)
    return fig


def compare(
    first: Any,
    second: Any = None,
    audio: Any = None,
    *,
    labels: tuple[str, str] | None = None,
    normalizer: Any = "basic",
    start: float | None = None,
    end: float | None = None,
    width: float = 12.0,
) -> Any:
    """Two transcripts' words one above the other (over the waveform), their differences coloured.

    The word sequences are aligned after normalisation, exactly as the context_bias scorer
    aligns them (see :func:`voxnb.diff`, which gives the same alignment as a table and as
    text). Words the same in both are pale; a substituted word is orange in both lanes, a word
    only in the first (a deletion) purple, a word only in the second (an insertion) green. The
    legend says so and the title counts each kind. Words are labelled where the whole word fits
    (differences first); zoom in (``start=``/``end=``, or interactively) to read the others.

    Parameters
    ----------
    first, second : Transcript
        Two transcripts of the same audio (e.g. without and with ``context_bias``). Instead of
        two, *first* may be a dict of two ``name: transcript`` pairs or a :func:`voxnb.concat`
        words table with two runs; their names label the lanes.
    audio : Audio or anything :func:`voxnb.audio.as_audio` accepts, optional
        Their sound; draws a waveform row when given.
    labels : tuple of str, optional
        Lane names; default the dict's keys or the runs' names, else what tells the transcripts
        apart: their ``context_bias``, their models or their backends (:func:`voxnb.differences.run_labels`).
    normalizer : {"basic", "whisper-en", None} or callable
        How words are normalised before comparing (see :func:`voxnb.text.normalization.normalize`).
    start, end : float, optional
        Window in seconds.
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        ``labels`` that are not two names, a window that ends before it starts, or a ``width``
        too narrow for the margins.

    Examples
    --------
    >>> fig = plain.compare(biased, audio, labels=("plain", "context_bias"))  # doctest: +SKIP
    >>> fig = voxnb.plot.compare({"plain": plain, "biased": biased}, audio=audio)  # doctest: +SKIP
    """
    from matplotlib.patches import Patch

    from voxnb.differences import COLORS, _pair, diff

    first, second, labels = _pair(first, second, labels)
    result = diff(first, second, labels=labels, normalizer=normalizer)
    labels = result.labels
    words = [_table(t, "words") for t in (first, second)]
    ops = (result.first_ops, result.second_ops)
    spans = [_lane_from(label, table, o) for label, table, o in zip(labels, words, ops)]
    audio = None if audio is None else as_audio(audio, sr=None)
    total = max([audio.duration if audio is not None else 0.0] + [_last_end(w) or 0.0 for w in words])
    x0, x1 = _window(start, end, total or 1.0)
    heights = ([1.1] if audio is not None else []) + [0.9]
    fig, axes = _new_figure(width, heights, returned=True, top=0.45)
    if audio is not None:
        waveform(audio, start=x0, end=x1, ax=axes[0])
    ax = axes[-1]
    layer = _LaneLayer(ax, spans, text=True, empty="no timed words", whole_words=True)
    _follow_xlim(ax, x0, x1, layer.draw)
    _lane_axis(
        ax, [f"{label}\n{int((o != 'match').sum())} of {o.size} differ" for label, o in zip(labels, ops)]
    )
    _time_axis(ax)
    _finish_rows(axes, x0, x1, audio_end=total if audio is None else audio.duration, total=total)
    c = result.counts
    axes[0].set_title(
        f"{labels[0]} vs {labels[1]}: {c['substitution']} substituted, {c['deletion']} only in "
        f"{labels[0]}, {c['insertion']} only in {labels[1]} ({c['match']} the same)",
        loc="left",
        fontsize=9,
        pad=6,
    )
    handles = [
        Patch(color=COLORS["match"], label="same"),
        Patch(color=COLORS["substitution"], label="substituted"),
        Patch(color=COLORS["deletion"], label=f"only in {labels[0]}"),
        Patch(color=COLORS["insertion"], label=f"only in {labels[1]}"),
    ]
    fig.legend(
        handles=handles,
        loc="upper right",
        bbox_to_anchor=(1 - 0.2 / width, 1.0),
        ncols=4,
        fontsize=7,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )
    return fig


def word_differences(first: Any, second: Any, *, normalizer: Any = "basic") -> tuple[np.ndarray, np.ndarray]:
    """Which words of each words table have no equal counterpart in the other.

    Parameters
    ----------
    first, second : pandas.DataFrame
        Words tables (``text`` column, in spoken order).
    normalizer : {"basic", "whisper-en", None} or callable
        Applied to each word before comparing.

    Returns
    -------
    tuple of np.ndarray
        Two boolean arrays, one per table row: True where the word is substituted, inserted or
        deleted (:func:`voxnb.diff` says which).

    Examples
    --------
    >>> import pandas as pd
    >>> plain = pd.DataFrame({"text": ["Revenue", "grew", "twelve", "percent"]})
    >>> biased = pd.DataFrame({"text": ["revenue", "grew", "12", "percent"]})
    >>> [flags.tolist() for flags in word_differences(plain, biased)]
    [[False, False, True, False], [False, False, True, False]]
    """
    from voxnb.differences import diff

    result = diff(first, second, labels=("first", "second"), normalizer=normalizer)
    return result.first_ops != "match", result.second_ops != "match"


# -- layers: each redraws itself for a window --------------------------------------------------------


class _WaveformLayer:
    def __init__(self, ax: Any, audio: Audio, color: str):
        self.ax, self.audio, self.color = ax, audio, color
        self.artists: list[Any] = []
        self.peak = 0.0

    def draw(self, x0: float, x1: float) -> None:
        _remove(self.artists)
        n = _pixel_width(self.ax)
        edges, lo, hi = self.audio.envelope(n, start=max(x0, 0.0), end=max(x1, 0.0))
        if lo.size == 0:
            return
        if lo.size < n:  # fewer samples than pixels: draw the samples themselves
            i = round(edges[0] * self.audio.sr)
            times = (i + np.arange(lo.size)) / self.audio.sr
            marker = "." if lo.size * 8 < n else None
            self.artists = self.ax.plot(times, lo, color=self.color, lw=0.8, marker=marker, ms=3)
        else:
            self.artists = [
                self.ax.fill_between(
                    edges, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post", color=self.color, lw=0.0
                )
            ]
        self.peak = max(self.peak, float(np.abs(lo).max()), float(np.abs(hi).max()))


class _SpectrogramLayer:
    def __init__(
        self, ax: Any, audio: Audio, *, kind: str, cmap: str, n_mels: int, n_fft: int, top_db: float
    ):
        self.ax, self.audio = ax, audio
        self.options: dict[str, Any] = {"kind": kind, "n_mels": n_mels, "n_fft": n_fft}
        self.image = None
        _, _, freqs = audio.spectrogram(start=0, end=min(audio.duration, 0.1), n_frames=1, **self.options)
        self.n_bins = len(freqs) - 1
        self.cmap, self.top_db = cmap, top_db
        self._freq_ticks(freqs)

    def _freq_ticks(self, freqs: np.ndarray) -> None:
        candidates = np.array([0, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000])
        hz = candidates[candidates <= freqs[-1]]
        positions = np.interp(hz, freqs, np.arange(len(freqs)))
        # keep ticks at least a tenth of the axis apart (the low mel bands crowd together)
        keep = [0]
        for k in range(1, len(hz)):
            if positions[k] - positions[keep[-1]] >= self.n_bins / 10:
                keep.append(k)
        self.ax.set_yticks(positions[keep], [f"{h / 1000:g}k" if h >= 1000 else f"{h:g}" for h in hz[keep]])

    def draw(self, x0: float, x1: float) -> None:
        a, b = max(x0, 0.0), min(x1, self.audio.duration)
        if b - a < 2 / self.audio.sr:
            if self.image is not None:
                self.image.set_visible(False)
            return
        s_db, times, _ = self.audio.spectrogram(
            start=a, end=b, n_frames=_pixel_width(self.ax), **self.options
        )
        extent = (times[0], times[-1], 0, self.n_bins)
        if self.image is None:
            self.image = self.ax.imshow(
                s_db,
                origin="lower",
                aspect="auto",
                extent=extent,
                cmap=self.cmap,
                vmin=-self.top_db,
                vmax=0.0,
                interpolation="nearest",
                resample=False,
            )
        else:
            self.image.set_data(s_db)
            self.image.set_extent(extent)
            self.image.set_visible(True)


class _Lane:
    """One lane's items sorted by start: times, texts, how each compares with the other
    transcript's (``ops``: match, substitution, insertion, deletion; compare only) and which ones
    are faint (times interpolated, not measured)."""

    __slots__ = ("color", "ends", "faint", "name", "ops", "starts", "texts")

    def __init__(
        self,
        name: str,
        starts: np.ndarray,
        ends: np.ndarray,
        texts: np.ndarray,
        color: str,
        ops: np.ndarray | None = None,
        faint: np.ndarray | None = None,
    ):
        order = np.argsort(starts, kind="stable")
        self.name, self.color = name, color
        self.starts, self.ends, self.texts = starts[order], ends[order], texts[order]
        self.ops = None if ops is None else ops[order]
        self.faint = None if faint is None or not faint.any() else faint[order]


class _LaneLayer:
    def __init__(self, ax: Any, spans: list[_Lane], *, text: bool, empty: str, whole_words: bool = False):
        self.ax, self.spans, self.text, self.empty = ax, spans, text, empty
        # label only items whose whole text fits (compare: a cut word could read as a wrong one)
        self.whole_words = whole_words
        self.artists: list[Any] = []
        # labels are reused across redraws: creating Text artists is most of a zoom's cost
        self.labels: list[Any] = []

    def _label(self, used: int, x: float, y: float, text: str) -> None:
        if used < len(self.labels):
            label = self.labels[used]
            label.set_text(text)
            label.set_position((x, y))
            label.set_visible(True)
        else:
            self.labels.append(
                self.ax.text(x, y, text, ha="center", va="center", fontsize=_LANE_FONT, clip_on=True)
            )

    def draw(self, x0: float, x1: float) -> None:
        _remove(self.artists)
        used = 0
        try:
            used = self._draw(x0, x1)
        finally:
            for label in self.labels[used:]:
                label.set_visible(False)
                label.set_text("")

    def _draw(self, x0: float, x1: float) -> int:
        ax = self.ax
        used = 0
        if not self.spans:
            self.artists.append(
                ax.text(
                    0.5,
                    0.5,
                    self.empty,
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    color="0.5",
                    fontsize=8,
                )
            )
            return used
        pixels = _pixel_width(ax)
        per_pixel = (x1 - x0) / pixels
        char_px = _LANE_FONT * ax.figure.dpi / 72 * 0.6
        budget = _MAX_LABELS
        for row, lane in enumerate(self.spans):
            visible = (lane.ends > x0) & (lane.starts < x1)
            starts, ends = lane.starts[visible], lane.ends[visible]
            # few enough boxes to see each one: outline them so touching words stay apart
            separate = starts.size * 3 <= pixels
            for s, e, color, alpha in _groups(lane, visible):
                if s.size:
                    bars = (
                        list(zip(s.tolist(), (e - s).tolist())) if separate else _merge_spans(s, e, per_pixel)
                    )
                    self.artists.append(
                        ax.broken_barh(
                            bars,
                            (row - 0.4, 0.8),
                            facecolors=color,
                            alpha=alpha,
                            edgecolors="white",
                            lw=0.6 if separate else 0,
                        )
                    )
            if self.text and budget > 0:
                texts = lane.texts[visible]
                widths = (np.minimum(ends, x1) - np.maximum(starts, x0)) / per_pixel
                if self.whole_words:
                    ops = lane.ops[visible] if lane.ops is not None else None
                    fits, centres = _whole_labels(
                        texts, starts, ends, ops, x0, x1, per_pixel, char_px, budget
                    )
                    budget -= fits.size
                    for k, x in zip(fits.tolist(), centres.tolist()):
                        self._label(used, x, row, str(texts[k]).strip())
                        used += 1
                    continue
                else:
                    fits = np.flatnonzero(widths >= 3 * char_px)[:budget]
                budget -= fits.size
                for k in fits:
                    label = _fit(str(texts[k]), int(widths[k] / char_px))
                    if label:
                        self._label(used, (max(starts[k], x0) + min(ends[k], x1)) / 2, row, label)
                        used += 1
        return used


def _whole_labels(
    texts: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    ops: np.ndarray | None,
    x0: float,
    x1: float,
    per_pixel: float,
    char_px: float,
    budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Which items get a label (and where, in data units), each whole, none overlapping another.

    Differences come first and may run over their neighbours' boxes (they are what the reader
    looks for), kept inside the window; the other words are labelled where the word fits inside
    its own box.
    """
    import bisect

    centre = (np.maximum(starts, x0) + np.minimum(ends, x1)) / 2 / per_pixel
    box = (np.minimum(ends, x1) - np.maximum(starts, x0)) / per_pixel
    half = (
        np.fromiter((len(str(t).strip()) + 0.5 for t in texts), dtype=float, count=len(texts)) * char_px / 2
    )
    lo, hi = x0 / per_pixel + half, x0 / per_pixel + np.maximum((x1 - x0) / per_pixel - half, half)
    centre = np.clip(centre, lo, hi)  # a label near the window's edge shifts inward, whole
    differs = ops != "match" if ops is not None else np.zeros(len(texts), dtype=bool)
    candidates = np.r_[np.flatnonzero(differs), np.flatnonzero(~differs & (box >= 2 * half))]
    lefts: list[float] = []  # accepted labels as sorted, disjoint [left, right] pixel intervals
    rights: list[float] = []
    chosen: list[int] = []
    for k in candidates.tolist():
        if len(chosen) >= budget:
            break
        left, right = centre[k] - half[k], centre[k] + half[k]
        i = bisect.bisect_left(lefts, left)
        if (i < len(lefts) and lefts[i] < right) or (i > 0 and rights[i - 1] > left):
            continue
        lefts.insert(i, left)
        rights.insert(i, right)
        chosen.append(k)
    order = np.sort(np.asarray(chosen, dtype=np.int64))
    return order, centre[order] * per_pixel


def _groups(lane: _Lane, visible: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, str, float]]:
    """The visible items split by how they are drawn: ``(starts, ends, colour, alpha)``."""
    starts, ends = lane.starts[visible], lane.ends[visible]
    if lane.ops is not None:
        from voxnb.differences import COLORS

        ops = lane.ops[visible]
        return [(starts[ops == op], ends[ops == op], color, 1.0) for op, color in COLORS.items()]
    if lane.faint is not None:
        faint = lane.faint[visible]
        return [
            (starts[~faint], ends[~faint], lane.color, 1.0),
            (starts[faint], ends[faint], lane.color, _FAINT_ALPHA),
        ]
    return [(starts, ends, lane.color, 1.0)]


# -- helpers -------------------------------------------------------------------------------------------


def _is_frame(obj: Any) -> bool:
    import pandas as pd

    return isinstance(obj, pd.DataFrame)


def _table(transcript: Any, level: str) -> Any:
    if _is_frame(transcript):
        return transcript
    if level not in _LEVELS:
        raise ParameterError(f"level={level!r}: use one of {', '.join(map(repr, _LEVELS))}")
    return getattr(transcript, level)


def _columns(table: Any, *, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``start``, ``end``, ``text`` (``""`` when missing) and a mask of rows with both times."""
    missing = {"start", "end"} - set(table.columns)
    if missing:
        raise ParameterError(f"a {level} table needs columns start and end; it lacks {sorted(missing)}")
    starts = table["start"].to_numpy(dtype=float, na_value=np.nan)
    ends = table["end"].to_numpy(dtype=float, na_value=np.nan)
    texts = (
        table["text"].astype(object).fillna("").to_numpy()
        if "text" in table
        else np.full(len(table), "", dtype=object)
    )
    return starts, ends, texts, np.isfinite(starts) & np.isfinite(ends)


def _speaker_spans(table: Any, colors: dict[str, str], *, level: str) -> list[_Lane]:
    """One :class:`_Lane` per speaker present (in colour-map order), for rows with times."""
    starts, ends, texts, timed = _columns(table, level=level)
    speakers = (
        table["speaker"].astype(object).where(table["speaker"].notna(), NO_SPEAKER).astype(str).to_numpy()
        if "speaker" in table
        else np.full(len(table), NO_SPEAKER, dtype=object)
    )
    faint = _interpolated(table)
    spans = []
    for name in [*colors, *sorted(set(speakers[timed]) - set(colors))]:
        mask = timed & (speakers == name)
        if mask.any():
            spans.append(
                _Lane(
                    name,
                    starts[mask],
                    ends[mask],
                    texts[mask],
                    colors.get(name, _UNKNOWN_COLOR),
                    faint=faint[mask],
                )
            )
    return spans


def _interpolated(table: Any) -> np.ndarray:
    """Rows whose times were spread over their segment rather than measured (words ``timing``)."""
    if "timing" not in table:
        return np.zeros(len(table), dtype=bool)
    return (table["timing"].astype(object) == "interpolated").to_numpy(dtype=bool)


def _lane_from(label: str, table: Any, ops: np.ndarray) -> _Lane:
    """One lane of all the table's timed rows, with each row's kind of alignment step."""
    starts, ends, texts, timed = _columns(table, level="words")
    return _Lane(label, starts[timed], ends[timed], texts[timed], _SAME_COLOR, ops[timed])


def _merge_spans(starts: np.ndarray, ends: np.ndarray, min_gap: float) -> list[tuple[float, float]]:
    """``(start, width)`` bars: spans closer than a pixel merged, each at least a pixel wide."""
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new_group = np.empty(starts.size, dtype=bool)
    new_group[0] = True
    new_group[1:] = starts[1:] - reach[:-1] > min_gap
    heads = np.flatnonzero(new_group)
    group_start = starts[heads]
    group_end = np.maximum.reduceat(ends, heads)
    widths = np.maximum(group_end - group_start, min_gap)
    return list(zip(group_start.tolist(), widths.tolist()))


def _fit(text: str, chars: int) -> str:
    text = text.strip()
    if len(text) <= chars:
        return text
    return text[: chars - 1].rstrip() + "…" if chars >= 4 else ""


def _last_end(table: Any) -> float | None:
    if table is None or len(table) == 0 or "end" not in table:
        return None
    ends = table["end"].to_numpy(dtype=float, na_value=np.nan)
    return float(np.nanmax(ends)) if np.isfinite(ends).any() else None


def _window(start: float | None, end: float | None, total: float) -> tuple[float, float]:
    x0 = 0.0 if start is None else float(start)
    x1 = (total if total > x0 else x0 + 1.0) if end is None else float(end)
    if not (np.isfinite(x0) and np.isfinite(x1)):
        raise ParameterError(f"start={start!r}, end={end!r}: pass finite times in seconds")
    if x1 <= x0:
        raise ParameterError(f"end={end!r} must be after start={start!r}")
    return x0, x1


def _pixel_width(ax: Any) -> int:
    return max(1, round(ax.get_window_extent().width))


def _follow_xlim(ax: Any, x0: float, x1: float, draw: Callable[[float, float], None]) -> None:
    """Set the window, draw for it, and redraw whenever the x-limits change (zoom, pan, sharex)."""
    ax.set_xlim(x0, x1)
    draw(x0, x1)
    ax.callbacks.connect("xlim_changed", lambda changed: draw(*changed.get_xlim()))


def _remove(artists: list[Any]) -> None:
    for artist in artists:
        artist.remove()
    artists.clear()


def _lane_axis(ax: Any, names: list[str]) -> None:
    ax.set_ylim(len(names) - 0.5 if names else 0.5, -0.5)  # first lane on top
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _time_axis(ax: Any) -> None:
    ax.xaxis.set_major_locator(_ClockLocator())
    ax.xaxis.set_major_formatter(_ClockFormatter())


class _ClockLocator(Locator):
    """About eight ticks at clock-friendly steps: 1/2/5 × 10ⁿ s below a second, then 1, 2, 5, 10,
    15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6 h."""

    _STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)

    def __call__(self) -> Any:
        assert self.axis is not None  # matplotlib sets it before asking for ticks
        lo, hi = self.axis.get_view_interval()
        return self.tick_values(lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> Any:
        lo, hi = sorted((float(vmin), float(vmax)))
        target = max(hi - lo, 1e-9) / 8
        if target < 1:
            decade = 10 ** np.floor(np.log10(target))
            step = next(decade * m for m in (1, 2, 5, 10) if decade * m >= target * (1 - 1e-9))
        else:
            step = next(
                (s for s in self._STEPS if s >= target * (1 - 1e-9)),
                self._STEPS[-1] * np.ceil(target / self._STEPS[-1]),
            )
        first = np.ceil(lo / step) * step
        return np.arange(first, hi + step * 1e-6, step)


def _clock(seconds: float, decimals: int = 3) -> str:
    """A time label: ``12.5``, ``4:05``, ``1:02:03.5`` (at most *decimals* digits, trailing zeros cut)."""
    sign = "-" if seconds < 0 else ""
    seconds = round(abs(seconds), decimals)
    whole = int(seconds)
    frac = f"{seconds - whole:.{decimals}f}"[1:].rstrip("0").rstrip(".") if decimals else ""
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}{frac}"
    if minutes:
        return f"{sign}{minutes}:{secs:02d}{frac}"
    return f"{sign}{secs}{frac}"


class _ClockFormatter(Formatter):
    """Clock-style tick labels with as many decimals as the tick spacing needs."""

    decimals = 3

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        steps = np.diff(np.asarray(locs, dtype=float))
        step = float(steps[steps > 0].min()) if (steps > 0).any() else 1.0
        self.decimals = int(np.clip(-np.floor(np.log10(step) + 1e-9), 0, 6))

    def __call__(self, x: float, pos: Any = None) -> str:
        return _clock(x, self.decimals)


def _finish_rows(axes: list[Any], x0: float, x1: float, *, audio_end: float, total: float) -> None:
    """The rows of a figure on one time axis: shaded where the transcript outlasts the audio,
    the time labelled under the last row, the window set."""
    for ax in axes:
        if total > audio_end:
            ax.axvspan(audio_end, total, color=_BEYOND_AUDIO, zorder=0, lw=0)
    axes[-1].set_xlabel("time (s)")
    axes[0].set_xlim(x0, x1)


class _PlainTextDraw:
    """A figure's ``draw`` with unhinted text rendered at its own resolution.

    Agg's default hinting renders each string at 8× horizontal resolution; with the dozens of
    word labels a zoom redraws, that is most of the redraw's time (3× slower than plain text,
    which looks the same at these sizes). Only figures voxnb creates get this; a user's own
    figure keeps the user's settings.
    """

    __slots__ = ("figure",)

    def __init__(self, figure: Any):
        self.figure = figure

    def __call__(self, renderer: Any) -> None:
        import matplotlib

        with matplotlib.rc_context({"text.hinting": "no_hinting"}):
            type(self.figure).draw(self.figure, renderer)


def _new_axes(size: tuple[float, float]) -> Any:
    return _new_figure(size[0], [size[1]])[1][0]


def _new_figure(
    width: float, heights: list[float], *, returned: bool = False, top: float = 0.2
) -> tuple[Any, list[Any]]:
    """A pyplot figure (so interactive backends can zoom it) with fixed margins (no layout engine:
    the axes' pixel width is known before the first draw, and redraws stay cheap)."""
    import matplotlib
    import matplotlib.pyplot as plt

    left, right = 1.1, 0.2  # inches of lane names / y labels, and of the right edge
    if not width > left + right:
        raise ParameterError(
            f"width={width!r} inches leaves no room for the plot beside its {left + right:g}-inch "
            "margins; pass a width of a few inches, e.g. width=12"
        )
    top_bottom = top + 0.35  # inches of title and x labels
    fig, axes = plt.subplots(
        len(heights),
        1,
        sharex=True,
        squeeze=False,
        figsize=(width, sum(heights) + top_bottom),
        gridspec_kw={"height_ratios": heights, "hspace": 0.12},
    )
    total = sum(heights) + top_bottom
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / total, bottom=0.4 / total)
    fig.draw = _PlainTextDraw(fig)  # type: ignore[method-assign]
    fig._voxnb_margins = (left, right)  # type: ignore[attr-defined]  # read by the widget's resizing
    if returned and "inline" in matplotlib.get_backend().lower():
        # the notebook shows the returned figure once; left open, the inline backend would show it twice
        plt.close(fig)
    elif returned:
        from voxnb.figure_widget import is_widget_backend, show_once_fitted

        if is_widget_backend():  # once, as one widget, as wide as the cell
            show_once_fitted(fig)
    return fig, list(axes[:, 0])
