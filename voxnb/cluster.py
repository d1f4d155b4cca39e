"""Many recordings on a Dask cluster: every item a task, every worker its own engine, one cache.

:func:`run_on_cluster` is what :func:`voxnb.runs.run_jobs` does when it is given
``executor=`` (a ``dask.distributed.Client``): the jobs become tasks named ``voxnb-<task>``
(one progress bar per kind on the Dask dashboard), and each task runs the same item function
as the in-process run (:func:`voxnb.runs.transcribe_item`) on a worker. Nothing here is a
scheduler: Dask places, retries and re-runs tasks; this module only

- ships a *recipe* of the runner (``runner.worker_recipe()``: the engine's model path, or the
  server's URL and dialect — never an API key) from which each worker thread builds its own
  runner once and keeps it (a module-level, per-thread cache: the offline engine loads once per
  worker thread, with ``$OMP_NUM_THREADS`` CTranslate2 threads, which Dask sets to 1), and lets
  glibc reuse the engine's large buffers again in the worker (see :func:`_keep_large_buffers`);
- bounds the requests a cluster sends to a server by one ``distributed.Semaphore`` (so a
  cluster does not multiply a rate limit);
- sends back each item's Transcript without its audio samples, and fills the
  :class:`~voxnb.runs.BatchResult` and the progress bar as tasks finish.

A worker that dies takes its running tasks with it; the scheduler runs them again elsewhere,
and because a cache entry's name is its content address and it is written atomically, the
re-run writes the same entry once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import os
import pickle
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from voxnb.errors import MissingDependencyError, ParameterError, VoxnbError

__all__ = ["check_executor", "describe", "run_on_cluster"]

log = logging.getLogger("voxnb")

#: runners kept per worker thread (a recipe is a few strings; an engine is the expensive part)
_MAX_RUNNERS = 4
# this process's worker-side state, by thread: what Dask calls worker-local state
_runners: dict[int, dict[Any, Any]] = {}
_loops: dict[int, asyncio.AbstractEventLoop] = {}
_semaphores: dict[tuple[str, int], Any] = {}
_lock = threading.Lock()


def check_executor(executor: Any) -> None:
    """Refuse anything but a running, synchronous ``dask.distributed.Client``."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError(
            "distributed", "cluster", "running on a Dask cluster (executor=)"
        ) from None
    if not isinstance(executor, Client):
        raise ParameterError(
            f"executor= takes a dask.distributed.Client, e.g. Client(LocalCluster(n_workers=4, "
            f"threads_per_worker=1)); got {type(executor).__name__}",
            option="executor",
        )
    if executor.asynchronous:
        raise ParameterError(
            "executor= needs a synchronous dask Client (Client(...) without asynchronous=True)",
            option="executor",
        )
    if executor.status != "running":
        raise ParameterError(
            f"the dask Client is {executor.status}, not running: connect it again", option="executor"
        )


def describe(executor: Any) -> str:
    """``on Dask: 2 workers, 2 threads, dashboard http://...`` for the announcement line."""
    check_executor(executor)
    workers = executor.scheduler_info(n_workers=-1).get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    return f"on Dask: {len(workers)} workers, {threads} threads, dashboard {executor.dashboard_link}"


async def run_on_cluster(
    executor: Any,
    runner: Any,
    jobs: list[tuple[str, tuple[Any, ...]]],
    work: Callable[..., Awaitable[tuple[Any, bool]]],
    *,
    limit: int | None,
    task: str,
    on_done: Callable[[str, Any, bool, Exception | None, float, int], None],
) -> None:
    """Run ``work(runner, *args)`` for every ``(name, args)`` job as a task on *executor*.

    Parameters
    ----------
    executor : dask.distributed.Client
        The cluster.
    runner : object
        The runner of this process; its ``worker_recipe()`` tells workers how to build theirs.
    jobs : list of (name, args)
        One task each, keyed ``voxnb-<task>-<i>-<run>``.
    work : async function
        A module-level ``work(runner, *args) -> (value, cached)`` (shipped by reference).
    limit : int, optional
        At most this many ``send`` steps at once across the whole cluster (a Dask semaphore).
    task : str
        The task name on the dashboard (``transcribe``, ``align``).
    on_done : callable
        ``on_done(name, value, cached, error, seconds, requests)`` as each task finishes, in
        this coroutine's thread.
    """
    check_executor(executor)
    recipe = runner.worker_recipe()
    problems = {w: p for w, p in executor.run(recipe.check_worker).items() if p}
    if problems:
        worker, problem = next(iter(problems.items()))
        raise ParameterError(f"{len(problems)} Dask worker(s) cannot run this ({worker}: {problem})")
    if not jobs:
        return
    from distributed import as_completed

    gate = (f"voxnb-{runner.backend}-{runner.base_url}-{limit}", limit) if limit else None
    run = uuid.uuid4().hex
    keys = [f"voxnb-{task}-{i}-{run}" for i in range(len(jobs))]
    names = dict(zip(keys, (name for name, _ in jobs)))
    columns = list(zip(*(args for _, args in jobs)))
    futures = executor.map(_run_job, *columns, key=keys, pure=False, recipe=recipe, work=work, gate=gate)
    finished = iter(as_completed(futures, with_results=True, raise_errors=False))
    try:
        while (pair := await asyncio.to_thread(next, finished, None)) is not None:
            future, outcome = pair
            if future.cancelled():
                continue
            if isinstance(outcome, BaseException):  # the task itself failed (e.g. killed too often)
                on_done(names[future.key], None, False, _as_exception(outcome), math.nan, 0)
            else:
                on_done(names[future.key], *outcome)
            future.release()
    finally:
        unfinished = [f for f in futures if not f.done()]
        if unfinished:  # interrupted: what is queued on the cluster stops too
            executor.cancel(unfinished)


def _as_exception(error: BaseException) -> Exception:
    return error if isinstance(error, Exception) else VoxnbError(f"{type(error).__name__}: {error}")


# -- on the worker --------------------------------------------------------------------------------


def _run_job(
    *args: Any, recipe: Any, work: Callable[..., Awaitable[tuple[Any, bool]]], gate: tuple[str, int] | None
) -> tuple[Any, bool, Exception | None, float, int]:
    """One task: this thread's runner does the job; the outcome (never an exception) goes back."""
    started = time.perf_counter()
    runner = _runner_here(recipe)
    before = runner.requests_sent
    try:
        value, cached = _loop_here().run_until_complete(
            work(_Gated(runner, _semaphore(*gate)) if gate else runner, *args)
        )
    except Exception as err:  # an item's failure is data, as in this process
        return None, False, _portable_error(err), time.perf_counter() - started, runner.requests_sent - before
    return _without_audio(value), cached, None, time.perf_counter() - started, runner.requests_sent - before


def _runner_here(recipe: Any) -> Any:
    """This worker thread's runner for *recipe*, built on first use (the engine loads once)."""
    with _lock:
        runners = _runners.setdefault(threading.get_ident(), {})
    runner = runners.get(recipe)
    if runner is None:
        _keep_large_buffers()
        runner = runners[recipe] = recipe()
        while len(runners) > _MAX_RUNNERS:
            runners.pop(next(iter(runners)))
    return runner


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_malloc_tuned = False


def _keep_large_buffers() -> None:
    """Let glibc keep the engine's large buffers on the heap again in this worker process (once).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``; any explicit malloc setting
    also freezes glibc's mmap threshold at 128 kB, so every buffer the engine allocates per call
    (spectrograms, encoder activations) is mapped and unmapped each time: measured, three to four
    times the system CPU and a third more CPU per file. A 32 MiB mmap threshold (glibc's own
    upper bound) restores the reuse and keeps Dask's trimming of the heap top.
    """
    global _malloc_tuned
    if _malloc_tuned or not sys.platform.startswith("linux") or not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    _malloc_tuned = True
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, ...): nothing to undo
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 32 << 20)


def _loop_here() -> asyncio.AbstractEventLoop:
    """This worker thread's event loop, kept so an HTTP runner's connections outlive one task."""
    loop = _loops.get(threading.get_ident())
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        with _lock:
            _loops[threading.get_ident()] = loop
    return loop


def _semaphore(name: str, leases: int) -> Any:
    from distributed import Semaphore

    with _lock:
        semaphore = _semaphores.get((name, leases))
        if semaphore is None:
            semaphore = _semaphores[name, leases] = Semaphore(max_leases=leases, name=name)
        return semaphore


class _Gated:
    """A runner whose ``send`` holds a lease of the cluster-wide semaphore while it runs."""

    def __init__(self, runner: Any, semaphore: Any):
        self._runner = runner
        self._semaphore = semaphore

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    async def send(self, source: Any, request: Any) -> dict[str, Any]:
        # blocking is fine: this thread's loop runs this one task
        self._semaphore.acquire()
        try:
            return await self._runner.send(source, request)
        finally:
            self._semaphore.release()


def _without_audio(value: Any) -> Any:
    """A Transcript without its samples: the client needs the text and tables, not the audio back."""
    if getattr(value, "audio", None) is not None and hasattr(value, "_copy"):
        value = value._copy()
        value.audio = None
    return value


def _portable_error(err: Exception) -> Exception:
    """*err* if it survives pickling (to reach the client), else a VoxnbError saying what it was."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return VoxnbError(f"{type(err).__name__}: {err}")
    return err
