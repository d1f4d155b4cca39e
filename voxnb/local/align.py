"""Forced word alignment: word times from the audio for transcripts that have segment times only.

Voxtral 3 gives no word timestamps, vLLM and realtime give none; this fills them in with the
offline engine's Whisper model. Each segment's window of audio is encoded once and
CTranslate2's Whisper ``align`` (cross-attention + dynamic time warping, what faster-whisper
uses for its own word timestamps) places the transcript's words in it. Whisper's aligner makes
words touch, absorbing pauses, so every start is then moved to the nearest onset of audible
sound and every end to the nearest offset, if one lies within 0.2 s.

Where it cannot align (no segment times, a segment longer than 30 s, a language the model does
not know) the words keep their interpolated times and ``timing`` says so.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from voxnb.errors import EngineError, ParameterError

if TYPE_CHECKING:
    from voxnb.local.engine import Engine
    from voxnb.transcript import Transcript

__all__ = ["align", "align_words", "snap_to_sound", "sound_edges"]

SR = 16000
FRAME = 0.01  # seconds per energy frame
PAD = 0.2  # seconds of audio added around each segment's window
MAX_WINDOW = 30.0  # Whisper's encoder sees 30 s at most
SNAP = 0.2  # how far a boundary may move to reach the edge of the sound
TOKENS_PER_SECOND = 50  # Whisper encoder frames per second
BATCH = 8
MIN_WORD = 0.03  # seconds: snapping never leaves a word shorter than this


def _tokenizer(engine: Engine, language: str):
    from faster_whisper.tokenizer import Tokenizer

    return Tokenizer(engine.whisper.hf_tokenizer, engine.multilingual, task="transcribe", language=language)


def align_words(
    engine: Engine,
    samples: np.ndarray,
    windows: list[tuple[float, float, list[str]]],
    *,
    language: str = "en",
    progress: bool = False,
) -> list[np.ndarray]:
    """Raw Whisper alignment: for each ``(start, end, words)`` window, an (n_words, 2) array of times.

    Times are seconds from the start of *samples*. Windows must be at most 30 s long.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local.engine import get_engine
    >>> y = voxnb.data.audio("words").y
    >>> times = align_words(get_engine(), y, [(0.0, 1.6, ["Janis", "Joplin"])])   # doctest: +SKIP
    >>> times[0].shape                                                             # doctest: +SKIP
    (2, 2)
    """
    from voxnb.local.progress import audio_bar

    tokenizer = _tokenizer(engine, language)
    out: list[np.ndarray] = []
    spans = [end - start for start, end, _ in windows]
    with audio_bar(sum(spans), progress=progress, desc="aligning", audio_seconds=len(samples) / SR) as bar:
        for first in range(0, len(windows), BATCH):
            out += _align_batch(engine, tokenizer, samples, windows[first : first + BATCH])
            bar.update(sum(spans[first : first + BATCH]))
    return out


def _align_batch(engine: Engine, tokenizer: Any, samples: np.ndarray, batch: list) -> list[np.ndarray]:
    """:func:`align_words` for up to ``BATCH`` windows encoded together."""
    from faster_whisper.audio import pad_or_trim

    whisper = engine.whisper
    features, n_frames, tokens, counts = [], [], [], []
    for start, end, words in batch:
        clip = samples[max(0, int(start * SR)) : max(0, int(end * SR))]
        mel = whisper.feature_extractor(clip)
        n_frames.append(min(mel.shape[-1] - 1, whisper.feature_extractor.nb_max_frames))
        features.append(pad_or_trim(mel))
        per_word = [tokenizer.encode(" " + w.strip()) for w in words]
        counts.append([len(t) for t in per_word])
        tokens.append([t for ts in per_word for t in ts])
    with engine.lock:
        encoded = whisper.encode(np.stack(features))
        results = whisper.model.align(
            encoded, tokenizer.sot_sequence, tokens, n_frames, median_filter_width=7
        )
    out: list[np.ndarray] = []
    for (start, _, _), result, count in zip(batch, results, counts):
        pairs = np.asarray(result.alignments)
        if pairs.ndim != 2 or not len(pairs):  # nothing to align against (silence, empty clip)
            out.append(np.full((len(count), 2), np.nan))
            continue
        text_index, time_index = pairs[:, 0], pairs[:, 1]
        jumps = np.r_[True, np.diff(text_index) != 0]
        jump_times = time_index[jumps] / TOKENS_PER_SECOND
        bounds = np.r_[0, np.cumsum(count)]
        bounds = np.clip(bounds, 0, len(jump_times) - 1)
        out.append(max(0.0, start) + np.column_stack([jump_times[bounds[:-1]], jump_times[bounds[1:]]]))
    return out


def sound_edges(
    samples: np.ndarray, *, margin: float = 10.0, bridge: float = 0.03
) -> tuple[np.ndarray, np.ndarray]:
    """Onset and offset times (seconds) of audible sound.

    A 10 ms frame is sound when it is *margin* dB above the noise floor (the 10th percentile
    of frame levels); silences shorter than *bridge* seconds (stop closures) are bridged.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros(16000, np.float32)
    >>> y[4000:8000] = np.random.default_rng(0).normal(0, 0.1, 4000)   # sound from 0.25 to 0.5 s
    >>> onsets, offsets = sound_edges(y)
    >>> onsets.tolist(), offsets.tolist()
    ([0.25], [0.5])
    """
    hop = int(FRAME * SR)
    n = len(samples) // hop
    frames = samples[: n * hop].reshape(n, hop).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.r_[False, level > np.percentile(level, 10) + margin, False]
    change = np.diff(loud.astype(np.int8))
    onsets, offsets = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    keep = np.r_[
        True, onsets[1:] - offsets[:-1] >= round(bridge / FRAME)
    ]  # gap before each onset long enough
    onsets = onsets[keep]
    offsets = np.r_[offsets[:-1][keep[1:]], offsets[-1:]]
    return onsets * FRAME, offsets * FRAME


def snap_to_sound(
    times: np.ndarray, onsets: np.ndarray, offsets: np.ndarray, *, reach: float = SNAP
) -> np.ndarray:
    """Move word boundaries (an (n, 2) array in seconds, in time order) onto the edges of the sound.

    Each start moves to the nearest onset and each end to the nearest offset within *reach*
    seconds, then silence left at a word's edges is cut off; a move that would make a word end
    before it starts, or overlap the previous word, is not made.

    Examples
    --------
    >>> import numpy as np
    >>> snap_to_sound(np.array([[0.2, 0.55]]), np.array([0.25]), np.array([0.5])).tolist()
    [[0.25, 0.5]]
    """
    out = times.copy()

    def nearest(t: float, edges: np.ndarray) -> float:
        if not len(edges) or not np.isfinite(t):
            return t
        i = int(np.argmin(np.abs(edges - t)))
        return float(edges[i]) if abs(edges[i] - t) <= reach else t

    def trimmed(start: float, end: float) -> tuple[float, float]:
        """Drop silence at the word's edges (the aligner pads the first word of a window with it)."""
        run = np.searchsorted(onsets, start, side="right") - 1
        if run < 0 or start >= offsets[run]:  # starts in silence: begin at the next onset
            later = onsets[run + 1] if run + 1 < len(onsets) else np.inf
            start = later if later < end else start
        run = np.searchsorted(onsets, end, side="left") - 1
        if run >= 0 and end > offsets[run]:  # ends in silence: stop at the last offset
            end = offsets[run] if offsets[run] > start else end
        return start, end

    for i, (start, end) in enumerate(times):
        new_start, new_end = trimmed(nearest(start, onsets), nearest(end, offsets))
        if i > 0:
            new_start = max(new_start, out[i - 1, 1])
        if new_end - new_start < MIN_WORD:  # snapping squeezed the word: keep the aligner's times
            new_start, new_end = (max(start, out[i - 1, 1]) if i > 0 else start), end
        out[i] = (new_start, max(new_end, new_start))
    return out


def align(
    transcript: Transcript,
    audio: Any,
    *,
    engine: Engine | None = None,
    snap: bool = True,
    language: str | None = None,
    progress: bool = True,
) -> Transcript:
    """Give every word of *transcript* a start and end from *audio* (``timing="aligned"``).

    Parameters
    ----------
    transcript : Transcript
        Any transcript with segment times (Voxtral, vLLM, realtime, loaded from disk...).
    audio : Audio, path, bytes or (samples, sr)
        The audio the transcript was made from.
    engine : voxnb.local.Engine, optional
        Whose Whisper model aligns; default: the shared offline engine (tiny.en), which hands
        other languages to the packaged multilingual model (``"base"``).
    snap : bool
        Move boundaries onto the edges of audible sound (recommended: Whisper's aligner
        absorbs pauses into the words around them).
    language : str, optional
        The transcript's language (ISO 639-1); default: ``transcript.language``, else English.
    progress : bool
        Show a bar over the audio's seconds when a minute or more is aligned; False for none.

    Returns
    -------
    Transcript
        A copy whose ``words`` table has aligned times; words that could not be aligned keep
        their interpolated times (``timing="interpolated"``).

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.Transcript.from_response({"model": "m", "text": "Hello there.", "language": "en",
    ...     "segments": [{"text": "Hello there.", "start": 0.3, "end": 1.4}], "usage": {}})
    >>> aligned = voxnb.align(t, "hello.wav")                        # doctest: +SKIP
    >>> aligned.words[["text", "start", "end", "timing"]]            # doctest: +SKIP
    """
    from voxnb.audio import as_audio
    from voxnb.local.engine import get_engine

    # duck-typed: the engine layer does not import the Transcript that calls it (Transcript.align)
    if not all(hasattr(transcript, name) for name in ("words", "segments", "with_words")):
        raise ParameterError(f"align() needs a voxnb.Transcript, got {type(transcript).__name__}")
    samples = as_audio(audio, sr=SR).y
    words = transcript.words.copy()
    segments = transcript.segments.set_index("segment")
    language = language or transcript.language or "en"
    try:
        engine = (engine or get_engine()).for_language(language)
    except EngineError as exc:
        warnings.warn(f"{exc}; the words keep interpolated times", stacklevel=2)
        return transcript.with_words(words)

    windows, rows = [], []
    duration = len(samples) / SR
    for seg, group in words.groupby("segment", sort=True):
        start, end = segments.loc[seg, "start"], segments.loc[seg, "end"]
        if not (np.isfinite(start) and np.isfinite(end)) or end - start + 2 * PAD > MAX_WINDOW:
            continue
        if start >= duration:
            continue
        windows.append((max(0.0, start - PAD), min(duration, end + PAD), group["text"].astype(str).tolist()))
        rows.append(group.index.to_numpy())
    if not windows:
        warnings.warn(
            "no segment has usable times (or all are longer than 30 s): words keep interpolated times",
            stacklevel=2,
        )
        return transcript.with_words(words)
    try:
        aligned = align_words(engine, samples, windows, language=language, progress=progress)
    except Exception as exc:  # CTranslate2 errors carry no useful type
        raise EngineError(
            f"forced alignment failed ({type(exc).__name__}: {exc}); "
            "check that the audio is the one this transcript was made from"
        ) from exc
    times = np.concatenate(aligned)
    index = np.concatenate(rows)
    found = np.isfinite(times).all(axis=1)
    times, index = times[found], index[found]
    order = np.argsort(times[:, 0], kind="stable")
    if snap:
        times[order] = snap_to_sound(times[order], *sound_edges(samples))
    words.loc[index, "start"] = times[:, 0]
    words.loc[index, "end"] = times[:, 1]
    words.loc[index, "timing"] = "aligned"
    return transcript.with_words(words)
