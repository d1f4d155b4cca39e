"""A corpus of hostile inputs: every one is refused with a clear error, none escapes, none hangs.

Each case names its area (audio, parameters, responses, exports, bias, cli, server), what it
does, and what must come back: for Python calls a :class:`voxnb.VoxnbError` subclass whose
message holds a phrase; for the command line exit status 2 with ``voxnb <command>: <message>``
(what :func:`voxnb.cli.main` prints for a VoxnbError); for ``voxnb serve`` routes a 4xx status
whose body holds the phrase (never a 500), and for its realtime websocket an ``error`` event.
Some cases also check that nothing was sent (audio refused before upload), that an old file
survived a failed write, or that a message does not echo a credential.

Every case runs in a thread with a deadline, so a hang is reported as one. ``test_corpus_tally``
counts the outcomes (clear / other exception / silently accepted / hang); run this file as a
script for the table:

    python tests/test_bad_inputs.py
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import voxnb
from voxnb import (
    AudioError,
    AuthenticationError,
    ParameterError,
    ResponseFormatError,
    Transcript,
    TransportError,
    VoxnbError,
)
from voxnb.api.retry import RetryPolicy

DEADLINE = 30.0  # seconds a case may take before it counts as a hang


# ------------------------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    call: Callable[[Any], Any]
    #: an exception class, an HTTP status (int), "cli" (exit status 2) or "event" (websocket error)
    expect: Any
    phrase: str
    #: text that must not appear in the message (a credential, say)
    absent: str | None = None
    after: Callable[[Any], None] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return f"{self.area}-{self.name}"


CASES: list[Case] = []


def case(area: str, name: str, call: Callable[[Any], Any], expect: Any, phrase: str, **extra: Any) -> None:
    CASES.append(Case(area, name, call, expect, phrase, **extra))


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def opened(path: Path, mode: str, fn: Callable[[Any], Any]) -> Any:
    """*fn* of the file at *path* opened with *mode* (closed afterwards)."""
    with open(path, mode) as f:
        return fn(f)


# -- audio ---------------------------------------------------------------------------------------

A = "audio"
Audio = voxnb.Audio
noise = np.random.default_rng(0).uniform(-0.3, 0.3, 16000).astype("float32")

case(A, "load-missing", lambda r: Audio.load(r.dir / "nope.wav"), AudioError, "does not exist")
case(A, "load-folder", lambda r: Audio.load(r.dir), AudioError, "is a directory")
case(A, "load-empty-file", lambda r: Audio.load(r.empty), AudioError, "empty")
case(A, "load-empty-bytes", lambda r: Audio.load(b""), AudioError, "empty")
case(
    A, "load-text-bytes", lambda r: Audio.load(b"this is not audio at all" * 10), AudioError, "cannot decode"
)
case(A, "load-text-file", lambda r: Audio.load(r.text_wav), AudioError, "cannot decode")
case(A, "load-riff-junk", lambda r: Audio.load(b"RIFF\x00\x00\x00\x00WAVEjunk"), AudioError, "")
case(A, "load-truncated-wav", lambda r: Audio.load(r.truncated_wav), AudioError, "truncated")
case(A, "load-truncated-flac", lambda r: Audio.load(r.truncated_flac), AudioError, "truncated")
case(A, "load-truncated-mp3", lambda r: Audio.load(r.truncated_mp3), AudioError, "truncated")
case(A, "load-nan-wav", lambda r: Audio.load(r.nan_wav), AudioError, "NaN or infinite")
case(A, "load-inf-wav", lambda r: Audio.load(r.inf_wav), AudioError, "NaN or infinite")
case(A, "load-nan-bytes", lambda r: Audio.load(r.nan_wav.read_bytes()), AudioError, "NaN or infinite")
case(A, "load-header-only", lambda r: Audio.load(r.header_only), AudioError, "no audio samples")
case(A, "load-int", lambda r: Audio.load(5), AudioError, "cannot read audio from a int")
case(A, "load-none", lambda r: Audio.load(None), AudioError, "cannot read audio from a NoneType")
case(A, "load-list", lambda r: Audio.load([1, 2]), AudioError, "cannot read audio from a list")
case(A, "load-sr-zero", lambda r: Audio.load(r.good_wav, sr=0), ParameterError, "positive integer")
case(A, "load-sr-negative", lambda r: Audio.load(r.good_wav, sr=-16000), ParameterError, "positive integer")
case(A, "load-sr-float", lambda r: Audio.load(r.good_wav, sr=16000.5), ParameterError, "positive integer")
case(A, "load-sr-str", lambda r: Audio.load(r.good_wav, sr="16000"), ParameterError, "positive integer")
case(A, "load-sr-bool", lambda r: Audio.load(r.good_wav, sr=True), ParameterError, "positive integer")
case(
    A, "load-url-refused", lambda r: Audio.load("http://127.0.0.1:9/x.wav"), AudioError, "could not download"
)
case(A, "load-url-404", lambda r: Audio.load(r.url + "/nothing-here.wav"), AudioError, "could not download")
case(A, "load-text-mode-file", lambda r: opened(r.good_wav, "r", Audio.load), AudioError, "mode 'rb'")
case(A, "from-array-empty", lambda r: Audio.from_array(np.zeros(0, "float32"), 16000), AudioError, "no audio")
case(A, "from-array-3d", lambda r: Audio.from_array(np.zeros((2, 3, 4)), 16000), AudioError, "1-D or 2-D")
case(A, "from-array-strings", lambda r: Audio.from_array(np.array(["a", "b"]), 16000), AudioError, "numeric")
case(A, "from-array-complex", lambda r: Audio.from_array(np.ones(8, complex), 16000), AudioError, "numeric")
case(A, "from-array-bool", lambda r: Audio.from_array(np.ones(8, bool), 16000), AudioError, "numeric")
case(A, "from-array-object", lambda r: Audio.from_array(np.array([1, None]), 16000), AudioError, "numeric")
case(A, "from-array-nan", lambda r: Audio.from_array(np.r_[noise, np.nan], 16000), AudioError, "NaN")
case(A, "from-array-inf", lambda r: Audio.from_array(np.r_[noise, -np.inf], 16000), AudioError, "NaN")
case(A, "from-array-2d-empty", lambda r: Audio.from_array(np.zeros((2, 0)), 16000), AudioError, "no audio")
case(A, "from-array-sr-zero", lambda r: Audio.from_array(noise, 0), ParameterError, "sample rate")
case(A, "from-array-sr-none", lambda r: Audio.from_array(noise, None), ParameterError, "sample rate")
case(A, "from-array-sr-nan", lambda r: Audio.from_array(noise, float("nan")), ParameterError, "sample rate")
case(A, "from-array-scalar", lambda r: Audio.from_array(3.0, 16000), AudioError, "1-D or 2-D")
case(A, "slice-reversed", lambda r: r.audio.slice(0.8, 0.2), ParameterError, "before start")
case(A, "slice-nan", lambda r: r.audio.slice(float("nan")), ParameterError, "finite")
case(A, "slice-inf", lambda r: r.audio.slice(0, float("inf")), ParameterError, "finite")
case(A, "slice-outside", lambda r: r.audio.slice(50, 60), ParameterError, "holds no audio")
case(A, "slice-text", lambda r: r.audio.slice("a"), ParameterError, "seconds")
case(A, "slice-list", lambda r: r.audio.slice([1]), ParameterError, "seconds")
case(A, "resample-zero", lambda r: r.audio.resample(0), ParameterError, "sample rate")
case(A, "resample-text", lambda r: r.audio.resample("8k"), ParameterError, "sample rate")
case(A, "save-unknown-format", lambda r: r.audio.save(r.dir / "x.xyz"), AudioError, "not a format")
case(A, "save-no-extension", lambda r: r.audio.save(r.dir / "noext"), AudioError, "not a format")
case(A, "save-to-folder", lambda r: r.audio.save(r.dir / "folder.wav"), ParameterError, "is a folder")
case(A, "save-under-a-file", lambda r: r.audio.save(r.good_wav / "x.wav"), ParameterError, "is a file")
case(
    A, "save-bad-subtype", lambda r: r.audio.save(r.dir / "x.wav", subtype="BOGUS"), ParameterError, "subtype"
)
case(A, "save-none-path", lambda r: r.audio.save(None), ParameterError, "file path")
case(A, "play-too-long", lambda r: r.audio.play(max_duration=0.1), ParameterError, "max_duration")
case(A, "play-reversed", lambda r: r.audio.play(0.9, 0.1), ParameterError, "before start")
case(A, "envelope-zero", lambda r: r.audio.envelope(0), ParameterError, "columns")
case(A, "envelope-text", lambda r: r.audio.envelope("many"), ParameterError, "columns")
case(A, "spectrogram-kind", lambda r: r.audio.spectrogram(kind="cqt"), ParameterError, "'mel' or 'linear'")
case(A, "spectrogram-mels", lambda r: r.audio.spectrogram(n_mels=0), ParameterError, "n_mels")
case(A, "spectrogram-fft-text", lambda r: r.audio.spectrogram(n_fft="x"), ParameterError, "n_fft")
case(A, "spectrogram-frames", lambda r: r.audio.spectrogram(n_frames=0), ParameterError, "n_frames")
case(
    A,
    "spectrogram-frames-nan",
    lambda r: r.audio.spectrogram(n_frames=float("nan")),
    ParameterError,
    "n_frames",
)
case(A, "check-audible-silent", lambda r: r.silent_audio.check_audible(), AudioError, "silent")
case(A, "as-audio-bare-array", lambda r: voxnb.audio.as_audio(noise), AudioError, "no sample rate")
case(A, "as-audio-int", lambda r: voxnb.audio.as_audio(5), AudioError, "cannot use a int")
case(A, "as-audio-bad-rate", lambda r: voxnb.audio.as_audio((noise, 0)), ParameterError, "sample rate")

case(A, "from-array-ragged", lambda r: Audio.from_array([[1, 2], [3]], 16000), AudioError, "numeric array")
case(A, "from-array-sr-absurd", lambda r: Audio.from_array(noise, 10**12), ParameterError, "up to")
case(A, "load-sr-absurd", lambda r: Audio.load(r.good_wav, sr=10**9), ParameterError, "up to")
case(A, "from-array-mono-str", lambda r: Audio.from_array(noise, 16000, mono="yes"), ParameterError, "mono")
case(A, "load-mono-str", lambda r: Audio.load(r.good_wav, mono="no"), ParameterError, "mono")
case(A, "load-path-too-long", lambda r: Audio.load("x" * 5000 + ".wav"), AudioError, "cannot be opened")
case(A, "play-max-duration-str", lambda r: r.audio.play(max_duration="x"), ParameterError, "max_duration")
case(A, "spectrogram-fft-absurd", lambda r: r.audio.spectrogram(n_fft=10**9), ParameterError, "n_fft")
case(A, "spectrogram-mels-absurd", lambda r: r.audio.spectrogram(n_mels=10**6), ParameterError, "n_mels")
case(
    A, "spectrogram-frames-absurd", lambda r: r.audio.spectrogram(n_frames=10**9), ParameterError, "n_frames"
)


def no_request(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """*fn*, checked to have sent nothing to the server (refused before upload)."""

    def call(r: Any) -> Any:
        before = len(r.server.recorder)
        try:
            return fn(r)
        finally:
            if len(r.server.recorder) != before:
                raise AssertionError("a request reached the server before the input was refused")

    return call


for name, attr, phrase in [
    ("silent-path", "silent_wav", "silent"),
    ("silent-flac", "silent_flac", "silent"),
    ("truncated-path", "truncated_wav", "truncated"),
    ("truncated-flac-path", "truncated_flac", "truncated"),
    ("truncated-mp3-path", "truncated_mp3", "truncated"),
    ("nan-float-wav", "nan_wav", "NaN"),
    ("empty-file", "empty", "empty"),
    ("text-file", "text_wav", "not a recognised audio file"),
    ("header-only", "header_only", "no audio samples"),
    ("folder", "dir", "is a directory"),
]:
    case(
        A,
        f"transcribe-{name}",
        no_request(lambda r, a=attr: r.client.transcribe(getattr(r, a))),
        AudioError,
        phrase,
    )
case(
    A,
    "transcribe-silent-bytes",
    no_request(lambda r: r.client.transcribe(r.silent_wav.read_bytes())),
    AudioError,
    "silent",
)
case(
    A,
    "transcribe-silent-file-object",
    no_request(lambda r: opened(r.silent_wav, "rb", r.client.transcribe)),
    AudioError,
    "silent",
)
case(
    A,
    "transcribe-silent-audio",
    no_request(lambda r: r.client.transcribe(r.silent_audio)),
    AudioError,
    "silent",
)
case(A, "transcribe-array-no-rate", no_request(lambda r: r.client.transcribe(noise)), ParameterError, "sr=")
case(A, "transcribe-int", no_request(lambda r: r.client.transcribe(5)), AudioError, "cannot transcribe a int")
case(
    A,
    "transcribe-text-mode-file",
    no_request(lambda r: opened(r.good_wav, "r", r.client.transcribe)),
    AudioError,
    "mode 'rb'",
)
case(
    A,
    "transcribe-missing",
    no_request(lambda r: r.client.transcribe(r.dir / "nope.flac")),
    AudioError,
    "does not exist",
)
case(A, "upload-silent", no_request(lambda r: r.client.upload(r.silent_wav)), AudioError, "silent")
case(A, "upload-url", no_request(lambda r: r.client.upload("https://example.org/a.wav")), ParameterError, "")
case(A, "chat-silent", no_request(lambda r: r.client.chat(r.silent_wav, "who speaks?")), AudioError, "silent")
case(A, "local-silent", lambda r: voxnb.transcribe(r.silent_wav, backend="local"), AudioError, "silent")
case(A, "local-nan", lambda r: voxnb.transcribe(r.nan_wav, backend="local"), AudioError, "NaN")
case(
    A,
    "local-truncated",
    lambda r: voxnb.transcribe(r.truncated_wav, backend="local"),
    AudioError,
    "truncated",
)

# -- parameters ----------------------------------------------------------------------------------

P = "parameters"
Client = voxnb.Client
case(P, "client-key-int", lambda r: Client(api_key=123), ParameterError, "must be a string")
case(P, "client-key-space", lambda r: Client(api_key="sk 123"), ParameterError, "whitespace")
case(P, "client-key-newline", lambda r: Client(api_key="sk123\n"), ParameterError, "whitespace")
case(P, "client-key-bytes", lambda r: Client(api_key=b"sk"), ParameterError, "must be a string")
case(P, "client-base-url-int", lambda r: Client(base_url=5), ParameterError, "URL string")
case(P, "client-base-url-empty", lambda r: Client(base_url=""), ParameterError, "http(s) URL")
case(P, "client-base-url-ftp", lambda r: Client(base_url="ftp://user:hunter2@host"), ParameterError,
     "http(s) URL", absent="hunter2")  # fmt: skip
case(P, "client-base-url-port", lambda r: Client(base_url="http://user:hunter2@h:99999"), ParameterError,
     "http(s) URL", absent="hunter2")  # fmt: skip
case(P, "client-base-url-no-host", lambda r: Client(base_url="http://"), ParameterError, "http(s) URL")
case(P, "client-dialect", lambda r: Client(base_url=r.url, dialect="grpc"), ParameterError, "dialect")
case(P, "client-dialect-int", lambda r: Client(base_url=r.url, dialect=2), ParameterError, "dialect")
for value in [0, -1, "abc", float("nan"), float("inf"), True, None, 10**9]:
    case(
        P,
        f"client-timeout-{value!r}",
        lambda r, v=value: Client(base_url=r.url, timeout=v),
        ParameterError,
        "timeout",
    )
for value in [0, -5, "10"]:
    case(P, f"client-connect-timeout-{value!r}", lambda r, v=value: Client(base_url=r.url, connect_timeout=v),
         ParameterError, "connect_timeout")  # fmt: skip
for value in [0, -1, 1.5, "8", True, None]:
    case(P, f"client-max-connections-{value!r}", lambda r, v=value: Client(base_url=r.url, max_connections=v),
         ParameterError, "max_connections")  # fmt: skip
case(P, "client-retry-str", lambda r: Client(base_url=r.url, retry="x"), ParameterError, "RetryPolicy")
case(P, "client-retry-int", lambda r: Client(base_url=r.url, retry=3), ParameterError, "RetryPolicy")
case(P, "client-unknown-option", lambda r: Client(base_url=r.url, timout=5), ParameterError, "timeout")
case(P, "client-no-key-mistral", lambda r: Client(api_key=None, base_url="https://api.mistral.ai").transcribe(r.good_wav),
     AuthenticationError, "no API key")  # fmt: skip
for name, kwargs, phrase in [
    ("max-retries-str", {"max_retries": "3"}, "max_retries"),
    ("max-retries-negative", {"max_retries": -1}, "max_retries"),
    ("max-retries-float", {"max_retries": 1.5}, "max_retries"),
    ("max-retries-bool", {"max_retries": True}, "max_retries"),
    ("max-retries-none", {"max_retries": None}, "max_retries"),
    ("initial-backoff-negative", {"initial_backoff": -1}, "initial_backoff"),
    ("initial-backoff-nan", {"initial_backoff": float("nan")}, "initial_backoff"),
    ("initial-backoff-str", {"initial_backoff": "1"}, "initial_backoff"),
    ("max-backoff-inf", {"max_backoff": float("inf")}, "max_backoff"),
    ("multiplier-half", {"multiplier": 0.5}, "multiplier"),
    ("multiplier-none", {"multiplier": None}, "multiplier"),
    ("jitter-negative", {"jitter": -0.1}, "jitter"),
    ("max-retry-after-str", {"max_retry_after": "soon"}, "max_retry_after"),
    ("statuses-str", {"retry_statuses": "429"}, "retry_statuses"),
    ("statuses-200", {"retry_statuses": (200,)}, "retry_statuses"),
    ("statuses-bool", {"retry_statuses": (True,)}, "retry_statuses"),
    ("statuses-int", {"retry_statuses": 429}, "retry_statuses"),
]:
    case(P, f"retry-{name}", lambda r, k=kwargs: RetryPolicy(**k), ParameterError, phrase)
for name, options, phrase in [
    ("timestamps-bogus", {"timestamps": "sentence"}, "timestamps"),
    ("timestamps-int", {"timestamps": 3}, "timestamps"),
    ("diarize-str", {"diarize": "yes"}, "diarize"),
    ("context-bias-int", {"context_bias": 5}, "context_bias"),
    ("context-bias-space", {"context_bias": ["Janis Joplin"]}, "context_bias"),
    ("context-bias-comma", {"context_bias": ["a,b"]}, "context_bias"),
    ("context-bias-101", {"context_bias": [f"t{i}" for i in range(101)]}, "100"),
    ("context-bias-empty-term", {"context_bias": [""]}, "context_bias"),
    ("context-bias-none-term", {"context_bias": [None]}, "context_bias"),
    ("language-word", {"language": "english"}, "language"),
    ("language-int", {"language": 5}, "language"),
    ("language-with-timestamps", {"language": "en", "timestamps": "segment"}, "language"),
    ("temperature-nan", {"temperature": float("nan")}, "temperature"),
    ("temperature-inf", {"temperature": float("inf")}, "temperature"),
    ("temperature-negative", {"temperature": -1}, "temperature"),
    ("temperature-str", {"temperature": "hot"}, "temperature"),
    ("temperature-bool", {"temperature": True}, "temperature"),
    ("model-int", {"model": 5}, "model"),
    ("model-empty", {"model": ""}, "model"),
    ("words-bogus", {"words": "maybe"}, "words"),
    ("unknown-option", {"diarise": True}, "diarise"),
    ("num-speakers-without-diarize", {"num_speakers": 2}, "num_speakers"),
]:
    case(
        P,
        f"request-{name}",
        no_request(lambda r, o=options: r.client.transcribe(r.good_wav, **o)),
        ParameterError,
        phrase,
    )
for value in [0, -1, "8", 1.5, None]:
    case(P, f"many-concurrency-{value!r}", no_request(lambda r, v=value: r.client.transcribe_many([r.good_wav], concurrency=v, progress=False)),
         ParameterError, "concurrency")  # fmt: skip
case(
    P,
    "many-cache-int",
    lambda r: r.client.transcribe_many([r.good_wav], cache=5, progress=False),
    ParameterError,
    "cache",
)
case(P, "many-items-int", lambda r: r.client.transcribe_many(5, progress=False), ParameterError, "")
case(P, "many-items-none", lambda r: r.client.transcribe_many(None, progress=False), ParameterError, "")
case(P, "many-item-unknown-key", no_request(lambda r: r.client.transcribe_many({"a": {"audio": r.good_wav, "diarise": 1}}, progress=False)),
     ParameterError, "diarise")  # fmt: skip
for value in [0, 169, "24", 2.5]:
    case(
        P,
        f"signed-url-expiry-{value!r}",
        no_request(lambda r, v=value: r.client.signed_url("x", expiry=v)),
        ParameterError,
        "expiry",
    )
case(P, "chat-empty-prompt", no_request(lambda r: r.client.chat(r.good_wav, "")), ParameterError, "prompt")
case(P, "chat-prompt-int", no_request(lambda r: r.client.chat(r.good_wav, 5)), ParameterError, "prompt")
case(
    P,
    "chat-temperature-str",
    no_request(lambda r: r.client.chat(r.good_wav, "hi", temperature="warm")),
    ParameterError,
    "temperature",
)
case(
    P,
    "chat-temperature-nan",
    no_request(lambda r: r.client.chat(r.good_wav, "hi", temperature=float("nan"))),
    ParameterError,
    "temperature",
)
case(
    P,
    "chat-max-tokens-str",
    no_request(lambda r: r.client.chat(r.good_wav, "hi", max_tokens="many")),
    ParameterError,
    "max_tokens",
)
case(
    P,
    "chat-max-tokens-zero",
    no_request(lambda r: r.client.chat(r.good_wav, "hi", max_tokens=0)),
    ParameterError,
    "max_tokens",
)
case(
    P,
    "chat-model-int",
    no_request(lambda r: r.client.chat(r.good_wav, "hi", model=5)),
    ParameterError,
    "model",
)
case(
    P,
    "transcribe-backend-bogus",
    lambda r: voxnb.transcribe(r.good_wav, backend="cloud"),
    ParameterError,
    "backend",
)
case(
    P,
    "transcribe-local-with-url",
    lambda r: voxnb.transcribe(r.good_wav, backend="local", base_url=r.url),
    ParameterError,
    "base_url",
)
case(
    P,
    "transcribe-key-int",
    lambda r: voxnb.transcribe(r.good_wav, api_key=5),
    ParameterError,
    "must be a string",
)
case(
    P,
    "transcribe-num-speakers",
    lambda r: voxnb.transcribe(r.good_wav, backend="local", num_speakers=0),
    ParameterError,
    "num_speakers",
)
RS = voxnb.RealtimeSession
case(P, "realtime-base-url-int", lambda r: RS(5), ParameterError, "base_url")
case(
    P,
    "realtime-base-url-ftp",
    lambda r: RS("ftp://u:hunter2@h"),
    ParameterError,
    "http(s) URL",
    absent="hunter2",
)
case(P, "realtime-dialect", lambda r: RS(r.url, dialect="sip"), ParameterError, "dialect")
case(P, "realtime-engine-and-url", lambda r: RS(r.url, engine=object()), ParameterError, "not both")
case(P, "realtime-vllm-no-model", lambda r: RS(r.url, dialect="vllm"), ParameterError, "model=")
for name, value in [("reconnect-timeout-zero", {"reconnect_timeout": 0}), ("reconnect-timeout-str", {"reconnect_timeout": "30"}),
                    ("max-reconnects-zero", {"max_reconnects": 0}), ("max-reconnects-float", {"max_reconnects": 2.5}),
                    ("buffer-negative", {"max_buffer_seconds": -1}), ("buffer-nan", {"max_buffer_seconds": float("nan")}),
                    ("open-timeout-str", {"open_timeout": "10"}), ("finish-timeout-inf", {"finish_timeout": float("inf")})]:  # fmt: skip
    case(P, f"realtime-{name}", lambda r, v=value: RS(r.url, **v), ParameterError, next(iter(value)))
case(P, "realtime-unknown-option", lambda r: RS(r.url, diarise=True), ParameterError, "diarise")
case(
    P,
    "realtime-delay-negative",
    lambda r: RS(r.url, target_streaming_delay_ms=-5),
    ParameterError,
    "target_streaming_delay_ms",
)
case(
    P,
    "realtime-odd-bytes",
    lambda r: run(lambda: RS(r.url).send_audio(b"\x00\x01\x02")),
    ParameterError,
    "whole 16-bit",
)
case(
    P,
    "realtime-text-audio",
    lambda r: run(lambda: RS(r.url).send_audio("hello")),
    ParameterError,
    "takes PCM bytes",
)
case(
    P,
    "realtime-unreachable",
    lambda r: run(lambda: RS("http://127.0.0.1:9", open_timeout=2).connect()),
    TransportError,
    "could not reach",
)
case(
    P,
    "live-speed-zero",
    lambda r: voxnb.transcribe_realtime(r.good_wav, base_url=r.url, speed=0),
    ParameterError,
    "speed",
)
case(
    P,
    "live-speed-negative",
    lambda r: voxnb.transcribe_realtime(r.good_wav, base_url=r.url, speed=-2),
    ParameterError,
    "speed",
)
case(
    P,
    "live-chunk-zero",
    lambda r: voxnb.transcribe_realtime(r.good_wav, base_url=r.url, chunk_ms=0),
    ParameterError,
    "chunk_ms",
)
case(
    P,
    "live-chunk-str",
    lambda r: voxnb.transcribe_realtime(r.good_wav, base_url=r.url, chunk_ms="100"),
    ParameterError,
    "chunk_ms",
)
case(
    P,
    "live-source-int",
    lambda r: voxnb.transcribe_realtime(5, base_url=r.url),
    AudioError,
    "cannot use a int",
)
case(P, "concat-level", lambda r: voxnb.concat({"a": r.t}, level="phrases"), ParameterError, "level")
case(P, "concat-empty", lambda r: voxnb.concat({}), ParameterError, "at least one")
case(P, "concat-list", lambda r: voxnb.concat([r.t]), ParameterError, "dict of name")
case(
    P,
    "from-response-granularity",
    lambda r: Transcript.from_response({"text": "a"}, granularity="line"),
    ResponseFormatError,
    "granularity",
)
case(
    P,
    "from-response-backend-int",
    lambda r: Transcript.from_response({"text": "a"}, backend=5),
    ParameterError,
    "backend",
)
case(
    P,
    "from-response-request-list",
    lambda r: Transcript.from_response({"text": "a"}, request=[1]),
    ParameterError,
    "request",
)
case(
    P,
    "from-response-audio-str",
    lambda r: Transcript.from_response({"text": "a"}, audio="a.wav"),
    ParameterError,
    "voxnb.Audio",
)
case(P, "plot-without-audio", lambda r: r.t.plot(), ParameterError, "keeps no audio")
case(P, "with-words-int", lambda r: r.t.with_words(5), ParameterError, "DataFrame")
case(
    P,
    "with-words-missing-column",
    lambda r: r.t.with_words(r.t.words.drop(columns="timing")),
    ParameterError,
    "timing",
)
case(
    P,
    "with-words-negative",
    lambda r: r.t.with_words(r.t.words.assign(start=-1.0)),
    ParameterError,
    "0 or more",
)
case(P, "with-words-inf", lambda r: r.t.with_words(r.t.words.assign(end=np.inf)), ParameterError, "0 or more")
case(
    P,
    "with-words-reversed",
    lambda r: r.t.with_words(r.t.words.assign(start=5.0, end=1.0)),
    ParameterError,
    "ends before",
)
case(
    P,
    "with-words-segment-float",
    lambda r: r.t.with_words(r.t.words.assign(segment=0.5)),
    ParameterError,
    "segment",
)
case(
    P,
    "with-words-segment-out",
    lambda r: r.t.with_words(r.t.words.assign(segment=99)),
    ParameterError,
    "segment",
)
case(
    P,
    "with-words-timing",
    lambda r: r.t.with_words(r.t.words.assign(timing="guessed")),
    ParameterError,
    "timing",
)
case(
    P,
    "with-words-text-times",
    lambda r: r.t.with_words(r.t.words.assign(start="0")),
    ParameterError,
    "numbers",
)
case(P, "load-transcript-int", lambda r: voxnb.load_transcript(5), ParameterError, "file path")
case(
    P,
    "load-transcript-missing",
    lambda r: voxnb.load_transcript(r.dir / "none.json"),
    ParameterError,
    "no such file",
)
case(P, "load-transcript-folder", lambda r: voxnb.load_transcript(r.dir), ParameterError, "no such file")
case(P, "bias-terms-int", lambda r: voxnb.bias_terms([5]), ParameterError, "takes strings")
case(P, "bias-terms-empty", lambda r: voxnb.bias_terms([" , "]), ParameterError, "empty phrase")
case(P, "bias-terms-not-iterable", lambda r: voxnb.bias_terms(5), ParameterError, "strings")
case(
    P,
    "create-app-dialect",
    lambda r: voxnb.serve.create_app(r.engine, dialect="grpc"),
    ParameterError,
    "dialect",
)
case(
    P,
    "create-app-body-timeout",
    lambda r: voxnb.serve.create_app(r.engine, body_timeout=0),
    ParameterError,
    "body_timeout",
)
case(
    P,
    "create-app-max-files",
    lambda r: voxnb.serve.create_app(r.engine, max_files=0),
    ParameterError,
    "max_files",
)
case(
    P,
    "create-app-recorder",
    lambda r: voxnb.serve.create_app(r.engine, recorder="all"),
    ParameterError,
    "recorder",
)
case(
    P,
    "create-app-faults",
    lambda r: voxnb.serve.create_app(r.engine, faults="429:2"),
    ParameterError,
    "fault",
)
case(
    P,
    "create-app-faults-sum",
    lambda r: voxnb.serve.create_app(r.engine, faults="429:0.6,500:0.6"),
    ParameterError,
    "more than 1",
)
case(
    P,
    "create-app-key-space",
    lambda r: voxnb.serve.create_app(r.engine, api_key="a b"),
    ParameterError,
    "whitespace",
)
case(P, "serve-port", lambda r: voxnb.serve.serve(port=70000, engine=r.engine), ParameterError, "port")
case(P, "serve-host", lambda r: voxnb.serve.serve(host="", engine=r.engine), ParameterError, "host")
case(
    P,
    "serve-header-timeout",
    lambda r: voxnb.serve.serve(header_timeout=0, engine=r.engine, port=1),
    ParameterError,
    "header_timeout",
)
case(P, "serve-engine", lambda r: voxnb.serve.load_engine("gpu"), ParameterError, "engine")
case(P, "recorder-limit", lambda r: voxnb.serve.RequestRecorder(limit=-1), ParameterError, "limit")
case(P, "open-cache-int", lambda r: voxnb.cache.open_cache(5), ParameterError, "cache")

case(P, "compare-int", lambda r: r.t.compare(5), ParameterError, "another Transcript")
case(P, "plot-start-str", lambda r: r.t.plot(r.audio, start="a"), ParameterError, "start=")
case(P, "plot-window-reversed", lambda r: r.t.plot(r.audio, start=1.5, end=0.5), ParameterError, "not after")
case(P, "many-progress-str", no_request(lambda r: r.client.transcribe_many([r.good_wav], progress="yes", cache=False)),
     ParameterError, "progress")  # fmt: skip
case(P, "create-app-engine-none", lambda r: voxnb.serve.create_app(None), ParameterError, "engine")
case(P, "faults-int", lambda r: voxnb.serve.FaultPlan.parse(5), ParameterError, "spec string")
case(P, "server-thread-none", lambda r: voxnb.serve.ServerThread(None), ParameterError, "ASGI app")

# -- responses -----------------------------------------------------------------------------------

R = "responses"


def seg(**fields: Any) -> dict:
    return {"text": "x", "segments": [{"text": "hello", "start": 0.0, "end": 1.0, **fields}]}


for name, fields, phrase in [
    ("reversed", {"start": 3.0, "end": -2.0}, "segments[0]"),
    ("reversed-positive", {"start": 3.0, "end": 2.0}, "segments[0].end"),
    ("negative-start", {"start": -1.0}, "segments[0].start"),
    ("negative-end", {"start": 0.0, "end": -0.5}, "segments[0].end"),
    ("bool-start", {"start": True}, "segments[0].start"),
    ("bool-end", {"end": False}, "segments[0].end"),
    ("inf-start", {"start": float("inf")}, "segments[0].start"),
    ("minus-inf-end", {"end": float("-inf")}, "segments[0].end"),
    ("huge-end", {"end": 1e300}, "segments[0].end"),
    ("huge-int-end", {"end": 2**80}, "segments[0].end"),
    ("string-start", {"start": "0.5"}, "segments[0].start"),
    ("list-end", {"end": [1]}, "segments[0].end"),
    ("dict-start", {"start": {"s": 1}}, "segments[0].start"),
    ("bool-score", {"score": True}, "segments[0].score"),
    ("inf-score", {"score": float("inf")}, "segments[0].score"),
    ("text-score", {"score": "high"}, "segments[0].score"),
    ("speaker-dict", {"speaker_id": {"id": 1}}, "segments[0].speaker_id"),
    ("speaker-list", {"speaker_id": ["a"]}, "segments[0].speaker_id"),
    ("speaker-bool", {"speaker_id": True}, "segments[0].speaker_id"),
    ("text-list", {"text": ["a"]}, "segments[0].text"),
    ("text-int", {"text": 7}, "segments[0].text"),
    ("text-surrogate", {"text": "caf\ud800"}, "segments[0].text"),
    ("words-not-list", {"words": "hello"}, "segments[0].words"),
    ("words-not-objects", {"words": [1, 2]}, "segments[0].words[0]"),
    ("word-reversed", {"words": [{"word": "a", "start": 0.9, "end": 0.1}]}, "words"),
    ("word-negative", {"words": [{"word": "a", "start": -0.2, "end": 0.1}]}, "words"),
    ("word-bool-time", {"words": [{"word": "a", "start": 0.1, "end": True}]}, "words"),
    ("word-text-int", {"words": [{"word": 5, "start": 0.1, "end": 0.2}]}, "words"),
]:
    case(
        R,
        f"segment-{name}",
        lambda r, f=fields: Transcript.from_response(seg(**f)),
        ResponseFormatError,
        phrase,
    )
for name, response, phrase in [
    ("duration-negative", {"text": "a", "duration": -3}, "duration"),
    ("duration-bool", {"text": "a", "duration": True}, "duration"),
    ("duration-word", {"text": "a", "duration": "long"}, "duration"),
    ("duration-inf", {"text": "a", "duration": float("inf")}, "duration"),
    ("duration-list", {"text": "a", "duration": [3]}, "duration"),
    ("usage-list", {"text": "a", "usage": [1]}, "usage"),
    ("language-int", {"text": "a", "language": 5}, "language"),
    ("model-list", {"text": "a", "model": ["m"]}, "model"),
    ("text-int", {"text": 42}, "text"),
    ("text-dict", {"text": {"a": 1}}, "text"),
    ("text-surrogate", {"text": "\udcff"}, "text"),
    ("segments-dict", {"text": "a", "segments": {"0": {}}}, "segments"),
    ("segments-strings", {"text": "a", "segments": ["hello"]}, "segments[0]"),
    ("no-text-no-segments", {"foo": 1}, "'text'"),
    (
        "verbose-words-reversed",
        {
            "task": "transcribe",
            "text": "a",
            "duration": 2.0,
            "segments": [],
            "words": [{"word": "a", "start": 1.0, "end": 0.5}],
        },
        "words[0].end",
    ),
    ("verbose-text-int", {"task": "transcribe", "text": 1, "segments": []}, "text"),
    (
        "verbose-duration-text",
        {"task": "transcribe", "text": "a", "duration": "abc", "segments": []},
        "duration",
    ),
    (
        "whisperx-bool-score",
        {
            "segments": [
                {
                    "text": "a",
                    "start": 0,
                    "end": 1,
                    "words": [{"word": "a", "start": 0, "end": 1, "score": True}],
                }
            ],
            "word_segments": [],
        },
        "score",
    ),
    ("whisperx-word-segments-dict", {"segments": [], "word_segments": {"a": 1}}, "word_segments"),
    ("vllm-usage-seconds", {"text": "a", "usage": {"type": "duration", "seconds": -5}}, "usage.seconds"),
    ("vllm-text-list", {"text": ["a"], "usage": {"type": "duration", "seconds": 1}}, "text"),
    ("event-delta-int", [{"type": "transcription.text.delta", "text": 5}], "text"),
    (
        "event-segment-reversed",
        [{"type": "transcription.segment", "text": "a", "start": 2, "end": 1}],
        "segments[0].end",
    ),
    (
        "event-language-int",
        [
            {"type": "transcription.language", "audio_language": 5},
            {"type": "transcription.done", "text": "a"},
        ],
        "audio_language",
    ),
    ("events-mixed", [{"type": "transcription.text.delta", "text": "a"}, "oops"], "events[1]"),
    ("vllm-chunk-choices", [{"object": "transcription.chunk", "choices": "x"}], "choices"),
    (
        "vllm-chunk-content",
        [{"object": "transcription.chunk", "choices": [{"delta": {"content": 5}}]}],
        "content",
    ),
    ("word-granularity-reversed", None, "segments[0].end"),
    ("top-int", 5, "cannot read a int"),
    ("top-float", 3.5, "cannot read a float"),
    ("top-none", None, "cannot read a NoneType"),
    ("list-of-plain-objects", [{"start": 5}], "neither segments"),
    (
        "sdk-object-broken",
        type("Broken", (), {"model_dump": lambda self, **k: 1 / 0})(),
        "model_dump() failed",
    ),
    ("top-set", {1, 2}, "cannot read a set"),
    ("top-generator-of-ints", (i for i in range(3)), "cannot read a list"),
    ("top-list-ints", [1, 2], "cannot read"),
    ("json-invalid", "{not json", "not valid JSON"),
    ("json-nested", "[" * 5000 + "]" * 5000, "not valid JSON"),
    ("bytes-binary", b"\x00\xff\x10garbage", "not valid JSON"),
    ("json-nan", '{"text": "a", "segments": [{"text": "a", "start": NaN, "end": 1}]}', "not valid JSON"),
    ("path-missing", "/no/such/response.json", "existing .json file"),
    ("path-long", "x" * 5000, "existing .json file"),
    ("path-nul", "a\0b", "existing .json file"),
]:
    if name == "word-granularity-reversed":
        call = lambda r: Transcript.from_response(  # noqa: E731
            {"segments": [{"text": "a", "start": 1.0, "end": 0.2}]}, granularity="word"
        )
    else:
        call = lambda r, x=response: Transcript.from_response(x)  # noqa: E731
    case(R, name, call, ResponseFormatError, phrase)
case(R, "path-folder", lambda r: Transcript.from_response(r.dir), ResponseFormatError, "existing .json file")
case(
    R,
    "faster-whisper-info",
    lambda r: Transcript.from_response(([], SimpleNamespace(language=5, duration=1.0, _asdict=None))),
    ResponseFormatError,
    "",
)
for name, saved, phrase in [
    ("no-raw", {"format": "voxnb.transcript", "version": 1}, "'raw'"),
    ("version-text", {"format": "voxnb.transcript", "version": "1", "raw": {"text": "a"}}, "version"),
    ("version-future", {"format": "voxnb.transcript", "version": 99, "raw": {"text": "a"}}, "newer voxnb"),
    ("source-int", {"format": "voxnb.transcript", "version": 1, "raw": {"text": "a"}, "source": 5}, "source"),
    (
        "request-list",
        {"format": "voxnb.transcript", "version": 1, "raw": {"text": "a"}, "request": [1]},
        "request",
    ),
    (
        "words-short",
        {
            "format": "voxnb.transcript",
            "version": 1,
            "raw": {"text": "a b"},
            "words": {
                "segment": [0],
                "start": [],
                "end": [],
                "text": [],
                "speaker": [],
                "score": [],
                "timing": [],
            },
        },
        "differ in length",
    ),
    (
        "words-not-dict",
        {"format": "voxnb.transcript", "version": 1, "raw": {"text": "a"}, "words": [1]},
        "words",
    ),
    (
        "words-bad-time",
        {
            "format": "voxnb.transcript",
            "version": 1,
            "raw": {"text": "a"},
            "words": {
                "segment": [0],
                "start": ["x"],
                "end": [1.0],
                "text": ["a"],
                "speaker": [None],
                "score": [None],
                "timing": ["api"],
            },
        },
        "words[0].start",
    ),
    (
        "raw-bad",
        {"format": "voxnb.transcript", "version": 1, "raw": {"segments": [{"start": -1}]}},
        "segments[0].start",
    ),
]:
    case(R, f"saved-{name}", lambda r, d=saved: Transcript.from_dict(d), ResponseFormatError, phrase)
case(
    R, "load-saved-file-broken", lambda r: voxnb.load_transcript(r.broken_saved), ResponseFormatError, "words"
)
case(
    R, "load-binary-file", lambda r: voxnb.load_transcript(r.good_wav), ResponseFormatError, "not valid JSON"
)

# -- exports -------------------------------------------------------------------------------------

E = "exports"
for fmt in ("to_srt", "to_vtt"):
    for value in [0, -1, "x", True, 1.5]:
        case(
            E,
            f"{fmt}-max-chars-{value!r}",
            lambda r, f=fmt, v=value: getattr(r.t, f)(max_chars=v),
            ParameterError,
            "max_chars",
        )
    case(
        E, f"{fmt}-speakers-str", lambda r, f=fmt: getattr(r.t, f)(speakers="yes"), ParameterError, "speakers"
    )
    case(E, f"{fmt}-untimed", lambda r, f=fmt: getattr(r.untimed, f)(), ParameterError, "needs segment times")
    case(E, f"{fmt}-folder", lambda r, f=fmt: getattr(r.t, f)(r.dir), ParameterError, "is a folder")
    case(
        E,
        f"{fmt}-under-file",
        lambda r, f=fmt: getattr(r.t, f)(r.good_wav / "x"),
        ParameterError,
        "is a file",
    )
    case(E, f"{fmt}-empty-path", lambda r, f=fmt: getattr(r.t, f)(""), ParameterError, "usable file name")
    case(E, f"{fmt}-bytes-path", lambda r, f=fmt: getattr(r.t, f)(b"out.srt"), ParameterError, "file path")
for name, call, phrase in [
    ("rttm-uri-empty", lambda r: r.t.to_rttm(uri=""), "uri"),
    ("rttm-uri-int", lambda r: r.t.to_rttm(uri=5), "uri"),
    ("rttm-uri-none", lambda r: r.t.to_rttm(uri=None), "uri"),
    ("rttm-untimed", lambda r: r.untimed.to_rttm(), "needs segment times"),
    ("rttm-folder", lambda r: r.t.to_rttm(r.dir), "is a folder"),
    ("seglst-session-int", lambda r: r.t.to_seglst(session_id=5), "session_id"),
    ("seglst-session-empty", lambda r: r.t.to_seglst(session_id=""), "session_id"),
    ("seglst-folder", lambda r: r.t.to_seglst(r.dir), "is a folder"),
    ("textgrid-untimed", lambda r: r.untimed.to_textgrid(), "needs segment times"),
    ("textgrid-folder", lambda r: r.t.to_textgrid(r.dir), "is a folder"),
    ("textgrid-under-file", lambda r: r.t.to_textgrid(r.good_wav / "t.TextGrid"), "is a file"),
    ("pyannote-untimed", lambda r: r.untimed.to_pyannote(), "needs segment times"),
    ("pyannote-uri-int", lambda r: r.t.to_pyannote(uri=5), "uri"),
    ("function-given-dict", lambda r: voxnb.export.to_srt({"text": "a"}), "voxnb.Transcript"),
    ("function-given-none", lambda r: voxnb.export.to_rttm(None), "voxnb.Transcript"),
    ("save-folder", lambda r: r.t.save(r.dir), "is a folder"),
    ("save-int-path", lambda r: r.t.save(5), "file path"),
    ("save-under-file", lambda r: r.t.save(r.good_wav / "t.json"), "is a file"),
]:
    case(E, name, call, ParameterError, phrase)


def intact(path_attr: str) -> Callable[[Any], None]:
    def check(r: Any) -> None:
        path = getattr(r, path_attr)
        assert path.read_text() == "the old content\n", f"{path} was damaged by a failed write"
        leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp") or ".tmp" in p.name]
        assert not leftovers, f"temporary files left behind: {leftovers}"

    return check


case(
    E,
    "srt-bad-option-keeps-old-file",
    lambda r: r.t.to_srt(r.old_srt, max_chars=0),
    ParameterError,
    "max_chars",
    after=intact("old_srt"),
)
case(
    E,
    "vtt-bad-option-keeps-old-file",
    lambda r: r.t.to_vtt(r.old_srt, speakers=None),
    ParameterError,
    "speakers",
    after=intact("old_srt"),
)
case(
    E,
    "rttm-bad-uri-keeps-old-file",
    lambda r: r.t.to_rttm(r.old_srt, uri=" "),
    ParameterError,
    "uri",
    after=intact("old_srt"),
)
case(
    E,
    "seglst-bad-id-keeps-old-file",
    lambda r: r.t.to_seglst(r.old_srt, session_id=5),
    ParameterError,
    "session_id",
    after=intact("old_srt"),
)
case(
    E,
    "textgrid-untimed-keeps-old-file",
    lambda r: r.untimed.to_textgrid(r.old_srt),
    ParameterError,
    "segment times",
    after=intact("old_srt"),
)
case(E, "with-words-surrogate", lambda r: r.t.with_words(r.t.words.assign(text=r.objects(["caf\ud800"] * len(r.t.words)))),
     ParameterError, "lone surrogate")  # fmt: skip
case(
    E,
    "with-words-speaker-int",
    lambda r: r.t.with_words(r.t.words.assign(speaker=5)),
    ParameterError,
    "speaker",
)
case(
    E,
    "save-nan-raw-keeps-old-file",
    lambda r: r.nan_raw.save(r.old_srt),
    ResponseFormatError,
    "segments[0].start",
    after=intact("old_srt"),
)
case(
    E,
    "save-inf-request",
    lambda r: r.t_with_request({"temperature": float("inf")}).save(r.old_srt),
    ResponseFormatError,
    "request.temperature",
    after=intact("old_srt"),
)
case(
    E,
    "save-deep-raw",
    lambda r: r.deep_raw.save(r.old_srt),
    ResponseFormatError,
    "nested",
    after=intact("old_srt"),
)
case(
    E,
    "save-huge-int",
    lambda r: r.huge_int_raw.save(r.old_srt),
    ResponseFormatError,
    "would not read back",
    after=intact("old_srt"),
)
case(
    E,
    "save-set-in-request",
    lambda r: r.t_with_request({"tags": {1, 2}}).save(r.old_srt),
    ResponseFormatError,
    "set",
    after=intact("old_srt"),
)
case(E, "audio-save-bad-subtype-keeps-old", lambda r: r.audio.save(r.old_wav, subtype="PCM_99"), ParameterError, "subtype",
     after=lambda r: Audio.load(r.old_wav))  # fmt: skip

# -- the bias lab ----------------------------------------------------------------------------------

B = "bias"
from voxnb import bias  # noqa: E402

for name, call, phrase in [
    ("score-string-refs", lambda r: bias.score("one string", ["x"]), "list of reference texts"),
    ("score-length-mismatch", lambda r: bias.score(["a", "b"], ["a"]), "2 references but 1"),
    ("score-bias-mismatch", lambda r: bias.score(["a"], ["a"], [["x"], ["y"]]), "bias list entries"),
    ("score-convention", lambda r: bias.score(["a"], ["a"], convention="everything"), "convention must be"),
    ("score-bias-string", lambda r: bias.score(["a"], ["a"], "Oban"), "not a single string"),
    ("score-ids-differ", lambda r: bias.score({"u1": "a"}, {"u2": "a"}), "no hypothesis"),
    ("score-hyp-int", lambda r: bias.score(["a"], [3]), "must be a str or a Transcript"),
    ("score-ref-none", lambda r: bias.score([None], ["a"]), "must be a str or a Transcript"),
    ("score-refs-none", lambda r: bias.score(None, ["x"]), "refs must be a list"),
    ("score-bias-int", lambda r: bias.score(["a"], ["a"], 5), "bias must be a list"),
    ("score-bias-list-int", lambda r: bias.score(["a"], ["a"], [5]), "list of strings"),
    ("score-normalizer", lambda r: bias.score(["a"], ["a"], normalizer="klingon"), "normali"),
    (
        "score-normalizer-returns-none",
        lambda r: bias.score(["a"], ["a"], normalizer=lambda s: None),
        "not str",
    ),
    ("bootstrap-not-score", lambda r: bias.bootstrap(5), "BiasScore"),
    ("bootstrap-n-zero", lambda r: bias.bootstrap(r.score, n_boot=0), "n_boot"),
    ("bootstrap-n-str", lambda r: bias.bootstrap(r.score, n_boot="many"), "n_boot"),
    ("bootstrap-ci", lambda r: bias.bootstrap(r.score, ci=1.5), "ci must be"),
    ("bootstrap-ci-nan", lambda r: bias.bootstrap(r.score, ci=float("nan")), "ci must be"),
    ("bootstrap-measure", lambda r: bias.bootstrap(r.score, measures=["accuracy"]), "unknown measure"),
    ("bootstrap-blocks-length", lambda r: bias.bootstrap(r.score, blocks=["a"]), "block labels"),
    ("bootstrap-seed-str", lambda r: bias.bootstrap(r.score, seed="s"), "seed"),
    ("compare-mismatch", lambda r: bias.compare(r.score, bias.score(["a"], ["a"])), ""),
    ("tsv-int-path", lambda r: bias.read_biasing_tsv(5), "path of a TSV"),
    ("bootstrap-n-absurd", lambda r: bias.bootstrap(r.score, n_boot=10**12), "n_boot"),
    ("experiment-items-int", lambda r: bias.Experiment(5, ["none"]), "items must be a list"),
    ("experiment-seed-str", lambda r: bias.Experiment(r.items, ["none"], seed="x"), "seed"),
    ("plot-forest-int", lambda r: bias.plot_forest(5), "DataFrame"),
    ("plot-heatmap-list", lambda r: bias.plot_term_heatmap([1]), "DataFrame"),
    ("tsv-missing", lambda r: bias.read_biasing_tsv(r.dir / "none.tsv"), "no biasing TSV"),
    ("tsv-columns", lambda r: bias.read_biasing_tsv(r.bad_tsv), "tab-separated columns"),
    ("tsv-json", lambda r: bias.read_biasing_tsv(r.bad_json_tsv), "JSON lists"),
    ("tsv-list-of-ints", lambda r: bias.read_biasing_tsv(r.ints_tsv), "list of strings"),
    ("experiment-no-items", lambda r: bias.Experiment([], ["none"]), "at least one item"),
    ("experiment-conditions-str", lambda r: bias.Experiment(r.items, "none"), "conditions must be a list"),
    ("experiment-no-conditions", lambda r: bias.Experiment(r.items, []), "at least one condition"),
    ("experiment-convention", lambda r: bias.Experiment(r.items, ["none"], convention="x"), "convention"),
    ("experiment-distractors", lambda r: bias.Experiment(r.items, ["none"], distractors=5), "distractors"),
    ("experiment-condition-spec", lambda r: bias.Experiment(r.items, {"x": 5}), ""),
    (
        "experiment-duplicate-items",
        lambda r: bias.Experiment([r.items[0], r.items[0]], ["none"]),
        "unique name",
    ),
    (
        "experiment-item-keys",
        lambda r: bias.Experiment([{"name": "a", "reference": "x", "colour": 1}], ["none"]),
        "unknown keys",
    ),
    ("experiment-key-int", lambda r: bias.Experiment(r.items, ["none"], api_key=5), "must be a string"),
    ("plot-measures-wrong-table", lambda r: bias.plot_measures(r.t.segments), "lacks the column"),
    ("align-pair-string", lambda r: bias.align_batch("a b", "a"), "token lists"),
]:
    case(B, name, call, ParameterError, phrase)

# -- the command line ------------------------------------------------------------------------------

CLI = "cli"


def cli(*argv: str) -> Callable[[Any], Any]:
    def call(r: Any) -> Any:
        from voxnb.cli import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main([str(a).format(**vars(r)) for a in argv])
        return code, err.getvalue()

    return call


for name, argv, phrase in [
    ("transcribe-missing", ("transcribe", "{dir}/missing.wav", "--backend", "local"), "no such file"),
    ("transcribe-folder-without-audio", ("transcribe", "{dir}/old", "--backend", "local"), "no audio files"),
    ("transcribe-name-too-long", ("transcribe", "x" * 5000, "--backend", "local"), "cannot be read"),
    ("transcribe-glob-nothing", ("transcribe", "{dir}/*.nothing", "--backend", "local"), "matches no file"),
    ("transcribe-formats", ("transcribe", "{good_wav}", "--formats", "docx"), "unknown format"),
    ("transcribe-concurrency", ("transcribe", "{good_wav}", "--concurrency", "0"), "--concurrency"),
    ("transcribe-silent", ("transcribe", "{silent_wav}", "--backend", "local"), "silent"),
    ("transcribe-truncated", ("transcribe", "{truncated_wav}", "--backend", "local"), "truncated"),
    ("transcribe-nan", ("transcribe", "{nan_wav}", "--backend", "local"), "NaN"),
    ("transcribe-text", ("transcribe", "{text_wav}", "--backend", "local"), "cannot decode"),
    (
        "transcribe-out-one-file-two-inputs",
        ("transcribe", "{good_wav}", "{old_wav}", "--out", "{dir}/o.srt"),
        "names one file",
    ),
    (
        "transcribe-out-folder",
        ("transcribe", "{good_wav}", "--backend", "local", "--out", "{dir}/folder.wav.srt"),
        "is a folder",
    ),
    (
        "transcribe-out-under-file",
        ("transcribe", "{good_wav}", "--backend", "local", "--out", "{good_wav}/x.srt"),
        "is a file",
    ),
    ("transcribe-base-url", ("transcribe", "{good_wav}", "--base-url", "ftp://u:hunter2@h"), "http(s) URL"),
    (
        "transcribe-language",
        ("transcribe", "{good_wav}", "--backend", "local", "--language", "english"),
        "language",
    ),
    (
        "transcribe-num-speakers",
        ("transcribe", "{good_wav}", "--backend", "local", "--num-speakers", "0"),
        "num_speakers",
    ),
    (
        "transcribe-bias-comma",
        ("transcribe", "{good_wav}", "--base-url", "{url}", "--context-bias", "a,b"),
        "context_bias",
    ),
    ("serve-port", ("serve", "--engine", "fake", "--port", "70000"), "port"),
    ("serve-faults", ("serve", "--engine", "fake", "--faults", "teapot:1"), "cannot read fault"),
    ("serve-max-body", ("serve", "--engine", "fake", "--max-body-mb", "-1"), "--max-body-mb"),
    ("serve-header-timeout", ("serve", "--engine", "fake", "--header-timeout", "0"), "header_timeout"),
    ("serve-body-timeout-nan", ("serve", "--engine", "fake", "--body-timeout", "nan"), "body_timeout"),
    ("serve-keep-alive", ("serve", "--engine", "fake", "--keep-alive", "-3"), "keep_alive"),
    ("demo-out-file", ("demo", "--out", "{good_wav}", "--no-notebook"), "is a file"),
]:
    case(CLI, name, cli(*argv), "cli", phrase, absent="hunter2")

# -- voxnb serve's routes --------------------------------------------------------------------------

S = "server"
T = "/v1/audio/transcriptions"


def http(method: str, path: str, *, server: str = "server", **kwargs: Any) -> Callable[[Any], Any]:
    def call(r: Any) -> Any:
        import httpx

        kwargs_ = {k: (v(r) if callable(v) else v) for k, v in kwargs.items()}
        return httpx.request(method, getattr(r, server).url + path, timeout=20, **kwargs_)

    return call


def wav(attr: str = "good_wav") -> Callable[[Any], Any]:
    return lambda r: getattr(r, attr).read_bytes()


def post_form(
    path: str, fields: list[tuple[str, Any]], files: list | None = None, server: str = "server"
) -> Callable[[Any], Any]:
    def call(r: Any) -> Any:
        import httpx

        parts = [(k, (n, v(r) if callable(v) else v, t)) for k, (n, v, t) in (files or [])]
        return httpx.post(
            getattr(r, server).url + path, data=dict_multi(fields), files=parts or None, timeout=20
        )

    return call


def dict_multi(fields: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    return {k: v if len(v) > 1 else v[0] for k, v in out.items()}


GOOD = ("file", ("a.wav", wav(), "audio/wav"))
M = ("model", "voxtral-mini-latest")
for name, fields, files, status, phrase in [
    ("missing-model", [], [GOOD], 422, "model"),
    ("no-audio", [M], [], 422, "Exactly one of"),
    ("file-and-url", [M, ("file_url", "https://x/y.wav")], [GOOD], 422, "Exactly one of"),
    ("file-as-text", [M, ("file", "not a file")], [], 422, "file part"),
    ("model-as-file", [], [("model", ("m.txt", b"voxtral", "text/plain")), GOOD], 422, "text field"),
    ("text-file", [M], [("file", ("a.wav", b"hello there" * 20, "audio/wav"))], 400, "decode"),
    ("empty-file", [M], [("file", ("a.wav", b"", "audio/wav"))], 400, "empty"),
    ("truncated-wav", [M], [("file", ("a.wav", wav("truncated_wav"), "audio/wav"))], 400, "truncated"),
    ("nan-wav", [M], [("file", ("a.wav", wav("nan_wav"), "audio/wav"))], 400, "NaN"),
    ("diarize-maybe", [M, ("diarize", "maybe")], [GOOD], 422, "'true' or 'false'"),
    ("stream-maybe", [M, ("stream", "perhaps")], [GOOD], 422, "boolean"),
    ("temperature-hot", [M, ("temperature", "hot")], [GOOD], 422, "temperature"),
    ("temperature-nan", [M, ("temperature", "nan")], [GOOD], 422, "temperature"),
    ("temperature-negative", [M, ("temperature", "-1")], [GOOD], 422, "temperature"),
    ("granularity-bogus", [M, ("timestamp_granularities", "sentence")], [GOOD], 422, "timestamp"),
    ("bias-101", [M, *[("context_bias", f"t{i}") for i in range(101)]], [GOOD], 422, "100"),
    ("bias-space", [M, ("context_bias", "Janis Joplin")], [GOOD], 422, "context_bias"),
    ("language-word", [M, ("language", "english")], [GOOD], 422, "language"),
    (
        "language-with-timestamps",
        [M, ("language", "en"), ("timestamp_granularities", "segment")],
        [GOOD],
        422,
        "language",
    ),
    ("diarize-word", [M, ("diarize", "true"), ("timestamp_granularities", "word")], [GOOD], 422, "diarize"),
    ("file-id-unknown", [M, ("file_id", "00000000-0000-0000-0000-000000000000")], [], 404, "No file with id"),
    ("file-url-external", [M, ("file_url", "https://example.org/a.wav")], [], 400, "does not download"),
    (
        "file-url-bad-signature",
        [
            M,
            (
                "file_url",
                "http://127.0.0.1/v1/files/00000000-0000-0000-0000-000000000000/content?expires=9999999999&sig=00",
            ),
        ],
        [],
        403,
        "signature",
    ),
    ("too-many-files", [M], [GOOD] * 5, 400, "multipart"),
    ("too-many-fields", [M, *[(f"f{i}", "x") for i in range(450)]], [GOOD], 400, "multipart"),
    ("upload-missing-file", [("purpose", "audio")], [], 422, "file"),
]:
    path = "/v1/files" if name.startswith("upload") else T
    case(S, f"transcriptions-{name}" if path == T else name, post_form(path, fields, files), status, phrase)
for name, kwargs, status, phrase in [
    ("no-content-type", {"content": b"x"}, 400, "multipart/form-data"),
    ("json-body", {"json": {"model": "m"}}, 400, "multipart/form-data"),
    (
        "broken-multipart",
        {
            "content": b'--abc\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n--ab',
            "headers": {"content-type": "multipart/form-data; boundary=abc"},
        },
        422,
        "Field required",
    ),
    (
        "multipart-no-boundary",
        {"content": b"hello", "headers": {"content-type": "multipart/form-data"}},
        400,
        "multipart",
    ),
]:
    case(S, f"transcriptions-{name}", http("POST", T, **kwargs), status, phrase)
case(
    S,
    "body-too-large",
    post_form(T, [M], [("file", ("a.wav", b"RIFF" + bytes(300_000), "audio/wav"))], server="small"),
    413,
    "larger than",
)
case(S, "no-key", post_form(T, [M], [GOOD], server="keyed"), 401, "Unauthorized")
case(
    S,
    "wrong-key",
    lambda r: __import__("httpx").post(
        r.keyed.url + T, data={"model": "m"}, headers={"Authorization": "Bearer nope"}
    ),
    401,
    "Unauthorized",
)
case(
    S,
    "files-text-file",
    post_form("/v1/files", [("purpose", "audio")], [("file", ("a.wav", b"not audio" * 9, "audio/wav"))]),
    400,
    "decode",
)
case(
    S,
    "files-empty",
    post_form("/v1/files", [("purpose", "audio")], [("file", ("a.wav", b"", "audio/wav"))]),
    400,
    "empty",
)
case(
    S,
    "files-truncated",
    post_form("/v1/files", [("purpose", "audio")], [("file", ("a.wav", wav("truncated_wav"), "audio/wav"))]),
    400,
    "truncated",
)
case(S, "files-purpose", post_form("/v1/files", [("purpose", "snacks")], [GOOD]), 422, "purpose")
case(S, "files-json", http("POST", "/v1/files", json={"file": "x"}), 400, "multipart/form-data")
case(S, "files-quota", lambda r: r.fill_quota(), 400, "at most")
case(S, "files-url-unknown", http("GET", "/v1/files/nope/url"), 404, "No file with id")
case(S, "files-url-expiry-zero", lambda r: r.stored_url("?expiry=0"), 422, "between 1 and 168")
case(S, "files-url-expiry-text", lambda r: r.stored_url("?expiry=soon"), 422, "between 1 and 168")
case(
    S,
    "files-url-expiry-huge",
    lambda r: r.stored_url("?expiry=99999999999999999999"),
    422,
    "between 1 and 168",
)
case(S, "files-content-unknown", http("GET", "/v1/files/nope/content"), 404, "No file with id")
case(S, "files-content-bad-sig", lambda r: r.stored_content("?expires=9999999999&sig=abc"), 403, "signature")
case(S, "files-delete-unknown", http("DELETE", "/v1/files/nope"), 404, "No file with id")
C = "/v1/chat/completions"


def chat(body: Any, *, raw: bool = False) -> Callable[[Any], Any]:
    if raw:
        return http("POST", C, content=body, headers={"content-type": "application/json"})
    return http("POST", C, json=body)


def audio_part(value: Any) -> dict:
    return {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": value}, {"type": "text", "text": "hi"}],
            }
        ]
    }


for name, body, raw, status, phrase in [
    ("not-json", b"{nope", True, 400, "must be JSON"),
    ("empty-body", b"", True, 400, "must be JSON"),
    ("json-list", [1, 2], False, 400, "JSON object"),
    ("json-string", "hello", False, 400, "JSON object"),
    ("no-messages", {"model": "m"}, False, 422, "messages"),
    ("messages-empty", {"messages": []}, False, 422, "messages"),
    ("messages-string", {"messages": "hi"}, False, 422, "messages"),
    ("message-int", {"messages": [5]}, False, 422, "messages.0"),
    ("content-int", {"messages": [{"role": "user", "content": 5}]}, False, 422, "content"),
    ("content-dict", {"messages": [{"role": "user", "content": {"type": "text"}}]}, False, 422, "content"),
    ("part-int", {"messages": [{"role": "user", "content": [5]}]}, False, 422, "content.0"),
    ("part-type", {"messages": [{"role": "user", "content": [{"type": "video"}]}]}, False, 422, "type"),
    (
        "part-text-int",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        False,
        422,
        "text",
    ),
    ("audio-int", audio_part(5), False, 422, "input_audio"),
    ("audio-empty", audio_part(""), False, 422, "input_audio"),
    ("audio-not-base64", audio_part("%%%not base64%%%"), False, 400, "base64"),
    ("audio-junk", audio_part(base64.b64encode(b"junk" * 50).decode()), False, 400, "decode"),
    ("audio-url-external", audio_part("https://example.org/a.wav"), False, 400, "does not download"),
    ("model-int", {"model": 5, "messages": [{"role": "user", "content": "hi"}]}, False, 422, "model"),
    ("deeply-nested", b"[" * 100_000 + b"]" * 100_000, True, 400, "must be JSON"),
    (
        "nested-100",
        {"messages": [{"role": "user", "content": "hi", "x": json.loads("[" * 100 + "]" * 100)}]},
        False,
        400,
        "nested deeper",
    ),
    (
        "huge-number",
        b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e999999}',
        True,
        400,
        "",
    ),
]:
    case(S, f"chat-{name}", chat(body, raw=raw), status, phrase)
case(S, "chat-no-audio", chat({"messages": [{"role": "user", "content": "hi"}]}), 400, "")
B_JOBS = "/v1/batch/jobs"
for name, body, raw, status, phrase in [
    ("not-json", b"{nope", True, 400, "must be JSON"),
    ("deeply-nested", b"[" * 100_000 + b"]" * 100_000, True, 400, "must be JSON"),
    ("json-list", [1], False, 400, "JSON object"),
    ("endpoint", {"endpoint": "/v1/chat", "model": "m", "requests": [{}]}, False, 400, "endpoint"),
    ("model-int", {"endpoint": T, "model": 5, "requests": [{}]}, False, 422, "model"),
    ("both-inputs", {"endpoint": T, "model": "voxtral-mini-latest", "requests": [{}], "input_files": ["x"]}, False, 422, "exactly one"),
    ("metadata-list", {"endpoint": T, "model": "voxtral-mini-latest", "requests": [{}], "metadata": [1]}, False, 422, "metadata"),
    ("timeout-text", {"endpoint": T, "model": "voxtral-mini-latest", "requests": [{}], "timeout_hours": "1"}, False, 422, "timeout_hours"),
    ("input-files-int", {"endpoint": T, "model": "voxtral-mini-latest", "input_files": 5}, False, 422, "input_files"),
    ("input-file-unknown", {"endpoint": T, "model": "voxtral-mini-latest", "input_files": ["nope"]}, False, 404, "No file"),
]:  # fmt: skip
    call = (
        http("POST", B_JOBS, content=body, headers={"content-type": "application/json"})
        if raw
        else http("POST", B_JOBS, json=body)
    )
    case(S, f"batch-{name}", call, status, phrase)
case(S, "batch-job-unknown", http("GET", B_JOBS + "/nope"), 404, "No batch job")
case(S, "batch-page-text", http("GET", B_JOBS + "?page=first"), 422, "page")
case(S, "batch-created-after", http("GET", B_JOBS + "?created_after=yesterday"), 422, "created_after")
case(S, "models-post", http("POST", "/v1/models"), 405, "")
case(S, "unknown-route", http("GET", "/v1/nothing"), 404, "")
case(S, "transcriptions-get", http("GET", T), 405, "")


def ws(messages: list[Any], *, path: str = "/v1/audio/transcriptions/realtime") -> Callable[[Any], Any]:
    """Send *messages* on a realtime socket; the first error event that comes back."""

    def call(r: Any) -> Any:
        from websockets.sync.client import connect

        url = r.server.url.replace("http", "ws", 1) + path
        with connect(url, open_timeout=10, max_size=None) as socket:
            json.loads(socket.recv(timeout=10))  # session.created
            for message in messages:
                socket.send(message(r) if callable(message) else message)
            while True:
                event = json.loads(socket.recv(timeout=10))
                if event.get("type") == "error":
                    return event

    return call


def append(audio: Any) -> str:
    return json.dumps({"type": "input_audio.append", "audio": audio})


for name, messages, phrase in [
    ("not-json", ["{nope"], "not a JSON message"),
    ("no-type", ['{"audio": "AAAA"}'], "not a JSON message"),
    ("json-list", ["[1, 2]"], "not a JSON message"),
    ("deeply-nested", ["[" * 100_000 + "]" * 100_000], "not a JSON message"),
    ("binary-frame", [b"\x00\x01"], "base64 inside JSON"),
    ("unknown-type", ['{"type": "input_audio.rewind"}'], "unknown event type"),
    ("append-not-base64", [append("%%%")], "base64"),
    ("append-int", [append(5)], "base64"),
    ("append-odd-bytes", [append(base64.b64encode(b"\x00\x01\x02").decode())], "whole 16-bit"),
    ("append-too-large", [append(base64.b64encode(bytes(262_146)).decode())], "at most"),
    ("update-session-int", ['{"type": "session.update", "session": 5}'], "session"),
    (
        "update-audio-format-list",
        ['{"type": "session.update", "session": {"audio_format": [1]}}'],
        "audio_format",
    ),
    (
        "update-rate",
        [
            '{"type": "session.update", "session": {"audio_format": {"encoding": "pcm_s16le", "sample_rate": "fast"}}}'
        ],
        "sample_rate",
    ),
    ("update-language-int", ['{"type": "session.update", "session": {"language": 5}}'], "language"),
    (
        "update-encoding",
        ['{"type": "session.update", "session": {"audio_format": {"encoding": "mp3"}}}'],
        "encoding",
    ),
    (
        "update-delay-text",
        ['{"type": "session.update", "session": {"target_streaming_delay_ms": "soon"}}'],
        "target_streaming_delay_ms",
    ),
]:
    case(S, f"realtime-{name}", ws(messages), "event", phrase)
case(
    S,
    "realtime-vllm-audio-before-model",
    ws([json.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"})], path="/v1/realtime"),
    "event",
    "session.update",
)


# ------------------------------------------------------------------------------ property-based


def _fuzz_strategies() -> Any:
    from hypothesis import strategies as st

    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(-10, 1e4),
        st.text(max_size=12),
        st.sampled_from(["transcription.done", "transcription.segment", "transcription.text.delta",
                         "transcription.language", "transcription.chunk", "duration", "en", "speaker_1", ""]),
    )  # fmt: skip
    anything = st.recursive(
        leaf, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=4)),
        max_leaves=12,
    )  # fmt: skip
    entry_keys = ["start", "end", "text", "speaker_id", "speaker", "words", "word", "score", "probability",
                  "seek", "avg_logprob", "type", "audio_language", "choices", "delta", "content", "object"]  # fmt: skip
    top_keys = ["text", "segments", "words", "language", "model", "usage", "duration", "type", "task",
                "word_segments", "choices", "object", "seconds"]  # fmt: skip
    value = st.one_of(leaf, anything)
    entry = st.recursive(
        st.dictionaries(st.sampled_from(entry_keys), value, max_size=6),
        lambda c: st.dictionaries(
            st.sampled_from(entry_keys), st.one_of(value, st.lists(c, max_size=4), c), max_size=6
        ),
        max_leaves=8,
    )
    top = st.dictionaries(
        st.sampled_from(top_keys), st.one_of(value, st.lists(entry, max_size=6), entry), max_size=7
    )
    return st.one_of(top, st.lists(st.one_of(entry, top), max_size=5), anything)


def test_from_response_fuzz() -> None:
    """Random JSON (shaped like responses, and not): a ResponseFormatError, or a Transcript whose
    tables keep the DataFrame contract and that saves and loads back to the same tables."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_transcript import check_contract

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_fuzz_strategies(), st.sampled_from([None, "segment", "word", "mixed"]), st.booleans())
    def check(obj: Any, granularity: str | None, as_text: bool) -> None:
        try:
            t = Transcript.from_response(json.dumps(obj) if as_text else obj, granularity=granularity)
        except ResponseFormatError:
            return
        check_contract(t)
        for frame in (t.segments, t.words):
            times = frame[["start", "end"]].to_numpy(dtype=float)
            known = ~np.isnan(times)
            assert (times[known] >= 0).all() and np.isfinite(times[known]).all()
        assert isinstance(t.text, str) and (t.duration is None or t.duration >= 0)
        repr(t), t._repr_html_()
        try:
            saved = t.to_json()
        except ResponseFormatError:  # refused before writing (e.g. a 65-bit integer in raw): allowed
            return
        back = Transcript.from_dict(json.loads(saved))
        pd_testing.assert_frame_equal(back.segments, t.segments)
        pd_testing.assert_frame_equal(back.words, t.words)

    import pandas.testing as pd_testing

    check()


def test_random_bodies_never_get_a_500(resources: Any) -> None:
    """Any bytes, under any content type, to any route: an answer under 500 (a 4xx saying why)."""
    import httpx
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    routes = [("POST", T), ("POST", "/v1/files"), ("POST", C), ("GET", "/v1/models"),
              ("GET", "/v1/files/x/url"), ("DELETE", "/v1/files/x"), ("POST", "/v1/batch/jobs"),
              ("GET", "/v1/batch/jobs"), ("POST", "/v1/batch/jobs/x/cancel")]  # fmt: skip
    json_bodies = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
        lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode())
    multipart = st.lists(st.tuples(st.sampled_from(["model", "file", "stream", "diarize", "context_bias",
                                                    "timestamp_granularities", "purpose", "x"]),
                                   st.binary(max_size=64)), max_size=6).map(_multipart)  # fmt: skip
    bodies = st.one_of(st.binary(max_size=300), json_bodies, multipart)
    types = st.sampled_from([None, "application/json", "multipart/form-data; boundary=b", "multipart/form-data",
                             "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary="])  # fmt: skip

    with httpx.Client(base_url=resources.url, timeout=20) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(routes), bodies, types)
        def check(route: tuple[str, str], body: bytes, content_type: str | None) -> None:
            headers = {"content-type": content_type} if content_type else {}
            answer = client.request(route[0], route[1], content=body, headers=headers)
            assert answer.status_code < 500, (route, body[:200], content_type, answer.text[:300])

        check()


def _multipart(fields: list[tuple[str, bytes]]) -> bytes:
    parts = []
    for i, (name, value) in enumerate(fields):
        filename = f'; filename="f{i}.wav"' if name == "file" else ""
        parts.append(b"--b\r\nContent-Disposition: form-data; name=\"" + name.encode() + b'"'
                     + filename.encode() + b"\r\n\r\n" + value + b"\r\n")  # fmt: skip
    return b"".join(parts) + b"--b--\r\n"


# ------------------------------------------------------------------------------------ resources


def make_resources(directory: Path) -> SimpleNamespace:
    """Files, servers, a client and transcripts the cases use (servers run until stop())."""
    from voxnb.local.fake import FakeEngine
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    r = SimpleNamespace(dir=directory)
    rng = np.random.default_rng(1)
    speech = rng.uniform(-0.3, 0.3, 16000 * 2).astype("float32")
    r.audio = Audio.from_array(speech, 16000)
    r.silent_audio = Audio.from_array(np.zeros(16000, "float32"), 16000)
    r.good_wav = directory / "good.wav"
    r.audio.save(r.good_wav)
    r.silent_wav = directory / "silent.wav"
    r.silent_audio.save(r.silent_wav)
    r.silent_flac = directory / "silent.flac"
    r.silent_audio.save(r.silent_flac)
    for ext in ("wav", "flac", "mp3"):
        full = directory / f"full.{ext}"
        r.audio.save(full)
        data = full.read_bytes()
        cut = directory / f"truncated.{ext}"
        cut.write_bytes(data[: len(data) // 2])
        setattr(r, f"truncated_{ext}", cut)
    for name, value, subtype in (("nan_wav", np.nan, "FLOAT"), ("inf_wav", np.inf, "DOUBLE")):
        y = speech.copy()
        y[1000] = value
        path = directory / f"{name}.wav"
        sf.write(path, y, 16000, subtype=subtype)
        setattr(r, name, path)
    r.empty = directory / "empty.wav"
    r.empty.write_bytes(b"")
    r.text_wav = directory / "text.wav"
    r.text_wav.write_text("I am not a sound file, I am text.\n" * 20)
    r.header_only = directory / "header.wav"
    sf.write(r.header_only, np.zeros(0, "float32"), 16000)
    (directory / "folder.wav").mkdir()
    (directory / "folder.wav.srt").mkdir()
    r.old_srt = directory / "old" / "subtitles.srt"
    r.old_srt.parent.mkdir()
    r.old_srt.write_text("the old content\n")
    r.old_wav = directory / "old.wav"
    r.audio.save(r.old_wav)

    response = {
        "text": "Hello there. Hi!",
        "segments": [
            {"text": "Hello there.", "start": 0.0, "end": 1.2, "speaker_id": "speaker_1"},
            {"text": "Hi!", "start": 1.5, "end": 2.0, "speaker_id": "speaker_2"},
        ],
    }
    r.t = Transcript.from_response(response)
    r.objects = lambda values: __import__("pandas").Series(values, dtype=object)
    r.untimed = Transcript.from_response({"text": "no times here"})
    r.nan_raw = Transcript.from_response(
        {"text": "a", "segments": [{"text": "a", "start": float("nan"), "end": 1.0}]}
    )
    r.t_with_request = lambda request: Transcript.from_response(response, request=request)
    deep: Any = {"text": "deep"}
    node = deep
    for _ in range(2000):
        node["x"] = {}
        node = node["x"]
    r.deep_raw = Transcript.from_response(deep)
    r.huge_int_raw = Transcript.from_response({"text": "a", "usage": {"tokens": 2**70 + 1}})
    r.broken_saved = directory / "broken.json"
    saved = r.t.with_words(r.t.words).to_dict()
    saved["words"]["timing"] = [5] * len(saved["words"]["timing"])
    r.broken_saved.write_text(json.dumps(saved))

    r.bad_tsv = directory / "bad.tsv"
    r.bad_tsv.write_text("only-one-column\n")
    r.bad_json_tsv = directory / "bad_json.tsv"
    r.bad_json_tsv.write_text("1-2-3\tref text\t[not json\t[]\n")
    r.ints_tsv = directory / "ints.tsv"
    r.ints_tsv.write_text("1-2-3\tref text\t[1, 2]\t[3]\n")
    r.items = [{"name": "a", "reference": "the cat sat", "audio": str(r.good_wav)}]
    r.score = bias.score(["a b c", "d e f"], ["a b c", "d x f"], ["e"])

    r.engine = FakeEngine()
    r.server = ServerThread(create_app(r.engine, recorder=RequestRecorder(), max_files=3)).start()
    r.small = ServerThread(create_app(r.engine, max_body_bytes=100_000)).start()
    r.keyed = ServerThread(create_app(r.engine, api_key="corpus-key-not-secret")).start()
    r.url = r.server.url
    r.client = voxnb.Client(base_url=r.url, dialect="mistral", retry=RetryPolicy(max_retries=0))

    def fill_quota() -> Any:
        import httpx

        for _ in range(4):
            answer = httpx.post(
                r.url + "/v1/files", files={"file": ("a.wav", r.good_wav.read_bytes())}, timeout=20
            )
            if answer.status_code != 200:
                return answer
        return answer

    stored: dict[str, str] = {}

    def stored_id() -> str:
        import httpx

        if "id" not in stored:
            answer = httpx.post(
                r.url + "/v1/files", files={"file": ("a.wav", r.good_wav.read_bytes())}, timeout=20
            )
            stored["id"] = answer.json()["id"]
        return stored["id"]

    r.stored_url = lambda query: __import__("httpx").get(
        f"{r.url}/v1/files/{stored_id()}/url{query}", timeout=20
    )
    r.stored_content = lambda query: __import__("httpx").get(
        f"{r.url}/v1/files/{stored_id()}/content{query}", timeout=20
    )
    r.fill_quota = fill_quota

    def stop() -> None:
        r.client.close()
        for server in (r.server, r.small, r.keyed):
            server.stop()

    r.stop = stop
    stored_id()  # one stored file, before the quota case fills the rest
    return r


# ------------------------------------------------------------------------------------ running them


OUTCOMES: dict[str, str] = {}


def message_of(case: Case, value: Any) -> tuple[bool, str]:
    """Whether a returned *value* is the refusal the case expects, and its message."""
    if isinstance(case.expect, int):
        try:
            body = value.json()
            text = json.dumps(body)
        except ValueError:
            text = value.text
        return value.status_code == case.expect, f"HTTP {value.status_code}: {text[:300]}"
    if case.expect == "cli":
        code, err = value
        # the line main() prints for a VoxnbError (an announcement line may come before it); exit 2 for
        # a refused command, 1 when the recordings given all failed, each with its reason
        lines = [line for line in err.splitlines() if re.match(r"voxnb (transcribe|serve|demo): ", line)]
        return code in (1, 2) and bool(lines), f"exit {code}: {' '.join(lines or [err.strip()])[:300]}"
    if case.expect == "event":
        return value.get("type") == "error", json.dumps(value)[:300]
    return False, f"returned {type(value).__name__}: {value!r:.200}"


def outcome(case: Case, r: Any) -> tuple[str, str]:
    """``clear``, ``wrong`` (a refusal without the phrase, or the wrong class), ``other``,
    ``silent`` or ``hang``, with what happened."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = case.call(r)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name=f"case-{case.id}")
    thread.start()
    thread.join(DEADLINE)
    if thread.is_alive():
        return "hang", f"no answer within {DEADLINE:g} s"
    if "error" in result:
        exc = result["error"]
        text = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, VoxnbError):
            return "other", text
        if isinstance(case.expect, type) and not isinstance(exc, case.expect):
            return "wrong", f"expected {case.expect.__name__}; {text}"
        if not isinstance(case.expect, type):
            return "wrong", f"expected {case.expect!r}; {text}"
        ok, message = True, str(exc)
    else:
        ok, message = message_of(case, result["value"])
        if not ok:
            return "silent", message
    if case.phrase.lower() not in message.lower():
        return "wrong", f"the message lacks {case.phrase!r}: {message}"
    if case.absent and case.absent in message:
        return "wrong", f"the message echoes {case.absent!r}: {message}"
    if case.after is not None:
        try:
            case.after(r)
        except AssertionError as exc:
            return "wrong", str(exc)
    return "clear", message


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> Any:
    r = make_resources(tmp_path_factory.mktemp("hostile"))
    yield r
    r.stop()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_clearly(case: Case, resources: Any) -> None:
    result, detail = outcome(case, resources)
    OUTCOMES[case.id] = result
    assert result == "clear", f"{case.id}: {result}: {detail}"


def tally(outcomes: dict[str, str]) -> dict[str, collections.Counter]:
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for c in CASES:
        table[c.area][outcomes.get(c.id, "not run")] += 1
    return table


def test_corpus_tally(resources: Any) -> None:
    """Every case of the corpus, counted by outcome: all clear, none other, silent or hung."""
    missing = [c for c in CASES if c.id not in OUTCOMES]
    for c in missing:  # when this test runs on its own
        OUTCOMES[c.id] = outcome(c, resources)[0]
    table = tally(OUTCOMES)
    assert len(CASES) >= 250 and len({c.id for c in CASES}) == len(CASES)
    assert set(table) == {"audio", "parameters", "responses", "exports", "bias", "cli", "server"}
    totals = sum(table.values(), collections.Counter())
    assert totals == collections.Counter({"clear": len(CASES)}), dict(totals)


def main() -> None:
    """Run the corpus outside pytest and print the table the closing note quotes."""
    with tempfile.TemporaryDirectory() as tmp:
        r = make_resources(Path(tmp))
        try:
            outcomes = {}
            for c in CASES:
                outcomes[c.id], detail = outcome(c, r)
                if outcomes[c.id] != "clear":
                    print(f"  {c.id}: {outcomes[c.id]}: {detail}", file=sys.stderr)
        finally:
            r.stop()
    table = tally(outcomes)
    kinds = ["clear", "wrong", "other", "silent", "hang"]
    print(f"| area | inputs | {' | '.join(kinds)} |")
    print("| --- | " + " | ".join("---:" for _ in range(len(kinds) + 1)) + " |")
    for area, counts in table.items():
        print(f"| {area} | {sum(counts.values())} | " + " | ".join(str(counts[k]) for k in kinds) + " |")
    totals = sum(table.values(), collections.Counter())
    print(f"| all | {sum(totals.values())} | " + " | ".join(str(totals[k]) for k in kinds) + " |")


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
