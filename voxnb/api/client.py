"""``voxnb.Client`` and ``voxnb.AsyncClient``: Voxtral over HTTP (Mistral's API, vLLM, ``voxnb serve``).

One client object owns the configuration (key, base URL, dialect, timeouts, retries); the
async client is the core and the sync client mirrors it method for method, running it on a
private event loop — or, inside Jupyter, on the kernel's running loop through nest_asyncio.

The API key lives in a :class:`~voxnb.credentials.Secret` and reaches the wire through an
:class:`httpx.Auth` that writes the ``Authorization`` header at send time: no header dict, no
frame's local variables (what a traceback rendered with locals shows) and no repr holds it, and
the frames of httpx/httpcore errors are cleared of their locals before they are chained.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import difflib
import functools
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from voxnb.api.errors import api_error
from voxnb.api.retry import RetryPolicy, parse_retry_after
from voxnb.api.source import AudioSource, resolve_audio
from voxnb.api.sse import StreamEvent, TranscriptionDone, TranscriptionTextDelta, iter_sse, parse_event
from voxnb.credentials import (
    MISTRAL_BASE_URL,
    Secret,
    api_key_for,
    clean_base_url,
    forget_locals,
    secret_api_key,
)
from voxnb.errors import (
    APIError,
    AuthenticationError,
    ParameterError,
    ResponseFormatError,
    TransportError,
    VoxnbError,
    safe_repr,
)
from voxnb.models import DEFAULT_MODEL, ModelCapabilities, capabilities, openai_capabilities
from voxnb.request import TranscriptionRequest, response_granularity

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from voxnb.api.batch import AsyncBatchJob
    from voxnb.request import TranscriptionOptions
    from voxnb.runs import BatchResult
    from voxnb.transcript import Transcript

__all__ = ["DEFAULT_BASE_URL", "AsyncClient", "Client"]

log = logging.getLogger("voxnb.api")

DEFAULT_BASE_URL = MISTRAL_BASE_URL
DEFAULT_CHAT_MODEL = "voxtral-small-latest"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
_DIALECT_ALIASES = {"mistral": "mistral", "openai": "openai", "vllm": "openai"}


class _BearerAuth(httpx.Auth):
    """Writes ``Authorization: Bearer <key>`` on each request as it is sent, and on nothing before."""

    def __init__(self, key: Secret):
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._key.headers()["Authorization"]
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth <hidden>>"


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 86_400 * 7:
        raise ParameterError(f"{name} is in seconds, a number above 0; got {value!r}", option=name)
    return float(value)


class AsyncClient:
    """An async client for Voxtral transcription servers.

    Parameters
    ----------
    api_key : str, optional
        The API key. By default ``$MISTRAL_API_KEY`` when talking to Mistral's API; another
        server gets a key only when it is given here. Never shown in reprs, logs, errors or
        saved files.
    base_url : str, optional
        Where the server is: Mistral's API by default, or e.g. ``http://127.0.0.1:8000`` for
        ``voxnb serve`` or a vLLM server.
    dialect : {"mistral", "openai"}, optional
        ``"openai"`` (alias ``"vllm"``) for vLLM and other OpenAI-compatible servers: bracketed
        ``timestamp_granularities[]``, no diarization or context bias, uploads only. By default
        Mistral's API speaks ``mistral``, and any other server is asked (``GET /v1/models``) on
        first use: ``voxnb serve`` says so in a header, vLLM by ``owned_by: "vllm"``.
    timeout : float
        Seconds to wait for a response (the SDK's default is 300).
    connect_timeout : float
        Seconds to wait for a connection.
    retry : RetryPolicy, optional
        How 429/5xx answers, connection failures and timeouts are retried.
    max_connections : int
        Upper bound of simultaneous connections.

    Examples
    --------
    >>> import voxnb
    >>> async with voxnb.AsyncClient(base_url="http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     t = await client.transcribe("interview.flac", timestamps="segment")
    """

    @secret_api_key
    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        dialect: str | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
    ):
        if dialect is not None and (not isinstance(dialect, str) or dialect.lower() not in _DIALECT_ALIASES):
            raise ParameterError(
                f"dialect must be 'mistral' or 'openai' (alias 'vllm'); got {dialect!r}", option="dialect"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ParameterError(
                "retry= takes a voxnb.api.retry.RetryPolicy(max_retries=..., ...)", option="retry"
            )
        self.base_url = clean_base_url(DEFAULT_BASE_URL if base_url is None else base_url)
        self._key = api_key_for(self.base_url, api_key)
        #: ``"mistral"`` or ``"openai"``; None until the server was asked
        self.dialect: str | None = _DIALECT_ALIASES[dialect.lower()] if dialect else None
        if self.dialect is None and self.base_url == DEFAULT_BASE_URL:
            self.dialect = "mistral"
        #: how the dialect was found, for the announcement line ("" when it was given)
        self.dialect_note = ""
        self.timeout = _seconds("timeout", timeout)
        self.connect_timeout = _seconds("connect_timeout", connect_timeout)
        self.retry = retry or RetryPolicy()
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ParameterError(
                f"max_connections must be a whole number of at least 1; got {max_connections!r}",
                option="max_connections",
            )
        self.max_connections = max_connections
        #: HTTP attempts to transcribe, upload or chat (retries included); finding the dialect is not counted
        self.requests_sent = 0
        #: the most recent :meth:`transcribe_many` result, kept even when the run was interrupted
        self.last_batch: BatchResult | None = None
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._served_models: list[str] | None = None

    @property
    def backend(self) -> str:
        """What Transcripts record: ``"mistral"``, ``"openai-compatible"``, or ``"server"`` before detection."""
        return {"mistral": "mistral", "openai": "openai-compatible"}.get(self.dialect or "", "server")

    @safe_repr
    def __repr__(self) -> str:
        key = "set" if self._key else "not set"
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, dialect={self.dialect!r}, api_key={key}, "
            f"timeout={self.timeout:g})"
        )

    # -- connection ----------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            # an httpx pool is bound to the loop that opened its connections
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=min(self.connect_timeout, self.timeout)),
                limits=httpx.Limits(
                    max_connections=self.max_connections, max_keepalive_connections=self.max_connections
                ),
                headers={"User-Agent": "voxnb"},
                auth=_BearerAuth(self._key) if self._key else None,
            )
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the connections (``async with`` does it on exit).

        Examples
        --------
        >>> client = voxnb.AsyncClient(base_url="http://127.0.0.1:8000")  # doctest: +SKIP
        >>> await client.aclose()  # doctest: +SKIP
        """
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def _headers(self, accept: str) -> dict[str, str]:
        """The request's own headers; the key is added at send time by the client's auth."""
        if not self._key and self.base_url == DEFAULT_BASE_URL:
            raise AuthenticationError(
                "no API key: Mistral's API needs one. Pass voxnb.Client(api_key=...) or set the "
                "MISTRAL_API_KEY environment variable (console.mistral.ai → API keys); or point "
                "base_url= at a local `voxnb serve` or vLLM server"
            )
        return {"Accept": accept}

    def _scrubbed(self, err: VoxnbError) -> VoxnbError:
        """The error with any echo of the key removed (a misbehaving server may reflect headers)."""
        err.args = tuple(self._key.scrub(a) if isinstance(a, str) else a for a in err.args)
        if isinstance(getattr(err, "message", None), str):
            err.message = self._key.scrub(err.message)  # type: ignore[attr-defined]
        return err

    async def _request(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        accept: str = "application/json",
        stream: bool = False,
        counted: bool = True,
    ) -> httpx.Response:
        """Send one request, retrying what may succeed on a second try; the response is 2xx.

        Attempts are counted in :attr:`requests_sent` unless *counted* is False (the one
        ``GET /v1/models`` that finds a server's dialect).
        """
        headers = self._headers(accept)
        http = self._client()
        what = f"{method} {path}"
        retry_number = 0
        while True:
            request = http.build_request(
                method, path, data=data, files=files, json=json_body, params=params, headers=headers
            )
            self.requests_sent += counted
            retry_after: float | None = None
            try:
                response = await http.send(request, stream=stream)
            except httpx.HTTPError as err:
                forget_locals(err)  # httpcore's frames hold the request as sent, key included
                failure = self._transport_failure(err, what)
                cause: BaseException = err
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    await response.aread()
                    await response.aclose()
                failure = api_error(response.status_code, response.content, response.headers, what=what)
                cause = failure
                if not self.retry.should_retry_status(response.status_code):
                    raise self._scrubbed(failure) from None
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_number >= self.retry.max_retries:
                raise self._scrubbed(failure) from (None if cause is failure else cause)
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                failure.args = (
                    f"{failure.args[0]}; the server asks to wait {retry_after:.0f} s before "
                    "retrying, longer than RetryPolicy.max_retry_after",
                )
                raise self._scrubbed(failure) from None
            delay = self.retry.backoff(retry_number, retry_after=retry_after)
            reason = f"HTTP {failure.status}" if cause is failure else type(cause).__name__  # type: ignore[attr-defined]
            log.info(
                "retrying %s in %.3g s after %s (retry %d of %d)",
                what,
                delay,
                reason,
                retry_number + 1,
                self.retry.max_retries,
            )
            await self.retry.wait(delay)
            retry_number += 1

    def _transport_failure(self, err: httpx.HTTPError, what: str) -> VoxnbError:
        """The TransportError for an httpx failure; one that no retry can help is raised at once."""
        if isinstance(err, httpx.TimeoutException):
            return TransportError(
                f"{what} to {self.base_url} timed out ({type(err).__name__}); raise timeout= "
                f"(now {self.timeout:g} s) for long audio, or check that the server is up"
            )
        detail = f"{type(err).__name__}: {self._key.scrub(str(err))}"
        if isinstance(err, httpx.ConnectError):
            return TransportError(
                f"could not reach {self.base_url} for {what} ({detail}); "
                "check base_url= and your connection, or that `voxnb serve` is running"
            )
        if isinstance(err, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return TransportError(
                f"the connection to {self.base_url} broke during {what} ({detail}); "
                "the server may have restarted or dropped it: try again, or check the server's log"
            )
        # a request that cannot be sent as configured: no retry helps
        raise TransportError(f"{what} to {self.base_url} cannot be sent ({detail}); check base_url=") from err

    async def _request_json(self, method: str, path: str, **options: Any) -> Any:
        """:meth:`_request`, and its JSON answer."""
        return self._json(await self._request(method, path, **options), f"{method} {path}")

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as err:
            raise ResponseFormatError(
                f"{what} answered with something that is not JSON ({response.content[:80]!r}); is "
                "base_url a Voxtral transcription server?"
            ) from err

    # -- the server ----------------------------------------------------------------------------

    async def detect(self) -> str:
        """The server's dialect (``"mistral"`` or ``"openai"``), asked of ``GET /v1/models`` once.

        ``voxnb serve`` names its dialect in an ``x-voxnb-dialect`` header; vLLM lists its models
        with ``owned_by: "vllm"``; Mistral's API with ``owned_by: "mistralai"``. Any other server
        that answers is taken to be OpenAI-compatible.

        Examples
        --------
        >>> await voxnb.AsyncClient(base_url="http://127.0.0.1:8000").detect()  # doctest: +SKIP
        'mistral'
        """
        if self.dialect is not None:
            return self.dialect
        try:
            response, cards = await self._list_models()
        except APIError as err:
            if err.status not in (404, 405, 501):
                raise
            # no model list: speak the protocol voxnb speaks by default, and say so
            self.dialect = "mistral"
            self.dialect_note = "the server lists no models (GET /v1/models); assuming Mistral's protocol"
            return self.dialect
        owners = {str(c.get("owned_by", "")).lower() for c in cards}
        header = response.headers.get("x-voxnb-dialect", "").lower()
        if header in _DIALECT_ALIASES:
            self.dialect, self.dialect_note = (
                _DIALECT_ALIASES[header],
                f"voxnb serve speaking the {header} dialect",
            )
        elif "vllm" in owners:
            self.dialect, self.dialect_note = "openai", "vLLM (openai dialect)"
        elif "mistralai" in owners or any("capabilities" in c for c in cards):
            self.dialect, self.dialect_note = "mistral", "Mistral's protocol"
        else:
            self.dialect = "openai"
            self.dialect_note = "an OpenAI-compatible server (openai dialect); pass dialect= if that is wrong"
        log.info("%s speaks the %s dialect", self.base_url, self.dialect)
        return self.dialect

    async def _list_models(self) -> tuple[httpx.Response, list[dict[str, Any]]]:
        """``GET /v1/models``: the response and its model cards (their ids kept as the served models)."""
        response = await self._request("GET", "/v1/models", counted=False)
        body = self._json(response, "GET /v1/models")
        entries = body.get("data") if isinstance(body, dict) else None
        cards = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
        self._served_models = [str(c["id"]) for c in cards if isinstance(c.get("id"), str)]
        return response, cards

    async def _model_capabilities(self, model: str | None) -> ModelCapabilities:
        dialect = self.dialect or await self.detect()
        if dialect == "mistral":
            return capabilities(model or DEFAULT_MODEL)
        if model is None:
            if self._served_models is None:
                await self._list_models()
            if not self._served_models:
                raise ParameterError(
                    f"{self.base_url} lists no model at GET /v1/models; pass model= (the name the server "
                    "was started with)",
                    option="model",
                )
            model = self._served_models[0]
        return openai_capabilities(model)

    # -- transcription, in four steps: prepare, load, send, build ------------------------------

    async def prepare(self, **options: Unpack[TranscriptionOptions]) -> TranscriptionRequest:
        """Check transcription options for this server and model, and decide how they are met.

        Every option is checked before the model's capabilities are looked up (which may ask the
        server its dialect, a cheap ``GET /v1/models``), and all of it before any audio is read.

        Returns
        -------
        voxnb.request.TranscriptionRequest
            Resolved: what goes on the wire, and whether word times come from alignment.

        Raises
        ------
        ParameterError
            For an invalid option, or one this model or server cannot honour.

        Examples
        --------
        >>> client = voxnb.Client()  # doctest: +SKIP
        >>> client.prepare(timestamps="word", model="voxtral-mini-transcribe-3").words  # doctest: +SKIP
        'aligned'
        """
        return await self.resolve(TranscriptionRequest.create(**options))

    async def resolve(self, request: TranscriptionRequest) -> TranscriptionRequest:
        """*request* checked against this server's model (see :meth:`prepare`)."""
        return request.resolve(await self._model_capabilities(request.model))

    async def load(self, audio: Any, *, sr: int | None = None) -> AudioSource:
        """The audio as it will be sent, checked (size, format, sound) before any byte goes out."""
        # reading and checking a file is blocking work: keep it off the event loop
        return await asyncio.to_thread(resolve_audio, audio, sr=sr, allow_remote=self.dialect == "mistral")

    async def send(self, source: AudioSource, request: TranscriptionRequest) -> dict[str, Any]:
        """POST one transcription and return the server's JSON response as it came."""
        self._check_alignable(source, request)
        response = await self._request(
            "POST", TRANSCRIPTIONS, **self._transcription_request(source, request, stream=False)
        )
        body = self._json(response, f"POST {TRANSCRIPTIONS}")
        if not isinstance(body, dict):
            raise ResponseFormatError(
                f"POST {TRANSCRIPTIONS} answered with a JSON {type(body).__name__}, not an object"
            )
        return body

    async def build(
        self, response: dict[str, Any], source: AudioSource, request: TranscriptionRequest
    ) -> Transcript:
        """The Transcript of *response*, with word times aligned against the audio when the request says so."""
        transcript = self.transcript_of(
            response,
            request=request.record(),
            audio_sha256=source.sha256,
            model=request.model,
            audio=source.audio,
        )
        if request.align_words:
            audio = source.audio if source.audio is not None else source.data
            transcript = await asyncio.to_thread(transcript.align, audio)
        return transcript

    def transcript_of(
        self,
        response: dict[str, Any],
        *,
        request: dict[str, Any],
        audio_sha256: str | None,
        model: str | None = None,
        audio: Any = None,
    ) -> Transcript:
        """The Transcript of a response this server gave to a request described by its record
        (:meth:`voxnb.request.TranscriptionRequest.record`), with this client's provenance."""
        from voxnb.transcript import Transcript

        return Transcript.from_response(
            response,
            backend=self.backend,
            base_url=self.base_url,
            model=response.get("model") or model or request.get("model"),
            request=request,
            granularity=response_granularity(self.backend, request.get("timestamp_granularities") or ()),
            audio_sha256=audio_sha256,
            audio=audio,
        )

    @staticmethod
    def _check_alignable(source: AudioSource, request: TranscriptionRequest) -> None:
        if request.align_words and source.data is None and source.audio is None:
            raise ParameterError(
                f"word times from {request.model} come from forced alignment against the audio, which "
                f"voxnb does not hold for a {source.kind.replace('_', ' ')}: pass the audio itself, or ask "
                "timestamps='segment'",
                option="words",
            )

    def _transcription_request(
        self, source: AudioSource, request: TranscriptionRequest, *, stream: bool
    ) -> dict[str, Any]:
        part = source.file_part()
        files = [*request.json_parts(), *([("file", part)] if part else [])]
        return {
            "data": {**request.form_fields(self.dialect or "mistral", stream=stream), **source.form_fields()},
            "files": files or None,
        }

    async def transcribe(
        self, audio: Any, *, sr: int | None = None, **options: Unpack[TranscriptionOptions]
    ) -> Transcript:
        """Transcribe one recording.

        Parameters
        ----------
        audio : path, bytes, file object, voxnb.Audio, numpy array, URL or file id
            The recording: a path, encoded bytes or an open binary file (uploaded as is); a
            :class:`voxnb.Audio` or samples with ``sr=`` (encoded losslessly as WAV); an
            ``https://`` URL (sent as ``file_url``); or the id returned by :meth:`upload`.
        sr : int, optional
            Sample rate of *audio* when it is a numpy array.
        **options
            The transcription options (:class:`voxnb.request.TranscriptionOptions`):

            - ``model``: the transcription model (default ``voxtral-mini-latest`` on Mistral's
              protocol, the first served model on vLLM);
            - ``timestamps``: ``"segment"``, ``"word"`` or both;
            - ``words``: ``"auto"`` (default), ``"api"`` or ``"aligned"`` — word times from a
              model that gives none (Voxtral 3) come from forced alignment against the audio;
            - ``diarize``: label speakers (implies segment timestamps);
            - ``context_bias``: words or phrases to favour (Voxtral 2 wants single terms — see
              :func:`voxnb.bias_terms`);
            - ``language``: two-letter code (Voxtral 2: not together with timestamps);
            - ``temperature``.

        Returns
        -------
        voxnb.Transcript
            With backend, base URL, model, request record and audio hash.

        Raises
        ------
        ParameterError, AudioError
            Before anything is sent, for options or audio the server would refuse.
        APIError, AuthenticationError, RateLimitError, ServerError, TransportError
            When the server refuses, or keeps failing after the retries.

        Examples
        --------
        >>> client = voxnb.Client(base_url="http://127.0.0.1:8000")  # doctest: +SKIP
        >>> t = client.transcribe("meeting.wav", diarize=True)  # doctest: +SKIP
        >>> t.speakers  # doctest: +SKIP
        """
        # every check that needs no network first: the options, then the audio; then the model's
        # capabilities, which may ask the server its dialect
        wanted = TranscriptionRequest.create(**options)
        source = await self.load(audio, sr=sr)
        request = await self.resolve(wanted)
        return await self.build(await self.send(source, request), source, request)

    async def transcribe_stream(
        self, audio: Any, *, sr: int | None = None, **options: Unpack[TranscriptionOptions]
    ) -> AsyncIterator[StreamEvent | Transcript]:
        """Transcribe with server-sent events: yield each event as it arrives, then the Transcript.

        Takes the same arguments as :meth:`transcribe`. The events are
        :class:`~voxnb.api.sse.TranscriptionLanguage`, :class:`~voxnb.api.sse.TranscriptionTextDelta`,
        :class:`~voxnb.api.sse.TranscriptionSegment` and :class:`~voxnb.api.sse.TranscriptionDone`;
        the last item yielded is the :class:`voxnb.Transcript`. A request that fails before its
        first event is retried; one that breaks after it is not (the events were already used).

        Examples
        --------
        >>> for item in client.transcribe_stream("talk.mp3"):  # doctest: +SKIP
        ...     if isinstance(item, voxnb.api.sse.TranscriptionTextDelta):
        ...         print(item.text, end="")
        """
        wanted = TranscriptionRequest.create(**options)
        source = await self.load(audio, sr=sr)
        request = await self.resolve(wanted)
        self._check_alignable(source, request)
        what = f"POST {TRANSCRIPTIONS} (stream)"
        wire = self._transcription_request(source, request, stream=True)
        attempts_left = self.retry.max_retries
        while True:
            response = await self._request(
                "POST", TRANSCRIPTIONS, accept="text/event-stream", stream=True, **wire
            )
            frames = iter_sse(response.aiter_lines())
            try:
                first = await anext(frames, None)
            except httpx.HTTPError as err:
                forget_locals(err)
                await response.aclose()
                if attempts_left <= 0:
                    raise TransportError(
                        f"{what} broke before its first event ({type(err).__name__}); "
                        "try again or use transcribe()"
                    ) from err
                attempts_left -= 1
                log.info("retrying %s: the stream broke before its first event", what)
                continue
            break
        done: TranscriptionDone | None = None
        deltas: list[str] = []
        try:
            frame = first
            while frame is not None:
                event_name, data = frame
                if data.strip() == "[DONE]":  # vLLM's end of stream
                    done = TranscriptionDone({"text": "".join(deltas)})
                    yield done
                    break
                event = parse_event(event_name, data)
                if event is not None:
                    if isinstance(event, TranscriptionTextDelta):
                        deltas.append(event.text)
                    yield event
                    if isinstance(event, TranscriptionDone):
                        done = event
                        break
                frame = await anext(frames, None)
        except httpx.HTTPError as err:
            forget_locals(err)
            raise TransportError(
                f"{what} broke after {len(deltas)} text pieces ({type(err).__name__}); not retried because "
                "its events were already delivered — run it again"
            ) from err
        finally:
            await response.aclose()
            # drop the half-read line iterator now, inside the loop: an error's traceback would
            # keep it alive until it is finalised outside any loop, where httpcore cannot close it
            del frames
        if done is None:
            raise TransportError(
                f"{what} ended without transcription.done (after {len(deltas)} text pieces); the server "
                "closed the stream early — run it again"
            )
        yield await self.build(done.response, source, request)

    async def transcribe_many(
        self,
        items: Any,
        *,
        concurrency: int = 8,
        cache: Any = True,
        progress: bool = True,
        sr: int | None = None,
        mode: str = "requests",
        poll_interval: float = 10.0,
        executor: Any = None,
        **options: Unpack[TranscriptionOptions],
    ) -> BatchResult:
        """Transcribe many recordings concurrently, with a cache and a progress bar.

        A failing item never stops the batch: it lands in ``.errors``. Finished items are
        cached as they complete, so running the same call again after an interruption
        (KeyboardInterrupt, kernel restart) re-sends only what had not finished, and a fully
        cached re-run sends no request at all.

        With ``mode="batch"`` the items go to the server's Batch API as one job instead
        (:meth:`submit_batch`: Mistral's, or ``voxnb serve``'s), which this call waits for and
        downloads; the same call after a kernel restart picks the job up again rather than
        submitting it twice, and the results land in the same cache.

        Parameters
        ----------
        items : mapping of name → item, or iterable of items or ``(name, item)`` pairs
            What to transcribe. An item is a recording (any *audio* :meth:`transcribe`
            takes) or, when it needs parameters of its own, a mapping
            ``{"audio": recording, "context_bias": [...], ...}`` whose other keys (any option
            below, and ``sr``) override the call's for that item. In a list, paths and URLs
            are named by themselves, other items by position.
        concurrency : int
            Requests in flight at once (with *executor*: across the whole cluster, held by one
            ``distributed.Semaphore``, so a cluster does not multiply the server's rate limit).
        cache : bool or path
            ``True`` for the user cache directory (``$VOXNB_CACHE_DIR`` overrides it), a
            directory or an fsspec URL (``s3://...``; with *executor*, one every worker
            reaches), or ``False`` for none.
        progress : bool
            Show a ``tqdm.auto`` progress bar.
        sr : int, optional
            Sample rate of items that are numpy arrays.
        mode : {"requests", "batch"}
            One request per item (the default), or one batch job for all of them.
        poll_interval : float
            ``mode="batch"``: the longest wait between two polls of the job, in seconds.
        executor : dask.distributed.Client, optional
            Run each item as a Dask task (``voxnb-transcribe`` on the dashboard) on the
            cluster's workers: paths must be readable there, and the workers send the requests
            with their own ``$MISTRAL_API_KEY`` (a key is never pickled). Transcripts come
            back without their audio samples.
        **options
            Transcription options, as for :meth:`transcribe`. Every item's options are
            validated before anything is sent; the cache key of an item holds the request it
            was sent with.

        Returns
        -------
        voxnb.runs.BatchResult
            Mapping name → Transcript, with ``.errors`` and ``.to_frame()`` (and ``.job_id``
            in batch mode).

        Examples
        --------
        >>> from pathlib import Path
        >>> result = client.transcribe_many(sorted(Path("calls").glob("*.flac")), concurrency=16)  # doctest: +SKIP
        >>> result.to_frame()  # doctest: +SKIP

        Each recording with its own bias list, all in flight together:

        >>> result = client.transcribe_many({  # doctest: +SKIP
        ...     "ep1": {"audio": "ep1.mp3", "context_bias": ["Joplin", "Sausalito"]},
        ...     "ep2": {"audio": "ep2.mp3", "context_bias": ["Tobermory"]},
        ... }, timestamps="segment")
        """
        if mode == "batch" and executor is not None:
            raise ParameterError(
                "mode='batch' runs on the server's Batch API and executor= on a Dask cluster: choose one",
                option="executor",
            )
        if mode == "batch":
            requests_before = self.requests_sent
            job = await self.submit_batch(items, cache=cache, sr=sr, progress=progress, **options)
            result = await job.result(progress=progress, poll_interval=poll_interval)
            result.requests = self.requests_sent - requests_before  # uploads and job creation too
            return result
        if mode != "requests":
            raise ParameterError(
                f"mode must be 'requests' (one request per item) or 'batch' (one batch job); got {mode!r}",
                option="mode",
            )
        from voxnb.runs import run_many

        return await run_many(
            self,
            items,
            concurrency=concurrency,
            cache=cache,
            progress=progress,
            sr=sr,
            options=dict(options),
            executor=executor,
        )

    def worker_recipe(self) -> ClientRecipe:
        """How a Dask worker builds the same client: URL, dialect, timeouts, retries — no key.

        Raises
        ------
        ParameterError
            This client holds a key given in this process: keys are never pickled, so the
            workers must read their own from ``$MISTRAL_API_KEY``.
        """
        if self._key and self._key != api_key_for(self.base_url, None):
            raise ParameterError(
                "the API key given to this client is not sent to Dask workers (keys are never "
                "pickled): set MISTRAL_API_KEY in the workers' environment, e.g. "
                "LocalCluster(env={'MISTRAL_API_KEY': ...}) or `dask worker` started with it, and "
                "create the client without api_key=",
                option="executor",
            )
        return ClientRecipe(
            self.base_url,
            self.dialect,
            self.timeout,
            self.connect_timeout,
            self.retry,
            self.max_connections,
            needs_key=bool(self._key),
        )

    async def submit_batch(
        self,
        items: Any,
        *,
        cache: Any = True,
        sr: int | None = None,
        metadata: dict[str, str] | None = None,
        timeout_hours: int = 24,
        resume: bool = True,
        progress: bool = True,
        **options: Unpack[TranscriptionOptions],
    ) -> AsyncBatchJob:
        """Submit many recordings as one batch job (Mistral's Batch API, or ``voxnb serve``'s).

        Items already in the transcription cache are not submitted. Local audio is uploaded
        (Files API, ``purpose="audio"``, each distinct recording once); URLs and file ids are
        passed as they are. The job's JSONL holds one line per item, its ``custom_id`` the
        item's name and its body the request's JSON form with the item's own options. The
        handle's state is saved in the cache folder, so a new kernel resumes the job with
        :meth:`batch_job` and its id.

        Parameters
        ----------
        items : mapping of name → item, or iterable of items or ``(name, item)`` pairs
            As for :meth:`transcribe_many` (per-item options in a mapping item).
        cache : bool or path
            The transcription cache (see :meth:`transcribe_many`); the job's state is kept in
            its ``batch-jobs`` folder.
        metadata : dict of str, optional
            Kept with the job by the server.
        timeout_hours : int
            The job's time limit (1 to 168; the API's default is 24).
        resume : bool
            Return the still unfinished job of an earlier submission of the same items, if
            there is one, instead of submitting them again.
        progress : bool
            Show the uploads' progress.
        **options
            Transcription options for every item; a job runs one model. Word times by forced
            alignment cannot be asked here (align the results afterwards).

        Returns
        -------
        voxnb.api.batch.AsyncBatchJob
            ``await job.wait()``, ``await job.cancel()``, ``await job.result()``.

        Examples
        --------
        >>> job = await client.submit_batch({"a": "a.flac", "b": {"audio": "b.flac", "context_bias": ["Joplin"]}},
        ...                                 timestamps="segment")  # doctest: +SKIP
        >>> result = await job.result()  # doctest: +SKIP
        """
        from voxnb.api.batch import submit_batch

        return await submit_batch(
            self,
            items,
            cache=cache,
            sr=sr,
            metadata=metadata,
            timeout_hours=timeout_hours,
            resume=resume,
            progress=progress,
            options=dict(options),
        )

    async def batch_job(self, job_id: str, *, cache: Any = True) -> AsyncBatchJob:
        """A batch job submitted earlier (in this kernel or another), from its id.

        The job's state is read from the cache folder it was submitted with (``cache=``, or
        ``$VOXNB_CACHE_DIR``), and the server is asked where the job stands.

        Examples
        --------
        >>> job = await voxnb.AsyncClient().batch_job("6f0c5a4e-...")  # doctest: +SKIP
        >>> result = await job.result()  # doctest: +SKIP
        """
        from voxnb.api.batch import resume_batch

        return await resume_batch(self, job_id, cache=cache)

    async def list_batch_jobs(
        self, *, status: str | list[str] | None = None, page_size: int = 100
    ) -> list[dict[str, Any]]:
        """The server's batch jobs, newest first (``GET /v1/batch/jobs``), as it describes them.

        Examples
        --------
        >>> [job["id"] for job in await client.list_batch_jobs(status="RUNNING")]  # doctest: +SKIP
        """
        params: dict[str, Any] = {"page_size": page_size, "order_by": "-created"}
        if status is not None:
            params["status"] = [status] if isinstance(status, str) else list(status)
        body = await self._request_json("GET", "/v1/batch/jobs", params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ResponseFormatError("GET /v1/batch/jobs answered without a data list")
        return data

    # -- chat and files ------------------------------------------------------------------------

    async def chat(
        self,
        audio: Any,
        prompt: str,
        *,
        model: str = DEFAULT_CHAT_MODEL,
        temperature: float | None = None,
        max_tokens: int | None = None,
        sr: int | None = None,
    ) -> str:
        """Ask a question about a recording (chat completions with an audio part).

        Parameters
        ----------
        audio : path, bytes, file object, voxnb.Audio, numpy array or URL
            The recording (see :meth:`transcribe`); a file id is not accepted here — pass
            :meth:`signed_url` of it instead.
        prompt : str
            The question or instruction.
        model : str
            A chat model that accepts audio.
        temperature : float, optional
            Sampling temperature (the model card suggests 0.2).
        max_tokens : int, optional
            Upper bound of the answer's length.

        Returns
        -------
        str
            The model's answer.

        Examples
        --------
        >>> client.chat("lecture.mp3", "List the three main points.")  # doctest: +SKIP
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise ParameterError("prompt must be a non-empty string saying what to do with the audio")
        if not isinstance(model, str) or not model:
            raise ParameterError(f"model must be a chat model's name; got {model!r}", option="model")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not 0 <= temperature <= 2
        ):
            raise ParameterError(
                f"temperature must be a number from 0 to 2; got {temperature!r}", option="temperature"
            )
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ParameterError(
                f"max_tokens must be a whole number above 0; got {max_tokens!r}", option="max_tokens"
            )
        source = await self.load(audio, sr=sr)
        if source.file_id:
            raise ParameterError(
                "chat() cannot take a file id; pass client.signed_url(file_id) (a URL) instead"
            )
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        _audio_part(source, self.dialect or "mistral"),
                        {"type": "text", "text": prompt},
                    ],
                }
            ],
        }
        if temperature is not None:
            body["temperature"] = float(temperature)
        if max_tokens is not None:
            body["max_tokens"] = int(max_tokens)
        what = "POST /v1/chat/completions"
        answer = self._json(await self._request("POST", "/v1/chat/completions", json_body=body), what)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as err:
            raise ResponseFormatError(f"{what} answered without choices[0].message.content") from err
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)

    async def upload(self, audio: Any, *, sr: int | None = None) -> str:
        """Upload a recording to the Files API (purpose ``audio``) and return its file id.

        Pass the id to :meth:`transcribe` (as ``file_id``) or to :meth:`signed_url`.

        Examples
        --------
        >>> file_id = client.upload("long_meeting.flac")  # doctest: +SKIP
        >>> client.transcribe(file_id)  # doctest: +SKIP
        """
        source = await asyncio.to_thread(resolve_audio, audio, sr=sr, allow_remote=False)
        return await self._upload_part(source.file_part(), purpose="audio")

    async def _upload_part(self, part: Any, *, purpose: str) -> str:
        """``POST /v1/files`` of one file part ``(filename, bytes, content type)``: its file id."""
        body = await self._request_json(
            "POST", "/v1/files", data={"purpose": purpose}, files=[("file", part)]
        )
        if not isinstance(body, dict) or not body.get("id"):
            raise ResponseFormatError("POST /v1/files answered without a file id")
        return str(body["id"])

    async def signed_url(self, file_id: str, *, expiry: int = 24) -> str:
        """A temporary download URL of an uploaded file, valid for *expiry* hours (1–168).

        Examples
        --------
        >>> url = client.signed_url(client.upload("long_meeting.flac"), expiry=2)  # doctest: +SKIP
        >>> client.chat(url, "Who speaks first?")  # doctest: +SKIP
        """
        if not isinstance(expiry, int) or not 1 <= expiry <= 168:
            raise ParameterError(f"expiry is in hours, from 1 to 168; got {expiry!r}")
        response = await self._request("GET", f"/v1/files/{file_id}/url", params={"expiry": expiry})
        body = self._json(response, "GET /v1/files/{id}/url")
        if not isinstance(body, dict) or not body.get("url"):
            raise ResponseFormatError("GET /v1/files/{id}/url answered without a url")
        return str(body["url"])


def _audio_part(source: AudioSource, dialect: str) -> dict[str, Any]:
    """The chat content part carrying the audio (spec §5 for Mistral, §9 for vLLM)."""
    if dialect == "mistral":
        return {
            "type": "input_audio",
            "input_audio": source.file_url or base64.b64encode(source.data or b"").decode(),
        }
    if source.file_url:
        return {"type": "audio_url", "audio_url": {"url": source.file_url}}
    fmt = (source.filename or "audio.wav").rsplit(".", 1)[-1]
    return {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(source.data or b"").decode(), "format": fmt},
    }


# -- the sync mirror ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRecipe:
    """What a Dask worker needs to build its own :class:`AsyncClient` (see :mod:`voxnb.cluster`)."""

    base_url: str
    dialect: str | None
    timeout: float
    connect_timeout: float
    retry: RetryPolicy
    max_connections: int
    needs_key: bool = False

    def __call__(self) -> AsyncClient:
        return AsyncClient(
            base_url=self.base_url,
            dialect=self.dialect,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            retry=self.retry,
            max_connections=self.max_connections,
        )

    def check_worker(self) -> str | None:
        """Why this worker cannot send the requests (no key where one is needed), or None."""
        if self.needs_key and not api_key_for(self.base_url, None):
            return "MISTRAL_API_KEY is not set in this worker's environment"
        return None


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _mirror(name: str) -> Any:
    """A sync method running the AsyncClient coroutine of the same name."""
    async_method = getattr(AsyncClient, name)

    @functools.wraps(async_method)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._run(getattr(self._async, name)(*args, **kwargs))

    return method


class Client:
    """A client for Voxtral transcription servers, for scripts and notebooks.

    Mirrors :class:`AsyncClient` method for method (same parameters) without ``await``; works
    inside Jupyter, whose event loop is already running.

    Parameters
    ----------
    api_key, base_url, dialect, timeout, connect_timeout, retry, max_connections
        As for :class:`AsyncClient`.

    Examples
    --------
    >>> import voxnb
    >>> client = voxnb.Client()  # uses $MISTRAL_API_KEY  # doctest: +SKIP
    >>> t = client.transcribe("interview.mp3", timestamps="segment", diarize=True)  # doctest: +SKIP
    >>> local = voxnb.Client(base_url="http://127.0.0.1:8000")  # `voxnb serve`  # doctest: +SKIP
    """

    @secret_api_key
    def __init__(self, **options: Any):
        known = inspect.signature(AsyncClient.__init__).parameters
        for name in options:
            if name not in known or name == "self":
                close = difflib.get_close_matches(name, [p for p in known if p != "self"], n=1)
                raise ParameterError(
                    f"voxnb.Client() has no option {name!r}"
                    + (
                        f"; did you mean {close[0]!r}?"
                        if close
                        else f"; it takes {', '.join(list(known)[1:])}"
                    ),
                    option=name,
                )
        self._async = AsyncClient(**options)
        self._loop: asyncio.AbstractEventLoop | None = None

    # help() and tab completion show AsyncClient's keyword arguments
    __init__.__signature__ = inspect.signature(AsyncClient.__init__)  # type: ignore[attr-defined]

    @safe_repr
    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncClient(", "Client(", 1)

    base_url = property(lambda self: self._async.base_url, doc="The server's base URL.")
    dialect = property(
        lambda self: self._async.dialect, doc="``mistral`` or ``openai`` (None before detection)."
    )
    dialect_note = property(lambda self: self._async.dialect_note, doc="How the dialect was found.")
    backend = property(lambda self: self._async.backend, doc="What Transcripts record as backend.")
    retry = property(lambda self: self._async.retry, doc="The retry policy.")
    requests_sent = property(lambda self: self._async.requests_sent, doc="HTTP attempts made so far.")
    last_batch = property(lambda self: self._async.last_batch, doc="The latest transcribe_many result.")

    def _run(self, coro: Any) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            loop = self._loop
        else:  # Jupyter: re-enter the kernel's running loop
            import nest_asyncio

            nest_asyncio.apply(loop)
        task = loop.create_task(coro)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            if not task.done():  # interrupted: let the task cancel cleanly (responses closed, bar shut)
                task.cancel()
                with contextlib.suppress(BaseException):  # the original interruption is what matters
                    loop.run_until_complete(task)
            raise

    detect = _mirror("detect")
    prepare = _mirror("prepare")
    resolve = _mirror("resolve")
    load = _mirror("load")
    send = _mirror("send")
    build = _mirror("build")
    transcribe = _mirror("transcribe")
    transcribe_many = _mirror("transcribe_many")
    chat = _mirror("chat")
    upload = _mirror("upload")
    signed_url = _mirror("signed_url")
    list_batch_jobs = _mirror("list_batch_jobs")

    @functools.wraps(AsyncClient.transcript_of)
    def transcript_of(self, response: dict[str, Any], **kwargs: Any) -> Transcript:
        return self._async.transcript_of(response, **kwargs)

    @functools.wraps(AsyncClient.submit_batch)
    def submit_batch(self, items: Any, **kwargs: Any) -> Any:
        from voxnb.api.batch import BatchJob

        return BatchJob(self._run(self._async.submit_batch(items, **kwargs)), self._run)

    @functools.wraps(AsyncClient.batch_job)
    def batch_job(self, job_id: str, **kwargs: Any) -> Any:
        from voxnb.api.batch import BatchJob

        return BatchJob(self._run(self._async.batch_job(job_id, **kwargs)), self._run)

    @functools.wraps(AsyncClient.worker_recipe)
    def worker_recipe(self) -> ClientRecipe:
        return self._async.worker_recipe()

    @functools.wraps(AsyncClient.transcribe_stream)
    def transcribe_stream(self, audio: Any, **kwargs: Any) -> Iterator[Any]:
        events: Any = self._async.transcribe_stream(audio, **kwargs)
        try:
            while True:
                try:
                    yield self._run(_awaited(anext(events)))
                except StopAsyncIteration:
                    return
        finally:
            self._run(events.aclose())

    def close(self) -> None:
        """Close the connections (and the private event loop)."""
        self._run(self._async.aclose())
        if self._loop is not None and not self._loop.is_closed():
            self._loop.close()
        self._loop = None

    def __del__(self, _is_finalizing=sys.is_finalizing) -> None:
        # a Client dropped without close() must not leave its private loop and sockets open;
        # at interpreter exit the modules it needs may already be gone, and the OS reclaims all
        if _is_finalizing():  # bound at definition: module globals may be None by then
            return
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and not loop.is_running():
            closing = self._async.aclose()
            try:
                loop.run_until_complete(closing)
            except Exception:  # e.g. collected while another loop runs in this thread
                closing.close()
            loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
