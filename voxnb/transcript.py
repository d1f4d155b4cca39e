"""The one result type: :class:`Transcript`, whatever produced it.

A Transcript keeps the response exactly as it arrived (:attr:`Transcript.raw`), what produced
it (backend, model, request parameters, audio hash) and derives, on first access, the
DataFrames of the contract in DESIGN.md: :attr:`~Transcript.segments`,
:attr:`~Transcript.words`, :attr:`~Transcript.turns` and :attr:`~Transcript.speakers`.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxnb.errors import ParameterError, ResponseFormatError

if TYPE_CHECKING:
    import pandas as pd

    from voxnb.audio import Audio
    from voxnb.readers import Canonical

__all__ = ["Transcript", "load_transcript", "concat"]

SAVE_FORMAT = "voxnb.transcript"
SAVE_VERSION = 1

#: request parameters that must never be recorded, whatever a caller passes
_SECRET_KEYS = {"api_key", "apikey", "key", "authorization", "token", "bearer", "password", "secret"}


def _clean_request(request: dict | None) -> dict:
    if request is None:
        return {}
    if not isinstance(request, dict):
        raise ParameterError(f"request= must be a dict of request parameters, got {type(request).__name__}")
    return {k: v for k, v in request.items() if str(k).lower().replace("-", "_") not in _SECRET_KEYS}


def _check_provenance(**fields: Any) -> None:
    """backend=, base_url=, model=, audio_sha256= are text (or None)."""
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise ParameterError(
                f"{name}= must be a string or None; got a {type(value).__name__}", option=name
            )


def _granularity_from_request(request: dict) -> str | None:
    wanted = request.get("timestamp_granularities") or request.get("timestamps")
    if isinstance(wanted, str):
        wanted = [wanted]
    if not wanted or "word" not in wanted:
        return None
    return "mixed" if "segment" in wanted else "word"


class Transcript:
    """A transcription and everything derived from it.

    Build one with :meth:`from_response` (any response shape) or :func:`voxnb.load_transcript`;
    clients and engines return them directly.

    Attributes
    ----------
    raw : object
        The response as received (parsed JSON for text, bytes and paths; the object otherwise).
    source : str
        The shape that was recognised: ``"mistral"``, ``"mistral-sdk"``, ``"mistral-sse"``,
        ``"openai-verbose-json"``, ``"vllm-json"``, ``"vllm-sse"``, ``"faster-whisper"``,
        ``"whisperx"``, ``"segments"`` or ``"empty"``.
    backend, base_url, model : str or None
        What produced it. ``model`` falls back to the model named in the response.
    request : dict
        The request parameters (never the API key).
    audio_sha256 : str or None
        Hash of the audio bytes that were transcribed.
    audio : voxnb.Audio or None
        The audio, when the producer kept it (the recorder does); not saved.

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.Transcript.from_response({
    ...     "model": "voxtral-mini-latest", "text": "Hello there. Hi!", "language": "en",
    ...     "segments": [
    ...         {"text": "Hello there.", "start": 0.0, "end": 1.2, "speaker_id": "speaker_1"},
    ...         {"text": "Hi!", "start": 1.5, "end": 2.0, "speaker_id": "speaker_2"}],
    ...     "usage": {"prompt_audio_seconds": 2}})
    >>> t.segments[["start", "end", "speaker", "text"]]
       start  end    speaker          text
    0    0.0  1.2  speaker_1  Hello there.
    1    1.5  2.0  speaker_2           Hi!
    >>> t.words["timing"].iloc[0]
    'interpolated'
    """

    def __init__(
        self,
        raw: Any,
        canonical: Canonical,
        *,
        granularity: str | None = None,
        backend: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        request: dict | None = None,
        audio_sha256: str | None = None,
        audio: Audio | None = None,
        created: str | None = None,
    ):
        self._raw = raw  # or a RawJSON, parsed on the first look at .raw
        self._canonical = canonical
        self._granularity = granularity
        self.backend = backend
        self.base_url = base_url
        self.model = model or canonical.model
        self.request = _clean_request(request)
        self.audio_sha256 = audio_sha256
        self.audio = audio
        self.created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._words_override: pd.DataFrame | None = None
        #: original speaker label → the name shown (:meth:`rename_speakers`); empty when none was renamed
        self.speaker_names: dict[str, str] = {}
        #: shown name → cosine similarity to the reference clip that named it (offline naming)
        self.speaker_similarity: dict[str, float] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_response(
        cls,
        obj: Any,
        *,
        granularity: str | None = None,
        backend: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        request: dict | None = None,
        audio_sha256: str | None = None,
        audio: Audio | None = None,
        _source: str | None = None,
    ) -> Transcript:
        """Build a Transcript from any response shape users hold.

        Parameters
        ----------
        obj : dict, str, bytes, path, SDK object, list of events, or faster-whisper results
            A Mistral transcription response (dict, JSON text or bytes, or a path to a ``.json``
            file); a ``mistralai`` SDK response (anything with ``model_dump()``); a list of SSE
            stream events (dicts or SDK objects); OpenAI ``verbose_json``; vLLM ``json`` or its
            stream chunks; faster-whisper's ``(segments, info)`` or list of segments; whisperX JSON.
        granularity : {"segment", "word"}, optional
            Say ``"word"`` when a Mistral response was requested with word timestamps: its
            ``segments`` then hold one word each. Read from ``request`` when not given.
        backend, base_url, model, request, audio_sha256, audio
            Provenance recorded on the Transcript (see the class attributes).

        Raises
        ------
        voxnb.ResponseFormatError
            The object is not a transcription response, naming the field that is wrong.

        Examples
        --------
        >>> import voxnb
        >>> t = voxnb.Transcript.from_response('{"text": " Bonjour.", "usage": {"type": "duration", "seconds": 2}}')
        >>> t.source, t.text, t.duration
        ('vllm-json', ' Bonjour.', 2.0)
        """
        from voxnb.readers import read_response

        _check_provenance(backend=backend, base_url=base_url, model=model, audio_sha256=audio_sha256)
        if audio is not None:
            from voxnb.audio import Audio

            if not isinstance(audio, Audio):
                raise ParameterError(
                    f"audio= must be a voxnb.Audio (e.g. voxnb.Audio.load(path)); got a {type(audio).__name__}",
                    option="audio",
                )
        request = _clean_request(request)
        if granularity is None:
            granularity = _granularity_from_request(request)
        raw, canonical = read_response(obj, granularity=granularity, source=_source, defer_raw=True)
        return cls(
            raw,
            canonical,
            granularity=granularity,
            backend=backend,
            base_url=base_url,
            model=model,
            request=request,
            audio_sha256=audio_sha256,
            audio=audio,
        )

    # ------------------------------------------------------------------ plain attributes

    @property
    def raw(self) -> Any:
        """The response exactly as it arrived (JSON text is parsed on the first look)."""
        from voxnb.readers import RawJSON

        if isinstance(self._raw, RawJSON):
            self._raw = self._raw.parse()
        return self._raw

    @raw.setter
    def raw(self, value: Any) -> None:
        self._raw = value

    @property
    def source(self) -> str:
        return self._canonical.source

    @property
    def text(self) -> str:
        """The full text (joined from the segments when the response carries none)."""
        text = self._canonical.text
        if text is None:
            text = " ".join(t for t in self._layout.seg_text if t)
        return text

    @property
    def language(self) -> str | None:
        return self._canonical.language

    @property
    def usage(self) -> dict | None:
        return self._canonical.usage

    @property
    def duration(self) -> float | None:
        """Audio duration in seconds: as reported, else the kept audio's, else the last end time,
        else the billed audio seconds (``usage``); None when nothing tells."""
        if self._canonical.duration is not None:
            return self._canonical.duration
        if self.audio is not None:
            return float(self.audio.duration)
        import numpy as np

        lay = self._layout
        # words spread over their segments end where the segments do: only the backend's may reach further
        ends = np.concatenate([lay.seg_end, lay.word_end]) if lay.has_backend_words else lay.seg_end
        ends = ends[np.isfinite(ends)]
        if len(ends):
            return float(ends.max())
        usage = self._canonical.usage or {}
        seconds = usage.get("prompt_audio_seconds") or usage.get("seconds")
        return float(seconds) if isinstance(seconds, (int, float)) else None

    # ------------------------------------------------------------------ DataFrames

    @cached_property
    def _layout(self):
        from voxnb.frames import layout
        from voxnb.readers import gc_paused

        with gc_paused():
            return layout(self._canonical)

    @cached_property
    def words(self) -> pd.DataFrame:
        """One row per word: ``word, segment, start, end, text, speaker, score, timing``.

        ``timing`` says where the times come from: ``api`` (the backend), ``aligned`` (forced
        alignment against the audio), ``interpolated`` (spread over the segment by character
        count) or ``none`` (no times known).
        """
        if self._words_override is not None:
            return self._words_override
        from voxnb.frames import words_frame
        from voxnb.readers import gc_paused

        lay = self._layout
        with gc_paused():
            return words_frame(lay)

    @cached_property
    def segments(self) -> pd.DataFrame:
        """One row per segment, sorted by start: ``segment, start, end, duration, text, speaker, score, n_words``."""
        from voxnb.frames import segments_frame

        return segments_frame(self._layout, self._words_override)

    @cached_property
    def turns(self) -> pd.DataFrame:
        """Consecutive segments of one speaker merged: ``turn, speaker, start, end, text, n_segments``."""
        from voxnb.frames import turns_frame

        return turns_frame(self.segments)

    @cached_property
    def speakers(self) -> pd.DataFrame:
        """One row per speaker: ``speaker, turns, talk_time, share, words, words_per_minute, first_start, last_end``.

        When speakers were named from reference clips offline, a ``similarity`` column says how
        alike each named speaker's voice was to its clip (NaN for the others).
        """
        from voxnb.frames import speakers_frame

        table = speakers_frame(self.segments, self.turns)
        if self.speaker_similarity:
            table["similarity"] = table["speaker"].astype(object).map(self.speaker_similarity).astype(float)
        return table

    def rename_speakers(self, names: dict[str, str], *, similarity: dict[str, float] | None = None,
                        merge: bool = False) -> Transcript:  # fmt: skip
        """A copy whose speakers are called by *names*: every table, plot colour, export and concat follows.

        Parameters
        ----------
        names : dict of str → str
            Current speaker label → new name, e.g. ``{"speaker_1": "Ada"}``; speakers not in it
            keep their label.
        similarity : dict of str → float, optional
            New name → how alike the voice was to a reference clip (kept in :attr:`speakers`).
        merge : bool
            Allow two speakers to get the same name (they become one speaker); refused by default,
            since it usually is a typo.

        Returns
        -------
        Transcript
            The original is unchanged. Each speaker keeps its plot colour, and saving keeps the
            names (:meth:`save`).

        Examples
        --------
        >>> import voxnb
        >>> t = voxnb.Transcript.from_response({"text": "Hi. Hello.", "segments": [
        ...     {"text": "Hi.", "start": 0.0, "end": 1.0, "speaker_id": "speaker_1"},
        ...     {"text": "Hello.", "start": 1.2, "end": 2.0, "speaker_id": "speaker_2"}]})
        >>> named = t.rename_speakers({"speaker_1": "Ada"})
        >>> named.segments["speaker"].tolist(), t.segments["speaker"].tolist()
        (['Ada', 'speaker_2'], ['speaker_1', 'speaker_2'])
        """
        from dataclasses import replace

        current = list(self._layout.speakers)
        if not isinstance(names, dict) or not all(isinstance(k, str) for k in names):
            raise ParameterError(
                "rename_speakers() takes a dict of current label → name, e.g. {'speaker_1': 'Ada'}"
            )
        unknown = [k for k in names if k not in current]
        if unknown:
            raise ParameterError(
                f"rename_speakers(): no speaker {unknown[0]!r} in this transcript; its speakers are "
                f"{current or 'none (it was not diarized)'}"
            )
        for name in names.values():
            if not isinstance(name, str) or not name.strip() or name != name.strip():
                raise ParameterError(
                    f"rename_speakers(): names must be non-empty strings without surrounding spaces; got {name!r}"
                )
        final = [names.get(label, label) for label in current]
        if len(set(final)) < len(final) and not merge:
            doubled = sorted({n for n in final if final.count(n) > 1})
            raise ParameterError(
                f"rename_speakers() would give two speakers the name {doubled[0]!r}; pass merge=True if they "
                "are one person, or choose distinct names"
            )

        def renamed(columns: Any) -> Any:
            if columns is None:
                return None
            return replace(
                columns, speaker=[names.get(s, s) if s is not None else None for s in columns.speaker]
            )

        canonical = replace(
            self._canonical, segments=renamed(self._canonical.segments), words=renamed(self._canonical.words)
        )
        new = self._copy(canonical)
        if self._words_override is not None:
            words = self._words_override.copy()
            words["speaker"] = (
                words["speaker"].astype(object).map(lambda s: names.get(s, s) if isinstance(s, str) else s)
            )
            new._words_override = None
            new = new.with_words(words)
        origins = {label: label for label in current}
        origins.update({shown: original for original, shown in self.speaker_names.items()})
        new.speaker_names = {
            origins.get(label, label): names.get(label, label)
            for label in current
            if names.get(label, label) != origins.get(label, label)
        }
        kept = {names.get(k, k): v for k, v in self.speaker_similarity.items()}
        new.speaker_similarity = {**kept, **{k: float(v) for k, v in (similarity or {}).items()}}
        return new

    @property
    def speaker_order(self) -> dict[str, str]:
        """Shown speaker name → the label it had when the transcript was made (for stable colours)."""
        return {shown: original for original, shown in self.speaker_names.items()}

    def with_words(self, words: pd.DataFrame) -> Transcript:
        """A copy whose words table is *words* (e.g. after forced alignment).

        *words* must have the columns of :attr:`words`; ``segment`` must index this transcript's
        segments. The table is saved and loaded with the transcript.
        """
        import numpy as np
        import pandas as pd

        from voxnb.frames import TIMINGS, WORD_COLUMNS

        if not isinstance(words, pd.DataFrame):
            raise ParameterError(f"with_words() takes a DataFrame like t.words; got a {type(words).__name__}")
        missing = [c for c in WORD_COLUMNS if c not in words.columns]
        if missing:
            raise ParameterError(f"with_words() needs the columns {WORD_COLUMNS}; missing {missing}")
        n_segments = self._layout.n_segments
        if not pd.api.types.is_integer_dtype(words["segment"]) or words["segment"].isna().any():
            raise ParameterError("with_words(): 'segment' must hold whole numbers (segment indices)")
        seg = words["segment"].to_numpy()
        if len(seg) and (seg.min() < 0 or seg.max() >= n_segments):
            raise ParameterError(
                f"with_words(): 'segment' must index this transcript's {n_segments} segments"
            )
        times = {}
        for col in ("start", "end", "score"):
            if pd.api.types.is_bool_dtype(words[col]) or not pd.api.types.is_numeric_dtype(words[col]):
                raise ParameterError(f"with_words(): '{col}' must hold numbers (NaN where unknown)")
            times[col] = words[col].to_numpy(dtype=float)
        from voxnb.readers import MAX_SECONDS

        for col in ("start", "end"):
            bad = np.isinf(times[col]) | (times[col] < 0) | (times[col] > MAX_SECONDS)
            if bad.any():
                raise ParameterError(
                    f"with_words(): {col} of word {int(np.flatnonzero(bad)[0])} is "
                    f"{float(times[col][bad][0])!r}; times are seconds from the start of the audio, 0 or more"
                )
        with np.errstate(invalid="ignore"):
            reversed_ = times["end"] < times["start"]
        if reversed_.any():
            raise ParameterError(
                f"with_words(): word {int(np.flatnonzero(reversed_)[0])} ends before it starts"
            )
        if np.isinf(times["score"]).any():
            raise ParameterError("with_words(): 'score' must be finite (NaN where unknown)")
        for col in ("text", "speaker"):
            values = words[col].astype(object)
            bad = [v for v in values[values.notna()] if not isinstance(v, str)]
            if bad:
                raise ParameterError(
                    f"with_words(): '{col}' must hold strings (NA where unknown); got {bad[0]!r}"
                )
            try:
                "".join(values[values.notna()]).encode("utf-8")
            except UnicodeEncodeError:
                raise ParameterError(
                    f"with_words(): '{col}' holds a lone surrogate (text decoded wrongly upstream); clean it first, "
                    "e.g. s.encode('utf-8', 'replace').decode()"
                ) from None
        unknown = set(words["timing"].astype(str)) - set(TIMINGS)
        if unknown:
            raise ParameterError(f"with_words(): timing must be one of {TIMINGS}, got {sorted(unknown)}")
        table = words[WORD_COLUMNS].reset_index(drop=True).copy()
        table["word"] = range(len(table))
        table["text"] = table["text"].astype("string")
        table["speaker"] = pd.Categorical(
            table["speaker"].astype(object).where(table["speaker"].notna(), None),
            categories=self._layout.speakers,
        )
        table["timing"] = pd.Categorical(table["timing"].astype(str), categories=TIMINGS)
        for col in ("start", "end", "score"):
            table[col] = table[col].astype(float)
        table["segment"] = table["segment"].astype("int64")
        new = self._copy()
        new._words_override = table
        return new

    def _copy(self, canonical: Canonical | None = None) -> Transcript:
        new = Transcript(
            self._raw,
            self._canonical if canonical is None else canonical,
            granularity=self._granularity,
            backend=self.backend,
            base_url=self.base_url,
            model=self.model,
            request=self.request,
            audio_sha256=self.audio_sha256,
            audio=self.audio,
            created=self.created,
        )
        new._words_override = self._words_override
        new.speaker_names = dict(self.speaker_names)
        new.speaker_similarity = dict(self.speaker_similarity)
        return new

    # ------------------------------------------------------------------ save / load

    def to_dict(self) -> dict:
        """Everything needed to rebuild this transcript, as JSON-compatible data."""
        from voxnb.readers import to_plain

        data = {
            "format": SAVE_FORMAT,
            "version": SAVE_VERSION,
            "source": self.source,
            "granularity": self._granularity,
            "backend": self.backend,
            "base_url": self.base_url,
            "model": self.model,
            "request": to_plain(self.request),
            "audio_sha256": self.audio_sha256,
            "created": self.created,
            "raw": to_plain(self.raw),
        }
        if self.speaker_names:
            data["speaker_names"] = dict(self.speaker_names)
        if self.speaker_similarity:
            data["speaker_similarity"] = dict(self.speaker_similarity)
        if self._words_override is not None:
            w = self._words_override
            data["words"] = {
                "segment": w["segment"].tolist(),
                "start": [None if x != x else x for x in w["start"].tolist()],
                "end": [None if x != x else x for x in w["end"].tolist()],
                "text": w["text"].astype(object).where(w["text"].notna(), None).tolist(),
                "speaker": w["speaker"].astype(object).where(w["speaker"].notna(), None).tolist(),
                "score": [None if x != x else x for x in w["score"].tolist()],
                "timing": w["timing"].astype(str).tolist(),
            }
        return data

    def save(self, path: str | os.PathLike) -> Path:
        """Write this transcript as readable JSON; :func:`voxnb.load_transcript` reads it back.

        The file is written whole or not at all (a temporary file in the same folder, renamed),
        and only when it reads back exactly: a transcript that JSON cannot hold (NaN or infinite
        numbers, data nested deeper than JSON readers go, integers past 64 bits) is refused
        before anything is written.

        Raises
        ------
        ResponseFormatError
            The transcript holds data that JSON cannot store faithfully; the message says where.
        ParameterError
            *path* cannot be written (a folder, no permission, a full disk).

        Examples
        --------
        >>> import voxnb, tempfile, os
        >>> t = voxnb.Transcript.from_response({"text": "Hi.", "segments": []}, backend="local")
        >>> p = t.save(os.path.join(tempfile.mkdtemp(), "hi.json"))
        >>> voxnb.load_transcript(p).text
        'Hi.'
        """
        from voxnb._atomic import write_atomic

        return write_atomic(path, self.to_json())

    def to_json(self) -> str:
        """What :meth:`save` writes: :meth:`to_dict` as readable JSON text, checked to read back exactly.

        Raises
        ------
        ResponseFormatError
            The transcript holds data JSON cannot store faithfully (NaN, infinity, nesting deeper
            than JSON readers go, integers past 64 bits); the message says where.
        """
        import json

        from voxnb.readers import parse_json

        nested = ResponseFormatError(
            "cannot save this transcript: its raw response is nested too deeply for JSON; keep the "
            "response elsewhere, or save a copy with a flatter raw (Transcript.from_response(...))"
        )
        try:
            data = self.to_dict()
        except RecursionError:
            raise nested from None
        except ResponseFormatError as err:  # an object JSON has no form for (a set, a socket...)
            raise ResponseFormatError(f"cannot save this transcript: {err}; nothing was written") from None
        try:
            text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)
        except RecursionError:
            raise nested from None
        except ValueError:  # NaN or infinity, which JSON has no way to write
            where = _non_finite(data)
            raise ResponseFormatError(
                f"cannot save this transcript: {where} is not a finite number, which JSON cannot store; "
                "replace it with None (null) in t.raw or the request, then save again. Nothing was written"
            ) from None
        try:
            back = parse_json(text)
        except ResponseFormatError as err:
            raise ResponseFormatError(
                f"cannot save this transcript: the file would not read back ({err}); nothing was written"
            ) from None
        if back != data:
            raise ResponseFormatError(
                "cannot save this transcript: the file would not read back exactly (integers past 64 bits, "
                "keys that are not strings...); nothing was written"
            )
        return text

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        """Rebuild a transcript from :meth:`to_dict`'s output.

        Raises
        ------
        ResponseFormatError
            *data* is not a saved transcript, or one of its fields is malformed (named).
        """
        if not isinstance(data, dict) or data.get("format") != SAVE_FORMAT:
            raise ResponseFormatError(
                'not a saved voxnb transcript (no "format": "voxnb.transcript"); '
                "use Transcript.from_response() for a raw response"
            )
        version = data.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ResponseFormatError(f"saved transcript: version must be a whole number, got {version!r}")
        if version > SAVE_VERSION:
            raise ResponseFormatError(
                f"this transcript was saved by a newer voxnb (format version {version}); upgrade voxnb"
            )
        if "raw" not in data:
            raise ResponseFormatError("saved transcript: the 'raw' response is missing; the file is damaged")
        for name in ("source", "granularity", "backend", "base_url", "model", "audio_sha256", "created"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ResponseFormatError(f"saved transcript: {name} must be a string, got {data[name]!r}")
        if data.get("request") is not None and not isinstance(data["request"], dict):
            raise ResponseFormatError(f"saved transcript: request must be an object, got {data['request']!r}")
        t = cls.from_response(
            data["raw"],
            granularity=data.get("granularity"),
            backend=data.get("backend"),
            base_url=data.get("base_url"),
            model=data.get("model"),
            request=data.get("request"),
            audio_sha256=data.get("audio_sha256"),
            _source=data.get("source"),
        )
        t.created = data.get("created") or t.created
        names, similarity = data.get("speaker_names"), data.get("speaker_similarity")
        if names:
            if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
                raise ResponseFormatError(
                    f"saved transcript: speaker_names must map labels to names, got {names!r}"
                )
            t = t.rename_speakers({str(k): v for k, v in names.items()}, merge=True)
        if similarity:
            if not isinstance(similarity, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in similarity.values()
            ):
                raise ResponseFormatError(
                    f"saved transcript: speaker_similarity must map speakers to numbers, got {similarity!r}"
                )
            t.speaker_similarity = {str(k): float(v) for k, v in similarity.items()}
        if data.get("words") is not None:
            t = t.with_words(_saved_words(data["words"]))
        return t

    # ------------------------------------------------------------------ exports

    def to_srt(
        self,
        path: str | os.PathLike | None = None,
        *,
        speakers: bool = True,
        max_chars: int | None = 42,
        max_lines: int | None = None,
        max_duration: float | None = None,
    ) -> str:
        """SubRip subtitles, regrouped by length and duration on request. See :func:`voxnb.export.to_srt`."""
        from voxnb.export import to_srt

        return to_srt(
            self, path, speakers=speakers, max_chars=max_chars, max_lines=max_lines, max_duration=max_duration
        )

    def to_vtt(
        self,
        path: str | os.PathLike | None = None,
        *,
        speakers: bool = True,
        max_chars: int | None = 42,
        max_lines: int | None = None,
        max_duration: float | None = None,
    ) -> str:
        """WebVTT subtitles with ``<v speaker>`` voice tags. See :func:`voxnb.export.to_vtt`."""
        from voxnb.export import to_vtt

        return to_vtt(
            self, path, speakers=speakers, max_chars=max_chars, max_lines=max_lines, max_duration=max_duration
        )

    def to_textgrid(self, path: str | os.PathLike | None = None):
        """A praat TextGrid with segment and word tiers per speaker. See :func:`voxnb.export.to_textgrid`."""
        from voxnb.export import to_textgrid

        return to_textgrid(self, path)

    def to_rttm(self, path: str | os.PathLike | None = None, *, uri: str = "audio") -> str:
        """RTTM speaker turns (``SPEAKER`` lines). See :func:`voxnb.export.to_rttm`."""
        from voxnb.export import to_rttm

        return to_rttm(self, path, uri=uri)

    def to_seglst(self, path: str | os.PathLike | None = None, *, session_id: str = "audio") -> list[dict]:
        """meeteval's SegLST: one dict per segment. See :func:`voxnb.export.to_seglst`."""
        from voxnb.export import to_seglst

        return to_seglst(self, path, session_id=session_id)

    def to_pyannote(self, *, uri: str = "audio"):
        """A ``pyannote.core.Annotation`` of the segments, labelled by speaker."""
        from voxnb.export import to_pyannote

        return to_pyannote(self, uri=uri)

    # ------------------------------------------------------------------ audio-aware views

    def _audio_or(self, audio):
        if audio is None and self.audio is None:
            raise ParameterError(
                "this transcript keeps no audio: pass it, e.g. t.plot(voxnb.Audio.load(path))"
            )
        return self.audio if audio is None else audio

    def plot(self, audio=None, *, start: float | None = None, end: float | None = None, **kwargs):
        """Waveform, spectrogram, speaker turns and words on one time axis; returns the Figure."""
        from voxnb.plot import transcript_figure

        _check_window(start, end)
        return transcript_figure(self, self._audio_or(audio), start=start, end=end, **kwargs)

    def show(self, audio=None, **kwargs):
        """A table of segments in which each row plays its slice of the audio."""
        from voxnb.display import segment_table

        return segment_table(self, self._audio_or(audio), **kwargs)

    def compare(self, other: Transcript, audio=None, **kwargs):
        """This transcript's words above *other*'s over the waveform, differences coloured by kind.

        See :func:`voxnb.plot.compare`; :meth:`diff` gives the same alignment as a table and text.
        """
        from voxnb.plot import compare

        if not isinstance(other, Transcript):
            raise ParameterError(f"compare() takes another Transcript; got a {type(other).__name__}")
        _check_window(kwargs.get("start"), kwargs.get("end"))
        return compare(self, other, audio if audio is not None else self.audio, **kwargs)

    def diff(self, other: Transcript, **kwargs):
        """This transcript's words aligned with *other*'s: substitutions, insertions, deletions.

        A table (``.table``), counts and an HTML view of the text; see :func:`voxnb.diff`.
        """
        from voxnb.differences import diff

        return diff(self, other, **kwargs)

    def align(self, audio=None, **kwargs) -> Transcript:
        """Word times from the audio by forced alignment (``timing="aligned"``). See :func:`voxnb.align`."""
        from voxnb import align

        return align(self, self._audio_or(audio), **kwargs)

    # ------------------------------------------------------------------ display

    def _summary(self) -> dict[str, Any]:
        lay = self._layout
        duration = self.duration
        return {
            "source": self.source,
            "backend": self.backend,
            "model": self.model,
            "language": self.language,
            "duration": None if duration is None else round(duration, 2),
            "segments": lay.n_segments,
            "speakers": len(lay.speakers),
        }

    def __repr__(self) -> str:
        s = self._summary()
        dur = "?" if s["duration"] is None else f"{s['duration']:.1f} s"
        return (
            f"<Transcript {s['segments']} segments, {s['speakers']} speakers, {dur}; "
            f"backend={s['backend']!r} model={s['model']!r} source={s['source']!r}>"
        )

    def __len__(self) -> int:
        return self._layout.n_segments

    def _repr_html_(self, max_rows: int = 8) -> str:
        """A summary card and the first segments; builds no DataFrame, so it stays fast on huge transcripts."""
        lay = self._layout
        s = self._summary()
        esc = html.escape
        meta = " · ".join(f"<b>{esc(k)}</b> {esc(str(v))}" for k, v in s.items() if v is not None)
        if lay.speakers:
            meta += " · " + ", ".join(esc(sp) for sp in lay.speakers[:10])
        rows = []
        for i in range(min(max_rows, len(lay.seg_text))):
            start, end = lay.seg_start[i], lay.seg_end[i]
            times = "–" if start != start else f"{start:.2f}–{end:.2f}"
            speaker = lay.seg_speaker[i] or ""
            rows.append(
                f"<tr><td>{i}</td><td>{times}</td><td>{esc(speaker)}</td>"
                f"<td style='text-align:left'>{esc(lay.seg_text[i])}</td></tr>"
            )
        more = len(lay.seg_text) - max_rows
        tail = f"<tr><td colspan=4>… {more} more segments</td></tr>" if more > 0 else ""
        return (
            f"<div class='voxnb-transcript'><div>{meta}</div>"
            "<table><thead><tr><th>#</th><th>time (s)</th><th>speaker</th><th>text</th></tr></thead>"
            f"<tbody>{''.join(rows)}{tail}</tbody></table></div>"
        )


def _check_window(start: Any, end: Any) -> None:
    """A time window given to a view: numbers of seconds (or None), start before end."""
    import math

    for name, value in (("start", start), ("end", end)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        ):
            raise ParameterError(
                f"{name}= is a finite number of seconds (or None); got {value!r}", option=name
            )
    if start is not None and end is not None and end <= start:
        raise ParameterError(f"end={end} is not after start={start}; swap them")


def _non_finite(data: Any) -> str:
    """Where in *data* the first NaN or infinity is (``raw.segments[2].start``)."""
    import math

    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, at = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return at or "a value"
        if isinstance(value, dict):
            stack.extend((v, f"{at}.{k}" if at else str(k)) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((v, f"{at}[{i}]") for i, v in reversed(list(enumerate(value))))
    return "a value"


def _saved_words(words: Any) -> pd.DataFrame:
    """The ``words`` table of a saved transcript, checked column by column."""
    import pandas as pd

    from voxnb.frames import WORD_COLUMNS
    from voxnb.readers import _floats, _speakers, _texts

    columns = [c for c in WORD_COLUMNS if c != "word"]
    if not isinstance(words, dict) or any(not isinstance(words.get(c), list) for c in columns):
        raise ResponseFormatError(
            f"saved transcript: words must hold the lists {columns}; the file is damaged"
        )
    if len({len(words[c]) for c in columns}) != 1:
        raise ResponseFormatError("saved transcript: the words columns differ in length; the file is damaged")
    rows = [dict(zip(columns, values)) for values in zip(*(words[c] for c in columns))]
    segment = [r["segment"] for r in rows]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in segment):
        raise ResponseFormatError(
            "saved transcript: words.segment must hold whole numbers; the file is damaged"
        )
    timing = [r["timing"] for r in rows]
    if any(not isinstance(v, str) for v in timing):
        raise ResponseFormatError("saved transcript: words.timing must hold strings; the file is damaged")
    return pd.DataFrame(
        {
            "word": range(len(rows)),
            "segment": pd.array(segment, dtype="int64"),
            "start": _floats(rows, ("start",), "words", time=True),
            "end": _floats(rows, ("end",), "words", time=True),
            "text": _texts(rows, ("text",), "words"),
            "speaker": _speakers(rows, ("speaker",), "words"),
            "score": _floats(rows, ("score",), "words"),
            "timing": timing,
        }
    )


def load_transcript(path: str | os.PathLike) -> Transcript:
    """Read a transcript written by :meth:`Transcript.save`.

    A plain response file (one not written by voxnb) is read with :meth:`Transcript.from_response`.

    Examples
    --------
    >>> import voxnb, tempfile, os
    >>> p = voxnb.Transcript.from_response({"text": "Hi."}).save(os.path.join(tempfile.mkdtemp(), "t.json"))
    >>> voxnb.load_transcript(p).source
    'mistral'
    """
    from voxnb.readers import parse_json

    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise ParameterError(
            f"load_transcript() takes a file path; got a {type(path).__name__}", option="path"
        )
    path = Path(path)
    try:
        content = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ParameterError(f"no such file: {path}; check the path (t.save(path) writes one)") from None
    except (OSError, ValueError) as err:
        raise ParameterError(f"cannot read {path}: {err}") from None
    data = parse_json(content)
    if isinstance(data, dict) and data.get("format") == SAVE_FORMAT:
        return Transcript.from_dict(data)
    return Transcript.from_response(data)


def concat(transcripts: dict[str, Transcript], *, level: str = "segments") -> pd.DataFrame:
    """Stack one table of several transcripts, with a ``run`` column naming each.

    Parameters
    ----------
    transcripts : dict of str to Transcript
        Name → transcript, e.g. ``{"no bias": t0, "bias": t1}``.
    level : {"segments", "words", "turns", "speakers"}

    Examples
    --------
    >>> import voxnb
    >>> a = voxnb.Transcript.from_response({"text": "one two"})
    >>> b = voxnb.Transcript.from_response({"text": "one too"})
    >>> voxnb.concat({"a": a, "b": b}, level="words")[["run", "text"]].values.tolist()
    [['a', 'one'], ['a', 'two'], ['b', 'one'], ['b', 'too']]
    """
    import pandas as pd

    if level not in ("segments", "words", "turns", "speakers"):
        raise ParameterError(f"level must be 'segments', 'words', 'turns' or 'speakers', got {level!r}")
    if not isinstance(transcripts, dict) or not all(isinstance(t, Transcript) for t in transcripts.values()):
        raise ParameterError("concat() takes a dict of name -> Transcript, e.g. {'no bias': t0, 'bias': t1}")
    frames = [getattr(t, level) for t in transcripts.values()]
    if not frames:
        raise ParameterError("concat() needs at least one transcript")
    from voxnb.frames import speaker_categories

    speakers = speaker_categories(*(f["speaker"].cat.categories for f in frames))
    out = pd.concat(frames, ignore_index=True)
    out["speaker"] = pd.Categorical(out["speaker"].astype(object), categories=speakers)
    runs = [name for name, f in zip(transcripts, frames) for _ in range(len(f))]
    out.insert(0, "run", pd.Categorical(runs, categories=list(transcripts)))
    return out
