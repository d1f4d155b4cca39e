"""Many recordings at once, on any backend: bounded concurrency, a cache, a progress bar, no lost work.

:func:`run_many` is what :meth:`voxnb.Client.transcribe_many` and :func:`voxnb.transcribe_many`
run. It drives a *runner* — the HTTP client, or the offline engine behind
:class:`voxnb.backend.LocalTranscriber` — through the same four steps for every item:
``prepare(**options)`` (validate the options for this model), ``load(audio, sr=)`` (read and check
the audio), ``send(source, request)`` (the raw response) and ``build(response, source, request)``
(the Transcript). Each finished item is written to the cache the moment it completes, so an
interrupted run loses only the items in flight; the :class:`BatchResult` is filled in place and
stays reachable as ``runner.last_batch`` even when the run is interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from voxnb.cache import open_cache
from voxnb.errors import ParameterError, VoxnbError

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from voxnb.cache import TranscriptCache
    from voxnb.request import TranscriptionOptions, TranscriptionRequest
    from voxnb.transcript import Transcript

__all__ = [
    "BatchResult",
    "Runner",
    "cache_inputs",
    "named_items",
    "plan_items",
    "run_jobs",
    "run_many",
    "transcribe_item",
]

log = logging.getLogger("voxnb")


class Runner(Protocol):
    """What :func:`run_many` drives: :class:`voxnb.AsyncClient` and :class:`voxnb.backend.LocalTranscriber`."""

    @property
    def backend(self) -> str: ...

    base_url: str
    requests_sent: int

    async def prepare(self, **options: Unpack[TranscriptionOptions]) -> TranscriptionRequest: ...

    async def load(self, audio: Any, *, sr: int | None = None) -> Any: ...

    async def send(self, source: Any, request: TranscriptionRequest) -> dict[str, Any]: ...

    async def build(
        self, response: dict[str, Any], source: Any, request: TranscriptionRequest
    ) -> Transcript: ...


class BatchResult(Mapping):
    """The outcome of :meth:`voxnb.Client.transcribe_many`: name → Transcript, plus failures.

    Iterating, indexing and ``len`` cover the items that succeeded, in input order.

    Attributes
    ----------
    errors : dict of str → Exception
        The items that failed and why.
    names : list of str
        Every item's name, in input order.
    requests : int
        HTTP attempts this run made (retries included; 0 for a fully cached re-run).
    job_id : str or None
        The batch job that transcribed the items (``mode="batch"``), None otherwise.

    Examples
    --------
    >>> result = client.transcribe_many({"a": "a.wav", "b": "b.wav"})  # doctest: +SKIP
    >>> result["a"].text, result.errors  # doctest: +SKIP
    >>> result.to_frame()[["name", "status", "seconds"]]  # doctest: +SKIP
    """

    def __init__(self, names: list[str]):
        self.names = list(names)
        self.errors: dict[str, Exception] = {}
        self.requests = 0
        self.job_id: str | None = None
        self._transcripts: dict[str, Transcript] = {}
        self._cached: set[str] = set()
        self._seconds: dict[str, float] = {}

    def __getitem__(self, name: str) -> Transcript:
        if name in self.errors:
            raise KeyError(f"{name!r} failed: {self.errors[name]}")
        return self._transcripts[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.names if name in self._transcripts)

    def __len__(self) -> int:
        return len(self._transcripts)

    @property
    def pending(self) -> list[str]:
        """Names neither transcribed nor failed (the run was interrupted before them)."""
        return [n for n in self.names if n not in self._transcripts and n not in self.errors]

    @property
    def from_cache(self) -> list[str]:
        """Names answered from the cache without a request."""
        return [n for n in self.names if n in self._cached]

    def status(self, name: str) -> str:
        """``"transcribed"``, ``"cached"``, ``"failed"`` or ``"pending"``."""
        if name in self.errors:
            return "failed"
        if name in self._cached:
            return "cached"
        return "transcribed" if name in self._transcripts else "pending"

    def _done(self, name: str, transcript: Transcript, *, cached: bool, seconds: float) -> None:
        self._transcripts[name] = transcript
        self._seconds[name] = seconds
        if cached:
            self._cached.add(name)

    def _failed(self, name: str, error: Exception, *, seconds: float) -> None:
        self.errors[name] = error
        self._seconds[name] = seconds

    def summary(self) -> str:
        """One line: how many items are in each status, and the requests sent.

        Examples
        --------
        >>> BatchResult(["a", "b"]).summary()
        '2 items: 0 transcribed, 0 failed, 2 pending; 0 requests'
        """
        counts = {"transcribed": 0, "cached": 0, "failed": 0, "pending": 0}
        for name in self.names:
            counts[self.status(name)] += 1
        parts = [f"{v} {k}" for k, v in counts.items() if v or k in ("transcribed", "failed")]
        return f"{len(self.names)} items: " + ", ".join(parts) + f"; {self.requests} requests"

    def __repr__(self) -> str:
        return f"<BatchResult {self.summary()}>"

    def _repr_html_(self) -> str:
        import html

        return f"<p><b>BatchResult</b> {html.escape(self.summary())}</p>" + self.to_frame()._repr_html_()

    def to_frame(self) -> pd.DataFrame:
        """One row per item: name, status, error, text, model, language, duration, segments, seconds."""
        import pandas as pd

        rows = []
        for name in self.names:
            t = self._transcripts.get(name)
            error = self.errors.get(name)
            rows.append(
                {
                    "name": name,
                    "status": self.status(name),
                    "error": f"{type(error).__name__}: {error}" if error is not None else pd.NA,
                    "text": t.text if t is not None else pd.NA,
                    "model": t.model if t is not None else pd.NA,
                    "language": (t.language if t is not None else None) or pd.NA,
                    "duration": t.duration if t is not None and t.duration is not None else float("nan"),
                    "n_segments": len(t.segments) if t is not None else pd.NA,
                    "seconds": self._seconds.get(name, float("nan")),
                    "audio_sha256": t.audio_sha256 if t is not None else pd.NA,
                }
            )
        # the columns named: a run of no items is an empty table, not one without columns
        frame = pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))
        for column in ("name", "error", "text", "model", "language", "audio_sha256"):
            frame[column] = frame[column].astype("string")
        frame["status"] = pd.Categorical(
            frame["status"], categories=["transcribed", "cached", "failed", "pending"]
        )
        frame["n_segments"] = frame["n_segments"].astype("Int64")
        return frame


_FRAME_COLUMNS = (
    "name",
    "status",
    "error",
    "text",
    "model",
    "language",
    "duration",
    "n_segments",
    "seconds",
    "audio_sha256",
)


def cache_inputs(runner: Any, audio_sha256: str, request: dict[str, Any]) -> dict[str, Any]:
    """What identifies one item's response in the transcription cache (:func:`voxnb.cache.cache_key`):
    the audio, the runner's backend and server, and the request record. Runs of single requests,
    batch jobs and Dask tasks use the same inputs, so each finds the others' results."""
    return {
        "audio_sha256": audio_sha256,
        "backend": runner.backend,
        "base_url": runner.base_url,
        "request": request,
    }


def named_items(items: Any) -> list[tuple[str, Any]]:
    if isinstance(items, Mapping):
        named = [(str(k), v) for k, v in items.items()]
    elif isinstance(items, (str, bytes, os.PathLike)) or not hasattr(items, "__iter__"):
        raise ParameterError(
            "transcribe_many() takes a list of recordings or a dict name → recording; for one "
            "recording use transcribe()"
        )
    else:
        named = []
        for i, item in enumerate(items):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                named.append(item)
                continue
            audio = item.get("audio") if isinstance(item, Mapping) else item
            named.append((str(audio) if isinstance(audio, (str, Path)) else f"item{i}", item))
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})[:3]
        raise ParameterError(
            f"transcribe_many() got the same name more than once ({duplicated}); pass a dict with "
            "unique names"
        )
    return named


async def plan_items(
    runner: Runner, named: list[tuple[str, Any]], *, sr: int | None, options: dict[str, Any]
) -> list[tuple[str, Any, int | None, TranscriptionRequest]]:
    """Each item as (name, audio, sr, its resolved request), all checked before anything is sent.

    An item given as a mapping ``{"audio": ..., **options}`` overrides the call's options (and
    ``sr``) for itself; the other items share the call's request, resolved once.
    """
    shared = await runner.prepare(**options)
    plan = []
    for name, item in named:
        if not isinstance(item, Mapping):
            plan.append((name, item, sr, shared))
            continue
        if "audio" not in item:
            raise ParameterError(
                f"transcribe_many() item {name!r} is a mapping without 'audio'; write it as "
                "{'audio': recording, 'context_bias': [...], ...}"
            )
        own = {k: v for k, v in item.items() if k not in ("audio", "sr")}
        try:
            request = await runner.prepare(**{**options, **own}) if own else shared
        except ParameterError as err:
            raise ParameterError(f"transcribe_many() item {name!r}: {err}", option=err.option) from None
        plan.append((name, item["audio"], item.get("sr", sr), request))
    return plan


async def transcribe_item(
    runner: Runner, store: TranscriptCache | None, audio: Any, sr: int | None, request: TranscriptionRequest
) -> tuple[Transcript, bool]:
    """One item, start to end: load, answer from the cache or send, build, remember.

    Returns the Transcript and whether it came from the cache. The same steps run in this
    process and on a Dask worker (:mod:`voxnb.cluster`); the entry is written the moment the
    item is done, atomically and under its content address, so running it twice leaves one.
    """
    source = await runner.load(audio, sr=sr)
    inputs = cache_inputs(runner, source.sha256, request.record())
    if store is not None:
        cached = await asyncio.to_thread(store.lookup, **inputs)
        if cached is not None:
            return await runner.build(cached, source, request), True
    response = await runner.send(source, request)
    transcript = await runner.build(response, source, request)
    if store is not None:
        await asyncio.to_thread(store.remember, response, **inputs)
    return transcript, False


async def run_many(
    runner: Runner,
    items: Any,
    *,
    concurrency: int,
    cache: Any,
    progress: bool,
    sr: int | None,
    options: dict[str, Any],
    executor: Any = None,
) -> BatchResult:
    """Transcribe *items* with at most *concurrency* in flight (see :meth:`voxnb.Client.transcribe_many`).

    With *executor* (a ``dask.distributed.Client``) every item is a task on the cluster; against
    a server, *concurrency* is then one limit for the whole cluster.
    """
    _check_concurrency(concurrency)
    store = open_cache(cache)
    plan = await plan_items(runner, named_items(items), sr=sr, options=options)
    jobs = [(name, (store, audio, item_sr, request)) for name, audio, item_sr, request in plan]
    return await run_jobs(
        runner,
        jobs,
        transcribe_item,
        concurrency=concurrency,
        progress=progress,
        executor=executor,
        task="transcribe",
        desc="transcribing",
    )


def _check_concurrency(concurrency: Any) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ParameterError(
            f"concurrency must be a positive integer; got {concurrency!r}", option="concurrency"
        )


async def run_jobs(
    runner: Runner,
    jobs: list[tuple[str, tuple[Any, ...]]],
    work: Callable[..., Awaitable[tuple[Transcript, bool]]],
    *,
    concurrency: int,
    progress: bool,
    executor: Any = None,
    task: str,
    desc: str,
) -> BatchResult:
    """Run ``work(runner, *args)`` for every ``(name, args)`` job: in this process, or on a Dask cluster.

    In this process, *concurrency* jobs are in flight on this event loop; with *executor*, each
    job is a task (named ``voxnb-<task>`` on the dashboard) and each worker builds its own runner once
    (:func:`voxnb.cluster.run_on_cluster`). Either way the :class:`BatchResult` is filled as
    jobs finish (one failure never stops the others) and stays reachable as ``runner.last_batch``.
    """
    _check_concurrency(concurrency)
    if not isinstance(progress, bool):
        raise ParameterError(f"progress= is True or False; got {progress!r}", option="progress")
    result = BatchResult([name for name, _ in jobs])
    runner.last_batch = result  # type: ignore[attr-defined]
    requests_before = runner.requests_sent

    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), disable=not progress, desc=desc, unit="file")

    def record(name: str, value: Any, cached: bool, error: Exception | None, seconds: float) -> None:
        if error is None:
            result._done(name, value, cached=cached, seconds=seconds)
        else:
            if not isinstance(error, VoxnbError):
                log.warning("item %r failed unexpectedly: %s: %s", name, type(error).__name__, error)
            result._failed(name, error, seconds=seconds)
        bar.update(1)
        if result.errors or result._cached:
            bar.set_postfix(failed=len(result.errors), cached=len(result._cached), refresh=False)

    queue = iter(jobs)

    async def worker() -> None:
        for name, args in queue:
            started = time.perf_counter()
            try:
                value, cached = await work(runner, *args)
            except Exception as err:  # one bad item must not stop the others
                record(name, None, False, err, time.perf_counter() - started)
            else:
                record(name, value, cached, None, time.perf_counter() - started)
            finally:
                result.requests = runner.requests_sent - requests_before

    try:
        if executor is None:
            await asyncio.gather(*(worker() for _ in range(min(concurrency, max(len(jobs), 1)))))
        else:
            from voxnb.cluster import run_on_cluster

            def counted(
                name: str, value: Any, cached: bool, error: Exception | None, seconds: float, requests: int
            ) -> None:
                result.requests += requests
                record(name, value, cached, error, seconds)

            limit = None if runner.backend == "local" else concurrency  # a server's limit is global
            await run_on_cluster(executor, runner, jobs, work, limit=limit, task=task, on_done=counted)
    finally:
        if executor is None:
            result.requests = runner.requests_sent - requests_before
        bar.close()
    if result.errors:
        log.warning("%s: %d of %d items failed; see result.errors", task, len(result.errors), len(jobs))
    return result
