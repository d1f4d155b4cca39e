"""``voxnb.transcribe``: one call, whichever backend is available, announced in one line.

The backend is chosen as DESIGN.md says: an explicit ``backend=`` first, then an API key
(``api_key=`` or ``$MISTRAL_API_KEY``) for Mistral's API, then a ``base_url=`` for a
self-hosted OpenAI-compatible server (vLLM), and otherwise the embedded offline engine.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["choose_backend", "transcribe"]

BACKENDS = ("mistral", "openai-compatible", "local")
_ALIASES = {"openai": "openai-compatible", "vllm": "openai-compatible", "offline": "local"}


def choose_backend(
    backend: str | None = None, *, api_key: str | None = None, base_url: str | None = None
) -> tuple[str, str]:
    """The backend to use and why, as ``(backend, reason)``.

    Examples
    --------
    >>> choose_backend("local")
    ('local', 'chosen with backend=')
    >>> choose_backend(base_url="http://127.0.0.1:8000", api_key="")[0]
    'openai-compatible'
    """
    if backend is not None:
        name = _ALIASES.get(backend, backend)
        if name not in BACKENDS:
            raise ParameterError(
                f"backend must be one of {', '.join(BACKENDS)} (or 'openai', 'vllm'); got {backend!r}"
            )
        return name, "chosen with backend="
    if api_key or (api_key is None and os.environ.get("MISTRAL_API_KEY")):
        return "mistral", "an API key is set" if api_key else "MISTRAL_API_KEY is set"
    if base_url:
        return "openai-compatible", "base_url= given"
    return "local", "no MISTRAL_API_KEY and no base_url"


def transcribe(
    audio: Any,
    *,
    backend: str | None = None,
    model: str | None = None,
    timestamps: Any = None,
    diarize: bool = False,
    context_bias: Any = None,
    language: str | None = None,
    temperature: float | None = None,
    num_speakers: int | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    sr: int | None = None,
    quiet: bool = False,
    **client_options: Any,
):
    """Transcribe *audio* with the best available backend and return a :class:`voxnb.Transcript`.

    Parameters
    ----------
    audio : path, bytes, file object, voxnb.Audio, (samples, sr) or URL
        The recording, in any form :class:`voxnb.Client` accepts (arrays need ``sr=``).
    backend : {"mistral", "openai-compatible", "local"}, optional
        Force a backend; by default: API key → Mistral, ``base_url`` → that server, else local.
    model : str, optional
        The model: Voxtral's default for the APIs, Whisper tiny.en offline (or any
        faster-whisper model directory).
    timestamps : {"segment", "word"} or list of them, optional
        Timestamps to ask for.
    diarize : bool
        Label speakers (experimental offline; see :mod:`voxnb.local.diarize`).
    context_bias : list of str, optional
        Words or phrases to favour (``_`` for spaces inside a phrase).
    language, temperature : optional
        As the API takes them.
    num_speakers : int, optional
        Offline only: the number of speakers when known.
    api_key, base_url : str, optional
        Passed to :class:`voxnb.Client`.
    sr : int, optional
        Sample rate of *audio* when it is a numpy array.
    quiet : bool
        Do not announce the backend.
    **client_options
        Other :class:`voxnb.Client` options (``timeout=``, ``retry=``, ``dialect=``...).

    Returns
    -------
    voxnb.Transcript

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.transcribe(voxnb.data.path("dialogue"), timestamps=["segment", "word"],
    ...                      diarize=True)                                    # doctest: +SKIP
    voxnb.transcribe: backend=local (no MISTRAL_API_KEY and no base_url), model=faster-whisper-tiny.en (local)
    >>> t.speakers                                                            # doctest: +SKIP
    """
    name, reason = choose_backend(backend, api_key=api_key, base_url=base_url)
    if name == "local":
        if client_options:
            raise ParameterError(f"the local backend takes no client options; got {sorted(client_options)}")
        return _transcribe_local(
            audio,
            model=model,
            timestamps=timestamps,
            diarize=diarize,
            context_bias=context_bias,
            language=language,
            temperature=temperature,
            num_speakers=num_speakers,
            sr=sr,
            announce=None if quiet else reason,
        )
    if num_speakers is not None:
        raise ParameterError(
            "num_speakers= only works with the local backend; the APIs find the count themselves"
        )
    dialect = client_options.pop("dialect", "mistral" if name == "mistral" else "openai")
    client = _client(api_key=api_key, base_url=base_url, dialect=dialect, **client_options)
    params: dict[str, Any] = {
        "timestamps": timestamps,
        "diarize": diarize,
        "context_bias": context_bias,
        "language": language,
        "temperature": temperature,
        "sr": sr,
    }
    if model is not None:
        params["model"] = model
    if not quiet:
        _announce(name, reason, model or "the server's default model", client.base_url)
    return client.transcribe(audio, **params)


_clients = threading.local()  # a sync Client drives its own event loop: one set of clients per thread
_MAX_CLIENTS = 4


def _client(*, api_key: str | None, **options: Any):
    """A :class:`voxnb.Client` for this configuration, reused across calls (its connections too).

    The configuration is told apart without the key: a cached client whose key differs from
    the one now in effect (``api_key=`` or ``$MISTRAL_API_KEY``) is replaced, so the key stays
    only inside the client, where no repr shows it.
    """
    from voxnb.api.client import Client

    config = (api_key is None, *sorted(options.items()))
    try:
        hash(config)
    except TypeError:  # an unhashable option value: nothing to reuse by
        return Client(api_key=api_key, **options)
    cached: dict[Any, Client] = _clients.__dict__.setdefault("by_config", {})
    key = api_key if api_key is not None else os.environ.get("MISTRAL_API_KEY")
    client = cached.get(config)
    if client is None or client._async._key.reveal() != (key or None):
        if client is not None:
            client.close()
        client = cached[config] = Client(api_key=api_key, **options)
        while len(cached) > _MAX_CLIENTS:
            cached.pop(next(iter(cached))).close()
    return client


def _announce(backend: str, reason: str, model: str, where: str | None = None) -> None:
    place = f" at {where}" if where else ""
    print(f"voxnb.transcribe: backend={backend}{place} ({reason}), model={model}", file=sys.stderr)


def _transcribe_local(
    audio: Any,
    *,
    engine: Any = None,
    model: str | None = None,
    timestamps: Any = None,
    diarize: bool = False,
    context_bias: Any = None,
    language: str | None = None,
    temperature: float | None = None,
    num_speakers: int | None = None,
    sr: int | None = None,
    announce: str | None = None,
):
    """Transcribe in this process with *engine* (default: the shared offline engine for *model*)."""
    from voxnb.audio import as_audio
    from voxnb.local.engine import SAMPLE_RATE, get_engine
    from voxnb.transcript import Transcript

    granularities = (
        [timestamps] if isinstance(timestamps, str) else (list(timestamps) if timestamps else None)
    )
    if isinstance(context_bias, str):
        context_bias = [context_bias]
    loaded = as_audio((audio, sr) if sr is not None else audio, sr=SAMPLE_RATE)
    if engine is None:
        # an English-only model hands other languages to the packaged multilingual one
        engine = get_engine(None if model is None else str(model)).for_language(language)
    if announce:
        _announce("local", announce, engine.model)
    response = engine.transcribe(
        loaded.y,
        timestamps=granularities,
        diarize=diarize,
        context_bias=context_bias,
        language=language,
        temperature=temperature,
        num_speakers=num_speakers,
    )
    request = {
        "model": engine.model,
        "timestamp_granularities": granularities,
        "diarize": diarize,
        "context_bias": list(context_bias or []),
        "language": language,
        "temperature": temperature,
        "num_speakers": num_speakers,
    }
    # the engine nests words inside segments, so its segments are segments whatever was asked
    return Transcript.from_response(
        response,
        granularity="segment",
        backend="local",
        model=engine.model,
        request=request,
        audio_sha256=loaded.sha256,
        audio=loaded,
    )
