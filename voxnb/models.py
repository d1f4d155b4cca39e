"""What each transcription model can do: one table, keyed by model id and alias.

Validation follows this table (:meth:`voxnb.request.TranscriptionRequest.resolve`), so a request
a model would refuse is refused before it costs an upload, with a message that names the option
and the way out. The facts come from Mistral's documentation and SDK (``docs.mistral.ai``: "Migrate
from Voxtral 2", "Specs and limits", "Diarize speakers", "Bias context and vocabulary"; the
``mistralai`` 3.7 models) and, for vLLM, from its serving code:

- **Voxtral 2** (``voxtral-mini-2602``, alias ``voxtral-mini-latest`` on the transcription
  endpoint): segment *and* word timestamps, diarization, ``context_bias`` of up to 100 single
  tokens (no whitespace or commas; ``American_people``), 13 languages; ``language`` cannot be
  combined with timestamps (the API answers with empty text).
- **Voxtral 3** (``voxtral-mini-transcribe-3``, ``voxtral-small-transcribe-3``, their ``-3-0`` ids
  and ``-latest`` aliases): segment timestamps only (``word`` is a 400), diarization, known
  speakers from reference clips, ``context_bias`` entries that may be phrases, 50 languages.
- **Realtime** models (``voxtral-mini-transcribe-realtime-2602`` and ``-realtime-3``): a streaming
  delay; Voxtral 3 adds diarization, ``context_bias``, ``language`` and turn detection.
- **vLLM** serving Voxtral (the ``openai`` dialect) returns text only: no timestamps, no
  diarization, no ``context_bias`` (vLLM ignores the fields it does not know).

A name the table does not know gets the capabilities of the current generation (Voxtral 3), and
:attr:`ModelCapabilities.known` is False so that the announcement line can say it was assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from voxnb.request import AUDIO_ENCODINGS, DEFAULT_SAMPLE_RATE, SAMPLE_RATES

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_REALTIME_MODEL",
    "VOXTRAL_2_LANGUAGES",
    "ModelCapabilities",
    "capabilities",
    "engine_capabilities",
    "openai_capabilities",
]

#: the transcription model voxnb asks Mistral for when none is named (the documented default alias)
DEFAULT_MODEL = "voxtral-mini-latest"
#: the realtime model voxnb asks Mistral for when none is named
DEFAULT_REALTIME_MODEL = "voxtral-mini-transcribe-realtime-2602"
#: en, zh, hi, es, ar, fr, pt, ru, de, ja, ko, it, nl
VOXTRAL_2_LANGUAGES = ("en", "zh", "hi", "es", "ar", "fr", "pt", "ru", "de", "ja", "ko", "it", "nl")
_VOXTRAL_1_LANGUAGES = ("en", "es", "fr", "pt", "hi", "de", "nl", "it")


@dataclass(frozen=True)
class ModelCapabilities:
    """What one model (behind one protocol) can do.

    Attributes
    ----------
    name : str
        The model id as the user or the server named it.
    family : str
        ``voxtral-1``, ``voxtral-2``, ``voxtral-3``, ``chat``, ``vllm``, ``local`` or ``unknown``.
    offline, realtime : bool
        Whether it answers the transcription endpoint, and realtime sessions.
    segment_timestamps, word_timestamps : bool
        Which ``timestamp_granularities`` it returns.
    diarize : bool
        Whether it labels speakers.
    word_timestamps_with_diarize : bool
        Whether word timestamps may be asked together with diarization (Mistral's API wants
        exactly ``["segment"]`` with ``diarize``).
    context_bias : {"phrase", "token", None}
        Entries may hold several words (``phrase``), must be single tokens (``token``), or the
        model takes no ``context_bias`` (None).
    max_context_bias : int or None
        Most entries accepted (None: no documented limit).
    languages : tuple of str or None
        ISO-639-1 codes ``language=`` accepts; None when any two-letter code may be sent; empty
        when the model takes no ``language`` setting at all.
    language_with_timestamps : bool
        Whether ``language`` may be combined with timestamps or diarization.
    num_speakers : bool
        Whether the number of speakers can be given (the offline engine's clustering).
    streaming_delay : tuple of (int, int) ranges, or ()
        Accepted ``target_streaming_delay_ms`` values, as inclusive ranges (realtime only).
    speaker_references : bool
        Whether known speakers can be named from reference clips (``speaker_references``).
    turn_detection : bool
        Whether a realtime session can report turns (``turn_detection``; Voxtral 3 realtime).
    encodings : tuple of str
        Realtime audio encodings accepted (``encoding``); empty for file transcription.
    sample_rates : (int, int)
        Inclusive range of realtime sample rates accepted (``sample_rate``).
    known : bool
        False when the name was not in the table and the capabilities are an assumption.
    """

    name: str
    family: str
    offline: bool = True
    realtime: bool = False
    segment_timestamps: bool = True
    word_timestamps: bool = False
    diarize: bool = True
    word_timestamps_with_diarize: bool = False
    context_bias: str | None = "phrase"
    max_context_bias: int | None = None
    languages: tuple[str, ...] | None = None
    language_with_timestamps: bool = False
    num_speakers: bool = False
    streaming_delay: tuple[tuple[int, int], ...] = ()
    speaker_references: bool = False
    turn_detection: bool = False
    encodings: tuple[str, ...] = ()
    sample_rates: tuple[int, int] = SAMPLE_RATES
    known: bool = True

    @property
    def mode(self) -> str:
        """``"realtime"`` for realtime-only models, else ``"offline"``."""
        return "realtime" if self.realtime and not self.offline else "offline"

    def named(self, name: str) -> ModelCapabilities:
        """The same capabilities under another name (an alias)."""
        return replace(self, name=name)


_VOXTRAL_1 = ModelCapabilities(
    "voxtral-mini-2507",
    "voxtral-1",
    word_timestamps=True,
    diarize=False,
    context_bias=None,
    languages=_VOXTRAL_1_LANGUAGES,
)
_VOXTRAL_2 = ModelCapabilities(
    "voxtral-mini-2602",
    "voxtral-2",
    word_timestamps=True,
    context_bias="token",
    max_context_bias=100,
    languages=VOXTRAL_2_LANGUAGES,
)
_VOXTRAL_3 = ModelCapabilities("voxtral-mini-transcribe-3-0", "voxtral-3", speaker_references=True)
_REALTIME_2 = ModelCapabilities(
    "voxtral-mini-transcribe-realtime-2602",
    "voxtral-2",
    offline=False,
    realtime=True,
    segment_timestamps=False,
    diarize=False,
    context_bias=None,
    # its session takes an audio format and a delay only (the language is detected)
    languages=(),
    # the open-weights card: multiples of 80 from 80 to 1200, or 2400 (checked in request.py)
    streaming_delay=((80, 1200), (2400, 2400)),
    # the session's audio_format predates Voxtral 3 (the SDK's AudioEncoding is one enum for both)
    encodings=AUDIO_ENCODINGS,
)
_REALTIME_3 = ModelCapabilities(
    "voxtral-mini-transcribe-realtime-3-0",
    "voxtral-3",
    offline=False,
    realtime=True,
    segment_timestamps=False,
    streaming_delay=((80, 1200), (2400, 2400)),
    speaker_references=True,
    turn_detection=True,
    encodings=AUDIO_ENCODINGS,
)
_CHAT = ModelCapabilities(
    "voxtral-small-latest", "chat", offline=False, segment_timestamps=False, diarize=False, context_bias=None
)

_TABLE: dict[str, ModelCapabilities] = {}
for _model, _names in (
    (_VOXTRAL_1, ("voxtral-mini-2507",)),
    (_VOXTRAL_2, ("voxtral-mini-2602", "voxtral-mini-latest")),
    (
        _VOXTRAL_3,
        (
            "voxtral-mini-transcribe-3-0",
            "voxtral-mini-transcribe-3",
            "voxtral-mini-transcribe-latest",
            "voxtral-small-transcribe-3-0",
            "voxtral-small-transcribe-3",
            "voxtral-small-transcribe-latest",
        ),
    ),
    (_REALTIME_2, ("voxtral-mini-transcribe-realtime-2602",)),
    (
        _REALTIME_3,
        (
            "voxtral-mini-transcribe-realtime-3-0",
            "voxtral-mini-transcribe-realtime-3",
            "voxtral-mini-transcribe-realtime-latest",
        ),
    ),
    (_CHAT, ("voxtral-small-latest", "voxtral-small-2507")),
):
    for _name in _names:
        _TABLE[_name] = _model.named(_name)


def capabilities(model: str, *, realtime: bool = False) -> ModelCapabilities:
    """What *model* can do on Mistral's protocol (Mistral's API or ``voxnb serve``).

    Unknown names are assumed to behave like the current generation (Voxtral 3; its realtime
    model when the name contains ``realtime`` or a realtime session asks), with ``known=False``.

    Examples
    --------
    >>> capabilities("voxtral-mini-latest").word_timestamps
    True
    >>> capabilities("voxtral-mini-transcribe-3").word_timestamps
    False
    >>> capabilities("my-fine-tune").known, capabilities("my-fine-tune").family
    (False, 'voxtral-3')
    """
    found = _TABLE.get(model)
    if found is not None:
        return found
    base = _REALTIME_3 if realtime or "realtime" in model.lower() else _VOXTRAL_3
    return replace(base, name=model, known=False)


def openai_capabilities(model: str, *, realtime: bool = False) -> ModelCapabilities:
    """What *model* can do behind an OpenAI-compatible server (vLLM's ``/v1/audio/transcriptions``).

    vLLM answers Voxtral with text only (its ``verbose_json`` needs a timestamp-token model, which
    Voxtral is not); Whisper-style models give segment and word timestamps through
    ``verbose_json``. Neither has diarization or ``context_bias`` there.

    Examples
    --------
    >>> openai_capabilities("mistralai/Voxtral-Mini-3B-2507").segment_timestamps
    False
    >>> openai_capabilities("openai/whisper-large-v3").word_timestamps
    True

    vLLM's realtime websocket takes the model and nothing else (its delay is fixed at load):

    >>> openai_capabilities("mistralai/Voxtral-Mini-4B-Realtime-2602", realtime=True).context_bias is None
    True
    """
    voxtral = "voxtral" in model.lower()
    return ModelCapabilities(
        model,
        "vllm",
        offline=not realtime,
        realtime=realtime,
        segment_timestamps=not voxtral and not realtime,
        word_timestamps=not voxtral,
        word_timestamps_with_diarize=True,
        diarize=False,
        context_bias=None,
        language_with_timestamps=True,
        encodings=("pcm_s16le",) if realtime else (),
        sample_rates=(DEFAULT_SAMPLE_RATE, DEFAULT_SAMPLE_RATE),
    )


def engine_capabilities(
    model: str, *, languages: tuple[str, ...] | None, word_timestamps: bool = True, streaming: bool = False
) -> ModelCapabilities:
    """What an engine running in this process can do (the offline engine, the test engine).

    With ``streaming=True``: what its incremental ``stream()`` can do (text, ``context_bias`` and
    ``language``; no timestamps, speakers or delay setting).

    Examples
    --------
    >>> engine_capabilities("faster-whisper-tiny.en (local)", languages=("en",)).num_speakers
    True
    >>> engine_capabilities("faster-whisper-tiny.en (local)", languages=("en",), streaming=True).diarize
    False
    """
    if streaming:
        return ModelCapabilities(
            model,
            "local",
            offline=False,
            realtime=True,
            segment_timestamps=False,
            diarize=False,
            max_context_bias=100,
            languages=languages,
            # voxnb converts every encoding and rate to the engine's 16 kHz s16le
            encodings=AUDIO_ENCODINGS,
        )
    return ModelCapabilities(
        model,
        "local",
        word_timestamps=word_timestamps,
        word_timestamps_with_diarize=True,
        # whisper's prompt holds about 224 tokens: more hotwords than Mistral's cap only get cut
        max_context_bias=100,
        languages=languages,
        language_with_timestamps=True,
        num_speakers=True,
        # clusters are named by the nearest reference voice (voxnb.local.speaker_names)
        speaker_references=True,
    )
