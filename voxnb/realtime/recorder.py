"""Recorder: the browser's microphone, transcribed live in the notebook, ending in a Transcript.

The browser side (``recorder.js``) captures, resamples to 16 kHz s16le and sends ~100 ms chunks
as binary comm buffers. This side never blocks the comm handler: each chunk is appended to the
take and handed to a background event loop, where a
:class:`~voxnb.realtime.live.LiveTranscription` streams it to the realtime server and the live
text comes back into a synced trait a few times a second.

The browser → kernel messages (``content`` dicts) are the typed boundary, testable without a
browser by calling :meth:`Recorder.handle_message`:

=========  =========================================================  =================
type       fields                                                     buffers
=========  =========================================================  =================
ready      (the view rendered)                                        none
start      ``ctx_rate`` (capture rate), ``mode``, ``track``           none
chunk      ``seq`` (0, 1, ...), ``level`` (RMS, 0..1)                 one: s16le PCM
stop       ``sent`` (number of chunks sent)                           none
error      ``message`` (shown to the user), ``detail``                none
=========  =========================================================  =================

Kernel → browser: ``started``, ``ack`` (every few chunks: the kernel is responsive), ``stop``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from voxnb.credentials import secret_api_key
from voxnb.errors import MissingDependencyError, ParameterError, RealtimeError, VoxnbError, safe_repr
from voxnb.realtime.live import LiveTranscription, ThreadedChunks, pcm_audio, pcm_seconds, realtime_backend
from voxnb.realtime.protocol import SAMPLE_RATE, Disconnected, Reconnected

try:
    import anywidget
    import traitlets
except ImportError as _exc:  # pragma: no cover - exercised only without the widgets extra
    raise MissingDependencyError("anywidget", "widgets", "the Recorder widget") from _exc

__all__ = ["Recorder"]

_HERE = Path(__file__).resolve().parent
#: live text reaches the browser at most this often (seconds): a few updates per second
TEXT_INTERVAL = 0.25
#: the kernel acknowledges every this many chunks so the browser can tell it is responsive
ACK_EVERY = 5

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """One event loop in a daemon thread for every recorder: independent of the kernel's loop."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="voxnb-recorder", daemon=True).start()
        return _loop


class Recorder(anywidget.AnyWidget):
    """Record from the browser's microphone, watch the text appear, get a Transcript.

    Parameters
    ----------
    base_url, api_key, model, dialect, engine
        Where to transcribe, as for :func:`voxnb.transcribe_realtime`: a ``voxnb serve``, vLLM
        (``dialect="vllm"``) or Mistral server, or the offline engine in this kernel (the
        default when there is no key). The choice is announced in one line.
    chunk_ms : int
        Length of the chunks the browser sends (100 ms by default).
    captions : bool
        Show the live text as captions a room can read: large (at least 32 px, growing with the
        cell's width), white on black, the last two lines, with a button to show them full
        screen; the text is kept after Stop. The word still being heard (its last characters may
        yet change) is shown dimmed until it is complete. The widget's "Captions" button turns
        them on and off too (``rec.captions = True`` from code).
    **session_options
        The realtime session's settings (``target_streaming_delay_ms``, ``context_bias``,
        ``language``, ``diarize`` where the model takes them; ``max_reconnects``...), checked
        now, before anything is recorded.

    Attributes
    ----------
    text : str
        The live text (synced to the browser).
    status : str
        ``idle``, ``recording``, ``finishing``, ``done`` or ``error``.
    transcript : Transcript
        After Stop: the take's transcript (waits for the server's last words).
    audio : Audio
        The audio captured so far, 16 kHz mono; kept whatever happens to the connection.

    Notes
    -----
    Needs a secure page (https, or http on localhost) and microphone permission; the widget says
    what to do when either is missing. A cell that merely waits (sleep, I/O) does not disturb a
    take on ipykernel 7; one that keeps the kernel from taking messages (older ipykernels while
    any cell runs, or a long C call holding the GIL) makes the chunks queue in the browser-kernel
    channel: the widget says the kernel is busy, nothing is lost, and the live text catches up
    when the cell finishes.

    Examples
    --------
    >>> rec = voxnb.Recorder(base_url="http://127.0.0.1:8000")  # doctest: +SKIP
    >>> rec                                   # press Start, speak, press Stop  # doctest: +SKIP
    >>> rec.transcript.segments               # doctest: +SKIP
    >>> voxnb.Recorder(captions=True)         # the live text large, for a classroom  # doctest: +SKIP
    >>> rec.retranscribe(context_bias=["Voxtral", "Jupyter"]).text  # doctest: +SKIP
    """

    _esm = _HERE / "recorder.js"
    _css = _HERE / "recorder.css"

    text = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("").tag(sync=True)
    sample_rate = traitlets.Int(SAMPLE_RATE).tag(sync=True)
    chunk_ms = traitlets.Int(100).tag(sync=True)
    #: record with the ScriptProcessor fallback instead of an AudioWorklet (for testing it)
    force_script_processor = traitlets.Bool(False).tag(sync=True)
    #: the live text as large captions (see the ``captions`` parameter)
    captions = traitlets.Bool(False).tag(sync=True)

    @secret_api_key
    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        dialect: str | None = None,
        engine: Any = None,
        chunk_ms: int = 100,
        captions: bool = False,
        **session_options: Any,
    ):
        if not 20 <= chunk_ms <= 1000:
            raise ParameterError(f"chunk_ms must be between 20 and 1000 ms, got {chunk_ms}")
        if not isinstance(captions, bool):
            raise ParameterError(f"captions must be True or False, got {captions!r}", option="captions")
        super().__init__(chunk_ms=chunk_ms, captions=captions)
        self._backend = realtime_backend(
            base_url=base_url,
            api_key=api_key,
            dialect=dialect,
            engine=engine,
            model=model,
            entry="voxnb.Recorder",
        )
        self.backend = f"{self._backend.name}: {self._backend.base_url or 'offline engine in this kernel'}"
        self.message = f"Press Start to record ({self.backend})."
        self._session_options = dict(session_options, model=model)
        self._check_settings()
        self._pcm = bytearray()
        self._chunks: ThreadedChunks | None = None
        self._live: LiveTranscription | None = None
        self._finished = threading.Event()  # one per take: a finishing take never marks the next one
        self._finished.set()
        self._error: BaseException | None = None
        # the kernel's thread and the takes' event loop both set synced traits: one at a time, so
        # a status never regresses (done -> finishing) and each change reaches the browser whole
        self._sync_lock = threading.RLock()
        self._seq = -1
        self._recording = False
        self.rendered = False
        #: what the browser reported when recording started (capture rate, worklet or fallback)
        self.capture: dict[str, Any] = {}
        self.on_msg(self._on_msg)

    @safe_repr
    def __repr__(self) -> str:
        return f"<voxnb.Recorder {self.status}, {self.seconds:.1f} s captured, {self._backend!r}>"

    def _check_settings(self) -> None:
        """Refuse settings the model does not take now, not when Start is pressed."""
        from voxnb.realtime.live import session_for

        for option, browser in (("encoding", "pcm_s16le"), ("sample_rate", SAMPLE_RATE)):
            if self._session_options.get(option, browser) != browser:
                raise ParameterError(
                    f"the browser records pcm_s16le at {SAMPLE_RATE} Hz; drop {option}= (it describes audio "
                    "you send yourself, with voxnb.transcribe_realtime or a RealtimeSession)",
                    option=option,
                )
        session_for(self._backend, **self._session_options)

    # ------------------------------------------------------------------------- results
    @property
    def seconds(self) -> float:
        return pcm_seconds(self._pcm)

    @property
    def audio(self) -> Any:
        """The captured take as a 16 kHz mono :class:`~voxnb.Audio`."""
        if not self._pcm:
            raise RealtimeError(self._nothing_recorded())
        return pcm_audio(self._pcm)

    @property
    def transcript(self) -> Any:
        """The take's :class:`~voxnb.Transcript`, once Stop was pressed (waits up to 2 minutes)."""
        return self.wait()

    @property
    def gaps(self) -> list[Reconnected]:
        """Reconnections during the take (where, how long offline, audio possibly untranscribed)."""
        return list(self._live.gaps) if self._live is not None else []

    def wait(self, timeout: float = 120.0) -> Any:
        """Wait for the server's final words after Stop and return the Transcript."""
        if self._live is None:
            raise RealtimeError(self._nothing_recorded())
        if self._recording:
            raise RealtimeError(
                "still recording: press Stop (or call rec.stop()) before reading the transcript"
            )
        if not self._finished.wait(timeout):
            raise RealtimeError(
                f"the transcript did not arrive within {timeout:.0f} s after Stop; "
                "call rec.wait(timeout=...) to wait longer"
            )
        if self._error is not None:
            raise self._error
        return self._live.transcript

    def _nothing_recorded(self) -> str:
        message = "nothing recorded yet: press Start, speak, then press Stop"
        if not self.rendered:
            message += (
                ". No Start button? The widget's script never ran in this page: display `rec` in a "
                "notebook cell; with JupyterLab or Voila check that anywidget is installed and that "
                "the page's Content-Security-Policy allows blob: scripts (script-src ... blob:)"
            )
        return message

    def retranscribe(self, **params: Any) -> Any:
        """Transcribe the whole take again with the batch endpoint, e.g. ``context_bias=[...]``.

        A realtime session takes no bias list; this sends the captured audio to the same system's
        batch transcription, which does.
        """
        from voxnb.backend import transcribe

        return transcribe(self.audio, backend=self._backend, quiet=True, **params)

    def stop(self) -> None:
        """Ask the browser to stop recording (same as pressing Stop)."""
        self.send({"type": "stop"})

    def _show(self, **traits: Any) -> None:
        """Set synced traits from either thread, sent to the browser as one update."""
        with self._sync_lock, self.hold_sync():
            for name, value in traits.items():
                setattr(self, name, value)

    # ---------------------------------------------------------------- browser messages
    def _on_msg(self, widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        self.handle_message(content, buffers)

    def handle_message(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Act on one browser message (see the module docstring); never blocks."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "chunk":
            if not buffers:
                raise ParameterError("a chunk message must carry one binary buffer of s16le PCM")
            self._on_chunk(content, bytes(buffers[0]))
        elif kind == "start":
            self._on_start(content)
        elif kind == "stop":
            self._on_stop()
        elif kind == "error":
            self._show(
                status="error", message=str(content.get("message") or "recording failed in the browser")
            )
        elif kind == "ready":
            self.rendered = True
        else:
            raise ParameterError(f"unknown recorder message type {kind!r}")

    def _on_start(self, content: dict[str, Any]) -> None:
        self._on_stop()  # a Start during a take ends that take first; it finishes on its own
        loop = _background_loop()
        self.capture = {k: content.get(k) for k in ("ctx_rate", "mode", "track")}
        self._pcm = bytearray()
        self._seq = -1
        self._error = None
        finished = self._finished = threading.Event()
        self._chunks = ThreadedChunks(loop)
        self._recording = True
        live = self._live = LiveTranscription(
            self._chunks,
            backend=self._backend,
            chunk_ms=self.chunk_ms,
            on_event=self._on_event,
            **self._session_options,
        )
        self._show(text="", status="recording", message=f"Recording… ({self.backend})")
        asyncio.run_coroutine_threadsafe(self._run(live, finished), loop)
        self.send({"type": "started"})

    def _on_chunk(self, content: dict[str, Any], pcm: bytes) -> None:
        if not self._recording:
            return  # a straggler after Stop: the take is closed
        seq = int(content.get("seq", self._seq + 1))
        if seq != self._seq + 1:
            self._show(message=f"warning: chunk {self._seq + 1} to {seq - 1} never arrived from the browser")
        self._seq = seq
        self._pcm += pcm
        if self._chunks is not None:
            self._chunks.put(pcm)
        if seq % ACK_EVERY == 0:
            self.send({"type": "ack", "seq": seq})

    def _on_stop(self) -> None:
        if not self._recording:
            return
        self._recording = False
        with self._sync_lock:  # before the take can finish, so "done" is never followed by this
            if self.status == "recording":  # not when the session already failed: keep its message
                self._show(
                    status="finishing",
                    message=f"Stopped after {self.seconds:.1f} s; waiting for the last words…",
                )
        if self._chunks is not None:
            self._chunks.put(None)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, Disconnected):
            self._show(
                message=f"The connection dropped at {event.at:.1f} s ({event.reason}); reconnecting… "
                "Recording continues and the audio is kept."
            )
        elif isinstance(event, Reconnected):
            self._show(
                message=f"The connection dropped at {event.at:.1f} s ({event.reason}); reconnected after "
                f"{event.offline:.1f} s. Recording continues; the gap is in rec.gaps."
            )

    async def _run(self, live: LiveTranscription, finished: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        shown = 0.0
        pending: asyncio.TimerHandle | None = None
        error: BaseException | None = None

        def show() -> None:
            nonlocal shown, pending
            if live is self._live:
                self._show(text=live.text)
            shown, pending = time.monotonic(), None

        try:
            async for item in live:
                if isinstance(item, str) and pending is None:
                    # throttled: at most one update per TEXT_INTERVAL, the latest text always shown
                    pending = loop.call_later(max(0.0, TEXT_INTERVAL - (time.monotonic() - shown)), show)
        except VoxnbError as exc:
            error = exc
        except Exception as exc:  # shown in the widget and re-raised from rec.transcript
            error = RealtimeError(f"the realtime take failed: {type(exc).__name__}: {exc}")
        finally:
            if pending is not None:
                pending.cancel()
            current = live is self._live  # a Start during this take's finish made a newer one current
            if current:
                self._error = error
            # before the traits change: an observer of ``status`` may read rec.transcript at once
            finished.set()
        if not current:
            return
        if error is not None:
            self._show(
                status="error",
                message=f"{error} The captured audio is kept in rec.audio; "
                "rec.retranscribe() can transcribe it.",
            )
        else:
            self._show(
                text=live.transcript.text or live.text,
                status="done",
                message=f"{self.seconds:.1f} s recorded and transcribed: see your take with "
                "rec.transcript.plot(rec.audio) or rec.transcript.show(rec.audio).",
            )
