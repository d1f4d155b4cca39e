"""``voxnb serve``: a local server that speaks Mistral's transcription protocol over an engine.

Routes (``spec/mistral-api.md`` §1–§3, §5–§8): ``POST /v1/audio/transcriptions`` (multipart,
Mistral's fields and validation errors, JSON or SSE), ``POST /v1/files`` with signed URLs and
``GET /v1/files/{id}/content``, ``POST /v1/chat/completions`` with an audio part, ``GET
/v1/models``; the batch jobs of :mod:`voxnb.serve.batch`; and the realtime websockets of
:mod:`voxnb.serve.realtime`. Known speakers' reference clips (``speaker_references``) name the
engine's speaker clusters by the nearest voice (:mod:`voxnb.local.speaker_names`).

For tests and benchmarks the app can inject faults (``--faults 429:0.2,500:0.1,latency:0.3``)
and records what requests carried (:class:`RequestRecorder`: a small ring of the latest ones by
default, everything when a test passes its own) — with the credentials redacted, so the recorder
never holds a key.

Bounded for hostile clients: bodies over ``max_body_bytes`` get 413 and bodies that stall for
``body_timeout`` seconds 408 (request heads are timed by :mod:`voxnb.serve.limits`); uploads are
checked to be audio and limited in number and bytes; every malformed body gets a 4xx naming what
is wrong, never a 500; and every log line of the process has credentials redacted.

Deliberate differences from Mistral's API: ``language`` together with timestamps is refused
with 422 (Mistral silently answers with empty text), and ``file_url`` only resolves the server's
own signed URLs (it never downloads from the internet).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from voxnb.credentials import Secret, install_log_redaction, secret_api_key
from voxnb.errors import AudioError, EngineError, ParameterError
from voxnb.models import ModelCapabilities, capabilities, openai_capabilities
from voxnb.request import DIALECTS, TranscriptionRequest
from voxnb.serve.faults import FaultPlan, RecordedRequest, RequestRecorder, redacted_headers
from voxnb.serve.limits import DEFAULT_BODY_TIMEOUT, check_seconds

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_FILES", "DEFAULT_MAX_STORED_BYTES", "create_app"]

log = logging.getLogger("voxnb.serve")

#: the API's 512 MB file limit plus room for the other multipart fields
DEFAULT_MAX_BODY_BYTES = 512 * 1024 * 1024 + 1024 * 1024
#: files ``POST /v1/files`` keeps (in memory) at once; ``DELETE /v1/files/{id}`` frees one
DEFAULT_MAX_FILES = 10_000
#: bytes the stored files may take together
DEFAULT_MAX_STORED_BYTES = 1024 * 1024 * 1024
#: requests the default recorder remembers (the latest ones)
DEFAULT_RECORDED = 100
#: JSON bodies nested deeper than this are refused (no real request comes close)
_MAX_JSON_DEPTH = 64
_FILE_PURPOSES = ("audio", "batch", "fine-tune", "ocr")
_BOOL = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


# -- the app ----------------------------------------------------------------------------------


class _BodyRefused(Exception):
    """A request body the server will not read to its end (too large, or too slow)."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _BodyTooLarge(_BodyRefused):
    status = 413


class _BodyTooSlow(_BodyRefused):
    status = 408


class _BodyLimit:
    """ASGI middleware bounding request bodies: 413 past *limit* bytes (declared or streamed), 408
    when no byte of it arrives for *timeout* seconds (a slow or stalled upload holds no worker)."""

    def __init__(self, app: Any, limit: int, timeout: float = DEFAULT_BODY_TIMEOUT):
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, _BodyTooLarge(self._too_large()))
            return
        received = 0
        started = False
        body_done = False

        async def counting_receive() -> dict:
            nonlocal received, body_done
            if body_done:  # after the body only a disconnect can come: no deadline on waiting for it
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                raise _BodyTooSlow(
                    f"no byte of the request body arrived for {self.timeout:g} s; send the body at once"
                ) from None
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _BodyTooLarge(self._too_large())
            body_done = message.get("type") != "http.request" or not message.get("more_body", False)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyRefused as refused:
            if not started:
                await self._refuse(send, refused)

    def _too_large(self) -> str:
        return f"request body larger than this server's limit of {self.limit} bytes"

    async def _refuse(self, send: Callable, refused: _BodyRefused) -> None:
        body = json.dumps(_error_body(refused.status, refused.message, "invalid_request_error")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": refused.status,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _error_body(status: int, message: Any, type_: str, code: str | None = None) -> dict[str, Any]:
    return {
        "object": "error",
        "message": message,
        "type": type_,
        "param": None,
        "code": code,
        "raw_status_code": status,
    }


class _RequestFailed(Exception):
    """An error answer decided while handling a request."""

    def __init__(
        self, status: int, message: Any, type_: str = "invalid_request_error", code: str | None = None
    ):
        super().__init__(str(message))
        self.status, self.message, self.type, self.code = status, message, type_, code


def _validation(field_name: str, msg: str, value: Any, kind: str = "value_error") -> _RequestFailed:
    """A 422 shaped like Mistral's: ``message`` is an object holding a FastAPI ``detail`` list."""
    return _RequestFailed(
        422, {"detail": [{"type": kind, "loc": ["body", field_name], "msg": msg, "input": value}]}
    )


def _refusal(err: ParameterError) -> _RequestFailed:
    """A refused request in Mistral's shapes: 400 for what the model cannot do, 422 for invalid values."""
    if err.unsupported:
        return _RequestFailed(400, str(err), "invalid_request_error")
    field = {"timestamps": "timestamp_granularities", "words": "timestamp_granularities"}.get(
        err.option or ""
    )
    return _validation(field or err.option or "body", str(err), None)


def _openai_answer(result: dict[str, Any], response_format: str, *, stream: bool, duration: float) -> Any:
    """The engine's result as vLLM answers: ``{text, usage}``, ``verbose_json``, text, or its SSE chunks."""
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse

    text = result.get("text") or ""
    if stream:
        return StreamingResponse(_openai_sse(result), media_type="text/event-stream")
    if response_format == "text":
        return PlainTextResponse(text)
    if response_format == "json":
        return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": math.ceil(duration)}})
    segments = result.get("segments") or []
    words = [
        {"word": w["text"], "start": w["start"], "end": w["end"]}
        for s in segments
        for w in s.get("words") or []
    ]
    return JSONResponse(
        {
            "duration": f"{duration:.2f}",
            "language": result.get("language") or "en",
            "text": text,
            "segments": [
                {"id": i, "seek": 0, "start": s["start"], "end": s["end"], "text": s["text"], "tokens": [],
                 "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0}
                for i, s in enumerate(segments)
            ],
            "words": words or None,
        }
    )  # fmt: skip


async def _openai_sse(result: dict[str, Any]) -> Any:
    """vLLM's streaming frames: ``transcription.chunk`` deltas, then ``[DONE]``."""
    pieces = [s["text"] for s in result.get("segments") or []] or [result.get("text") or ""]
    created = int(time.time())
    for i, piece in enumerate(pieces):
        chunk = {
            "id": f"trsc-{uuid.uuid4().hex}",
            "object": "transcription.chunk",
            "created": created,
            "model": result.get("model"),
            "choices": [
                {"delta": {"content": piece}, "finish_reason": "stop" if i == len(pieces) - 1 else None}
            ],
        }
        yield f"data: {json.dumps(chunk)}\n\n"
        await asyncio.sleep(0)
    yield "data: [DONE]\n\n"


def _parse_bool(name: str, value: str | None, default: bool) -> bool:
    if value is None:
        return default
    try:
        return _BOOL[str(value).strip().lower()]
    except KeyError:
        raise _validation(
            name, "Input should be a valid boolean, unable to interpret input", value, "bool_parsing"
        ) from None


@dataclass
class _Upload:
    filename: str
    content_type: str
    data: bytes
    purpose: str
    created_at: int
    sample_type: str = "audio"  # batch files: batch_request, batch_result, batch_error
    source: str = "upload"  # "mistral" for the files a batch job writes

    def describe(self, file_id: str) -> dict[str, Any]:
        """The file as the Files API describes it (``mistralai``'s ``CreateFileResponse``)."""
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "sample_type": self.sample_type,
            "source": self.source,
            "num_lines": self.data.count(b"\n") + (not self.data.endswith(b"\n") and bool(self.data))
            if self.purpose == "batch"
            else None,
            "mimetype": self.content_type,
        }


class _Server:
    """The request handlers, sharing the engine, the stored files and the test hooks."""

    def __init__(
        self,
        engine: Any,
        *,
        api_key: Secret | None,
        faults: FaultPlan,
        recorder: RequestRecorder,
        dialect: str,
        max_files: int = DEFAULT_MAX_FILES,
        max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
    ):
        self.engine = engine
        self.dialect = dialect
        self._api_key = api_key or Secret(None)
        self.faults = faults
        self.recorder = recorder
        self.files: dict[str, _Upload] = {}
        self.max_files = max_files
        self.max_stored_bytes = max_stored_bytes
        self._files_lock = asyncio.Lock()
        self._url_secret = secrets.token_bytes(16)
        # engines that are not thread-safe (the offline model) decode one request at a time
        self._engine_lock = None if getattr(engine, "thread_safe", False) else threading.Lock()

    # -- helpers -------------------------------------------------------------------------------

    def _authorized(self, request: Any) -> bool:
        if not self._api_key:
            return True
        header = request.headers.get("authorization", "")
        offered = header[7:] if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
        return hmac.compare_digest(
            offered.encode("utf-8", "surrogateescape"),
            self._api_key.reveal().encode(),  # type: ignore[union-attr]
        )

    def _signature(self, file_id: str, expires: int) -> str:
        return hmac.new(self._url_secret, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def _file_from_url(self, url: str) -> bytes:
        if not isinstance(url, str):
            raise _validation("file_url", "Input should be a valid string (a URL)", None, "string_type")
        match = re.search(r"/v1/files/([0-9a-f-]{36})/content\?expires=(\d+)&sig=([0-9a-f]+)$", url)
        if match is None:
            raise _RequestFailed(
                400,
                "voxnb serve does not download file_url from the internet: upload the "
                "file with POST /v1/files and pass file_id, or send the file itself",
            )
        file_id, expires, sig = match.group(1), int(match.group(2)), match.group(3)
        if not hmac.compare_digest(sig, self._signature(file_id, expires)) or expires < time.time():
            raise _RequestFailed(
                403, "file_url signature is invalid or expired; ask GET /v1/files/{id}/url again"
            )
        return self._stored(file_id).data

    def _stored(self, file_id: str) -> _Upload:
        try:
            return self.files[file_id]
        except (KeyError, TypeError):
            raise _RequestFailed(
                404,
                f"No file with id {file_id!r} on this server (files live in memory "
                "and are gone after a restart)",
                "not_found",
            ) from None

    async def _engine_call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        from starlette.concurrency import run_in_threadpool

        def call() -> Any:
            if self._engine_lock is None:
                return fn(*args, **kwargs)
            with self._engine_lock:
                return fn(*args, **kwargs)

        try:
            return await run_in_threadpool(call)
        except (EngineError, ParameterError) as err:
            raise _RequestFailed(
                500 if isinstance(err, EngineError) else 400, str(err), "server_error"
            ) from err

    @staticmethod
    async def _decoded(data: bytes) -> Any:
        """Samples at 16 kHz, decoded in a worker thread (long files, or an ffmpeg fallback, take seconds)."""
        from starlette.concurrency import run_in_threadpool

        from voxnb.audio import Audio

        try:
            return (await run_in_threadpool(Audio.load, data, sr=16000)).y
        except AudioError as err:
            raise _RequestFailed(400, f"Could not decode the audio file: {err}") from err

    async def _inject(self, record: RecordedRequest | None) -> None:
        """Injected latency, then maybe an injected error answer (a batch line's too, unrecorded)."""
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        status = self.faults.draw_status()
        if status is not None:
            if record is not None:
                record.fault = status
            raise _RequestFailed(
                status,
                f"injected fault: HTTP {status} (voxnb serve --faults)",
                "rate_limited" if status == 429 else "injected_fault",
                "1300" if status == 429 else None,
            )

    async def _inject_line(self) -> None:
        await self._inject(None)

    async def transcribe_samples(self, samples: Any, resolved: TranscriptionRequest) -> dict[str, Any]:
        """The engine's response to *resolved*, its speakers named by the request's reference clips."""
        result = await self._engine_call(self.engine.transcribe, samples, **resolved.engine_options())
        if resolved.speaker_references:
            from voxnb.local.speaker_names import apply_to_response, name_speakers

            found = await self._engine_call(
                name_speakers, samples, result.get("segments") or [], resolved.speaker_references
            )
            result = apply_to_response(result, found.names)
        return result

    def _respond_error(self, failure: _RequestFailed, record: RecordedRequest | None) -> Any:
        from starlette.responses import JSONResponse

        headers = {"x-request-id": uuid.uuid4().hex}
        if failure.status in (429, 503) and self.faults.retry_after is not None and record and record.fault:
            headers["retry-after"] = f"{self.faults.retry_after:g}"
        if failure.status == 401:
            body: dict[str, Any] = {"message": failure.message, "request_id": headers["x-request-id"]}
        else:
            body = _error_body(failure.status, failure.message, failure.type, failure.code)
        if record is not None:
            record.status = failure.status
        return JSONResponse(body, status_code=failure.status, headers=headers)

    def _record(self, request: Any) -> RecordedRequest:
        record = RecordedRequest(request.method, request.url.path, redacted_headers(request.headers))
        self.recorder.add(record)
        return record

    def handler(self, fn: Callable) -> Callable:
        """Wrap a route: auth, recording, the error shapes."""

        async def endpoint(request: Any) -> Any:
            record = self._record(request)
            if not self._authorized(request):
                return self._respond_error(_RequestFailed(401, "Unauthorized"), record)
            try:
                response = await fn(request, record)
            except _RequestFailed as failure:
                return self._respond_error(failure, record)
            except _BodyRefused:
                raise  # answered 408/413 by the body middleware
            except Exception:  # a bug here, not the client's fault: say so without internals
                log.exception("voxnb serve failed on %s %s", request.method, request.url.path)
                return self._respond_error(
                    _RequestFailed(500, "internal error in voxnb serve (see its log)", "server_error"), record
                )
            finally:
                await request.close()  # the uploaded files' spooled temporary files
            record.status = response.status_code
            response.headers.setdefault("x-request-id", uuid.uuid4().hex)
            return response

        return endpoint

    # -- routes --------------------------------------------------------------------------------

    def served(self, model: str) -> ModelCapabilities:
        """What this server does for a request naming *model*.

        A model Mistral's table knows is emulated with that model's refusals (Voxtral 3 answers
        400 to word timestamps, Voxtral 2 refuses phrases in ``context_bias``...), within what the
        engine can do; any other name gets the engine's own capabilities. In the openai dialect
        the server behaves like vLLM (text and timestamps only, no diarization, no bias).
        """
        engine = self.engine.capabilities
        if self.dialect == "openai":
            caps = openai_capabilities(model)
        else:
            caps = capabilities(model)
            if not caps.known:
                return engine.named(model)
        languages = caps.languages if engine.languages is None else engine.languages
        if caps.languages is not None and engine.languages is not None:
            languages = tuple(code for code in caps.languages if code in engine.languages)
        return replace(
            caps,
            languages=languages,
            word_timestamps=caps.word_timestamps and engine.word_timestamps,
            diarize=caps.diarize and engine.diarize,
        )

    async def transcriptions(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        form = await _read_form(request, record)
        if not form.get("model"):
            raise _validation("model", "Field required", None, "missing")
        sources = ("file", "file_url", "file_id") if self.dialect == "mistral" else ("file",)
        given = [name for name in sources if form.get(name)]
        if len(given) != 1:
            raise _validation("file", f"Exactly one of {', '.join(sources)} must be provided", given)
        stream = _parse_bool("stream", form.get("stream"), False)
        response_format = form.get("response_format") or "json"
        if not isinstance(response_format, str):
            raise _validation("response_format", "Input should be a valid string", None, "string_type")
        if self.dialect == "openai" and response_format not in ("json", "text", "verbose_json"):
            raise _RequestFailed(400, "Currently only support response_format: text, json or verbose_json")
        try:
            wanted = TranscriptionRequest.from_form(form, dialect=self.dialect)
            resolved = wanted.resolve(self.served(form["model"]))
        except ParameterError as err:
            raise _refusal(err) from None
        if form.get("file"):
            data = await form["file"].read()
        elif form.get("file_id"):
            data = self._stored(form["file_id"]).data
        else:
            data = self._file_from_url(form["file_url"])
        samples = await self._decoded(data)
        await self._inject(record)
        result = await self.transcribe_samples(samples, resolved)
        if self.dialect == "openai":
            return _openai_answer(result, response_format, stream=stream, duration=len(samples) / 16000)
        if not stream:
            return JSONResponse(result)
        cut = self.faults.draw_cut()
        if cut:
            record.fault = "cut"
        return StreamingResponse(
            _sse_events(result, list(resolved.wire_timestamps), cut=cut), media_type="text/event-stream"
        )

    async def upload(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        form = await _read_form(request, record)
        upload = form.get("file")
        if upload is None:
            raise _validation("file", "Field required", None, "missing")
        purpose = form.get("purpose") or "audio"
        if purpose not in _FILE_PURPOSES:
            raise _validation(
                "purpose", f"Input should be one of {', '.join(_FILE_PURPOSES)}", purpose, "enum"
            )
        data = await upload.read()
        if not data:
            raise _RequestFailed(400, "the uploaded file is empty (0 bytes)")
        if purpose == "audio":
            await self._decoded(data)  # what cannot be transcribed is refused now, not at first use
        await self._inject(record)
        file_id = str(uuid.uuid4())
        stored = _Upload(
            upload.filename or "audio",
            upload.content_type or "application/octet-stream",
            data,
            purpose,
            int(time.time()),
            sample_type="batch_request" if purpose == "batch" else "audio",
        )
        async with self._files_lock:
            held = sum(len(f.data) for f in self.files.values())
            if len(self.files) >= self.max_files or held + len(data) > self.max_stored_bytes:
                raise _RequestFailed(
                    400,
                    f"this server keeps at most {self.max_files} files ({self.max_stored_bytes // 2**20} MB) "
                    f"in memory and holds {len(self.files)} ({held / 2**20:.1f} MB); delete some with "
                    "DELETE /v1/files/{id}, or send the audio with the request itself",
                    "files_quota_exceeded",
                )
            self.files[file_id] = stored
        return JSONResponse(stored.describe(file_id))

    async def delete_file(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        file_id = request.path_params["file_id"]
        async with self._files_lock:
            self._stored(file_id)
            del self.files[file_id]
        return JSONResponse({"id": file_id, "object": "file", "deleted": True})

    async def signed_url(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        file_id = request.path_params["file_id"]
        self._stored(file_id)
        try:
            hours = int(request.query_params.get("expiry", "24"))
        except ValueError:
            hours = 0
        if not 1 <= hours <= 168:
            raise _validation(
                "expiry", "Input should be between 1 and 168", request.query_params.get("expiry")
            )
        expires = int(time.time()) + hours * 3600
        base = str(request.base_url).rstrip("/")
        url = f"{base}/v1/files/{file_id}/content?expires={expires}&sig={self._signature(file_id, expires)}"
        return JSONResponse({"url": url})

    async def file_content(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import Response

        stored = self._stored(request.path_params["file_id"])
        if "sig" in request.query_params:  # a signed URL: its signature is checked
            self._file_from_url(str(request.url))
        # otherwise the key let the request in (GET /v1/files/{id}/content, how batch results are read);
        # the Files API answers with bytes whatever they are (mistralai's download accepts nothing else)
        return Response(stored.data, media_type="application/octet-stream")

    async def chat(self, request: Any, record: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        body = _json_body(await request.body())
        record.json = _summarised_chat(body)
        if not isinstance(body, dict):
            raise _RequestFailed(400, "the body must be a JSON object: {model, messages: [...]}")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise _validation("messages", "Field required: a non-empty list of messages", None, "missing")
        if body.get("model") is not None and not isinstance(body["model"], str):
            raise _validation("model", "Input should be a valid string", None, "string_type")
        audio, prompt = self._chat_inputs(body["messages"])
        if not getattr(self.engine, "can_chat", False):
            raise _RequestFailed(
                400,
                f"the engine behind this voxnb serve ({self.engine.model}) cannot answer "
                "prompts about audio; use POST /v1/audio/transcriptions, or Mistral's API "
                "for chat",
            )
        if audio is None:
            raise _RequestFailed(
                400,
                "no audio part in the messages: add {'type': 'input_audio', 'input_audio': "
                "'<base64 or URL>'}",
            )
        samples = await self._decoded(audio)
        await self._inject(record)
        answer = await self._engine_call(self.engine.chat, samples, prompt)
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.engine.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": 0,
                    "completion_tokens": len(answer.split()),
                    "total_tokens": len(answer.split()),
                    "prompt_audio_seconds": int(len(samples) / 16000 + 0.999),
                },
            }
        )

    def _chat_inputs(self, messages: list[Any]) -> tuple[bytes | None, str]:
        audio: bytes | None = None
        texts: list[str] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _validation(
                    f"messages.{i}", "Input should be an object {role, content}", None, "dict_type"
                )
            content = message.get("content")
            if content is None or isinstance(content, str):
                parts = [{"type": "text", "text": content or ""}]
            elif isinstance(content, list):
                parts = content
            else:
                raise _validation(
                    f"messages.{i}.content",
                    "Input should be a string or a list of content parts",
                    None,
                    "type",
                )
            for j, part in enumerate(parts):
                where = f"messages.{i}.content.{j}"
                if not isinstance(part, dict):
                    raise _validation(where, "Input should be an object {type, ...}", None, "dict_type")
                kind = part.get("type")
                if kind == "text":
                    text = part.get("text", "")
                    if not isinstance(text, str):
                        raise _validation(
                            f"{where}.text", "Input should be a valid string", None, "string_type"
                        )
                    texts.append(text)
                elif kind in ("input_audio", "audio_url"):
                    value = part.get(kind)
                    if isinstance(value, dict):  # OpenAI {data, format} or {url}
                        value = value.get("data") or value.get("url")
                    if not isinstance(value, str) or not value:
                        raise _validation(
                            f"{where}.{kind}",
                            "Input should be base64 audio or a URL (a string)",
                            None,
                            "string_type",
                        )
                    if audio is None:
                        audio = self._chat_audio(value)
                else:
                    raise _validation(
                        f"{where}.type",
                        "Input should be 'text', 'input_audio' or 'audio_url'",
                        kind,
                        "literal_error",
                    )
        return audio, "\n".join(t for t in texts if t)

    def _chat_audio(self, value: str) -> bytes:
        if value.startswith(("http://", "https://")):
            return self._file_from_url(value)
        if value.startswith("data:"):
            value = value.partition(",")[2]
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _RequestFailed(400, "input_audio must be base64 of an audio file or an https URL") from None


def _json_body(raw: bytes) -> Any:
    """A JSON request body, refused (400) when it is not JSON or is nested absurdly deep."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: a few thousand nested brackets
        raise _RequestFailed(400, "the body must be JSON: {model, messages: [...]}") from None
    stack, depth_of = [(body, 1)], 0
    while stack:
        value, depth = stack.pop()
        depth_of = max(depth_of, depth)
        if depth_of > _MAX_JSON_DEPTH:
            raise _RequestFailed(400, f"the JSON body is nested deeper than {_MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return body


async def _read_form(request: Any, record: RecordedRequest) -> Any:
    from starlette.datastructures import UploadFile

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise _RequestFailed(400, f"expected multipart/form-data, got {content_type or 'no content type'!r}")
    try:
        form = await request.form(max_files=4, max_fields=400)
    except _BodyRefused:
        raise
    except Exception as err:  # malformed multipart: python-multipart raises several types
        raise _RequestFailed(400, f"could not parse the multipart body: {str(err)[:200]}") from None
    for key, value in form.multi_items():
        if (key == "file") != isinstance(value, UploadFile):
            what = "a file part (with a filename)" if key == "file" else "a text field, not a file"
            raise _validation(key, f"Input should be {what}", None, "type")
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.seek(0)
            value = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        record.fields.append((key, value))
    return form


def _summarised_chat(body: Any) -> Any:
    """The chat body with audio replaced by its size and hash (the recorder keeps no audio)."""

    def summarise(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("type") in ("input_audio", "audio_url"):
                raw = json.dumps(value.get(value["type"]), sort_keys=True)
                return {
                    "type": value["type"],
                    "size": len(raw),
                    "sha256": hashlib.sha256(raw.encode()).hexdigest(),
                }
            return {k: summarise(v) for k, v in value.items()}
        if isinstance(value, list):
            return [summarise(v) for v in value]
        return value

    return summarise(body)


async def _sse_events(result: dict[str, Any], granularities: list[str], *, cut: bool) -> Any:
    """Mistral's streaming frames for a finished result (``event:`` + ``data:``, no [DONE])."""

    def frame(payload: dict[str, Any]) -> str:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

    frames = []
    if result.get("language"):
        frames.append(frame({"type": "transcription.language", "audio_language": result["language"]}))
    pieces = [s["text"] for s in result.get("segments") or []] or [result.get("text", "")]
    for i, piece in enumerate(pieces):
        if piece:
            frames.append(frame({"type": "transcription.text.delta", "text": piece}))
        if "segment" in granularities and result.get("segments"):
            s = result["segments"][i]
            frames.append(
                frame(
                    {
                        "type": "transcription.segment",
                        "text": s["text"],
                        "start": s["start"],
                        "end": s["end"],
                        "speaker_id": s.get("speaker_id"),
                    }
                )
            )
    frames.append(frame({**result, "type": "transcription.done"}))
    for i, text in enumerate(frames):
        yield text
        if cut and i == 0:
            return  # injected: the stream breaks after its first event
        await asyncio.sleep(0)


@secret_api_key
def create_app(
    engine: Any,
    *,
    api_key: str | Secret | None = None,
    faults: FaultPlan | str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    recorder: RequestRecorder | bool | None = None,
    dialect: str = "mistral",
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_files: int = DEFAULT_MAX_FILES,
    max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
) -> Any:
    """The ASGI app of ``voxnb serve``.

    Parameters
    ----------
    engine : TranscriptionEngine
        What answers (see ``voxnb.local.protocol``).
    api_key : str, optional
        When set, requests need ``Authorization: Bearer <key>`` (or ``x-api-key``).
    faults : FaultPlan or str, optional
        Failures and latency to inject (see :class:`FaultPlan`).
    max_body_bytes : int
        Larger request bodies are answered with 413 without being read.
    recorder : RequestRecorder or bool, optional
        Where requests are recorded (``app.state.recorder``): by default a ring of the latest
        100; ``False`` records nothing; a test that needs every request passes
        ``RequestRecorder()``.
    dialect : {"mistral", "openai"}
        The HTTP protocol of the transcription route: Mistral's (the default), or vLLM's OpenAI
        dialect (``timestamp_granularities[]``, ``response_format``, text-only answers for
        Voxtral model names, no diarization or bias). ``GET /v1/models`` names the dialect in
        an ``x-voxnb-dialect`` header, which is how clients find it.
    body_timeout : float
        Seconds a request body may stall (no byte arriving) before the request is answered 408.
    max_files, max_stored_bytes : int
        How many files ``POST /v1/files`` keeps, and how many bytes together; past either an
        upload is refused (400) until ``DELETE /v1/files/{id}`` frees room.

    Returns
    -------
    starlette.applications.Starlette
        With ``app.state.engine``, ``app.state.recorder`` and ``app.state.faults``; append
        routes to ``app.router.routes`` to extend it.

    Examples
    --------
    >>> from voxnb.local.fake import FakeEngine
    >>> app = create_app(FakeEngine(), faults="429:0.1")
    >>> sorted({r.path for r in app.router.routes})[:2]
    ['/health', '/v1/audio/transcriptions']
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if not all(hasattr(engine, name) for name in ("model", "transcribe", "capabilities")):
        raise ParameterError(
            "engine= needs a transcription engine (model, transcribe(), capabilities), e.g. "
            "voxnb.serve.load_engine('fake'); got a " + type(engine).__name__,
            option="engine",
        )
    install_log_redaction(api_key)  # uvicorn's and websockets' debug logs print request headers
    if dialect not in DIALECTS:
        raise ParameterError(f"dialect must be one of {DIALECTS}; got {dialect!r}", option="dialect")
    body_timeout = check_seconds("body_timeout", body_timeout)
    for name, value in (
        ("max_body_bytes", max_body_bytes),
        ("max_files", max_files),
        ("max_stored_bytes", max_stored_bytes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be a whole number above 0; got {value!r}", option=name)
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
    if recorder is None or recorder is True:
        recorder = RequestRecorder(limit=DEFAULT_RECORDED)
    elif recorder is False:
        recorder = RequestRecorder(limit=0)
    elif not isinstance(recorder, RequestRecorder):
        raise ParameterError("recorder= takes a RequestRecorder, True or False", option="recorder")
    server = _Server(
        engine,
        api_key=api_key if isinstance(api_key, Secret) else Secret(api_key),  # wrapped by @secret_api_key
        faults=plan,
        recorder=recorder,
        dialect=dialect,
        max_files=max_files,
        max_stored_bytes=max_stored_bytes,
    )

    async def health(request: Any) -> Any:
        return JSONResponse({"status": "ok", "model": engine.model})

    async def models(request: Any, record: RecordedRequest) -> Any:
        return JSONResponse(
            {"object": "list", "data": [{"id": engine.model, "object": "model", "owned_by": "voxnb"}]},
            headers={"x-voxnb-dialect": dialect},
        )

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/audio/transcriptions", server.handler(server.transcriptions), methods=["POST"]),
        Route("/v1/files", server.handler(server.upload), methods=["POST"]),
        Route("/v1/files/{file_id}", server.handler(server.delete_file), methods=["DELETE"]),
        Route("/v1/files/{file_id}/url", server.handler(server.signed_url), methods=["GET"]),
        Route("/v1/files/{file_id}/content", server.handler(server.file_content), methods=["GET"]),
        Route("/v1/chat/completions", server.handler(server.chat), methods=["POST"]),
        Route("/v1/models", server.handler(models), methods=["GET"]),
    ]
    from voxnb.serve.batch import batch_routes
    from voxnb.serve.realtime import realtime_routes

    routes.extend(batch_routes(server))
    routes.extend(realtime_routes(engine, api_key=api_key))
    app = Starlette(
        routes=routes, middleware=[Middleware(_BodyLimit, limit=max_body_bytes, timeout=body_timeout)]
    )
    app.state.engine = engine
    app.state.recorder = recorder
    app.state.faults = plan
    app.state.files = server.files
    app.state.dialect = dialect
    return app
