"""Mistral's Batch API for transcriptions: submit many items as one job, resume it anywhere, download.

:meth:`voxnb.AsyncClient.submit_batch` turns items (any audio :meth:`~voxnb.AsyncClient.transcribe`
takes, with per-item options as in ``transcribe_many``) into one job:

1. every item is checked (options by the request contract, audio before any upload) and looked
   up in the transcription cache with the same key a request-by-request run uses
   (:func:`voxnb.runs.cache_inputs`): cached items are not submitted;
2. local audio is uploaded through the Files API (``purpose="audio"``, each distinct recording
   once); URLs and file ids are used as they are;
3. one JSONL line per item, ``{"custom_id": <item name>, "body": {...}}``, the body being the
   request's JSON wire form (:meth:`voxnb.request.TranscriptionRequest.json_body`) plus
   ``file_id`` or ``file_url``, is uploaded (``purpose="batch"``);
4. the job is created (``POST /v1/batch/jobs``: endpoint, input file, the model, metadata).

The handle's state (job id, server, every item's name, audio hash and request record; never the
key) is written atomically to ``<cache>/batch-jobs/<job id>.json``, so a new kernel resumes with
:meth:`voxnb.Client.batch_job` and the id. The handle polls with a progress bar, cancels, and
downloads the results into a :class:`voxnb.runs.BatchResult` keyed by item: per-item failures are
data (:class:`BatchItemError`), and every success goes into the transcription cache, so running
the same submission again sends nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxnb._atomic import write_atomic
from voxnb.cache import TranscriptCache, cache_key, default_cache_dir, open_cache
from voxnb.errors import APIError, ParameterError, ResponseFormatError, VoxnbError
from voxnb.runs import BatchResult, cache_inputs, named_items, plan_items

if TYPE_CHECKING:
    from voxnb.api.client import AsyncClient

__all__ = [
    "ENDPOINT",
    "AsyncBatchJob",
    "BatchItemError",
    "BatchJob",
    "BatchWaitTimeout",
    "resume_batch",
    "submit_batch",
]

log = logging.getLogger("voxnb.api")

ENDPOINT = "/v1/audio/transcriptions"
STATE_FORMAT = "voxnb.batch-job/1"
#: job statuses in which the job is still working (``mistralai``'s ``RUNNING_STATUSES``)
RUNNING = ("QUEUED", "RUNNING", "CANCELLATION_REQUESTED")
#: Mistral's documented limits per job
MAX_REQUESTS = 100_000
MAX_BATCH_FILE_BYTES = 512 * 1024 * 1024
_UPLOADS_IN_FLIGHT = 8


class BatchItemError(APIError):
    """One item of a batch job failed, or was not run (the job was cancelled or timed out).

    Attributes
    ----------
    status : int or None
        The status code of the item's response (None when it was not run).
    message : str
        What the server said about the item.
    custom_id : str
        The item's ``custom_id`` in the job.
    """

    def __init__(self, message: str, *, status: int | None = None, custom_id: str = ""):
        super().__init__(message, status=status)
        self.custom_id = custom_id


class BatchWaitTimeout(VoxnbError, TimeoutError):
    """:meth:`AsyncBatchJob.wait` gave up; the job itself keeps running."""


# -- submitting ------------------------------------------------------------------------------------


async def submit_batch(
    client: AsyncClient,
    items: Any,
    *,
    cache: Any = True,
    sr: int | None = None,
    metadata: Mapping[str, str] | None = None,
    timeout_hours: int = 24,
    resume: bool = True,
    progress: bool = True,
    options: dict[str, Any],
) -> AsyncBatchJob:
    """See :meth:`voxnb.AsyncClient.submit_batch`."""
    if isinstance(timeout_hours, bool) or not isinstance(timeout_hours, int) or not 1 <= timeout_hours <= 168:
        raise ParameterError(f"timeout_hours must be a whole number from 1 to 168; got {timeout_hours!r}")
    if metadata is not None and (
        not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise ParameterError("metadata must map names to strings, e.g. {'project': 'bias-lab'}")
    if await client.detect() != "mistral":
        raise ParameterError(
            f"{client.base_url} speaks the OpenAI dialect (vLLM), which has no Batch API; use "
            "transcribe_many() there, or Mistral's API / `voxnb serve` for batch jobs",
            option="mode",
        )
    plan = await plan_items(client, named_items(items), sr=sr, options=options)
    if len(plan) > MAX_REQUESTS:
        raise ParameterError(f"a batch job holds at most {MAX_REQUESTS} items; got {len(plan)}: split them")
    models = sorted({request.model for *_, request in plan if request.model})
    if len(models) > 1:
        raise ParameterError(
            f"a batch job runs one model, and these items ask for {models}; submit one job per model",
            option="model",
        )
    for name, _, _, request in plan:
        if request.align_words:
            raise ParameterError(
                f"item {name!r}: {request.model} gives no word times, and a batch job returns what the "
                "model gives; ask timestamps='segment', then align the transcripts with voxnb.align(t, audio)",
                option="words",
            )
    store = open_cache(cache)
    states = _JobStates(store)
    items_state, sources, cached = [], {}, []
    for name, audio, item_sr, request in plan:
        source = await client.load(audio, sr=item_sr)
        inputs = cache_inputs(client, source.sha256, request.record())
        entry = {"name": name, "custom_id": name, "source": source.kind, **inputs}
        items_state.append(entry)
        if store is not None and await asyncio.to_thread(store.lookup, **inputs) is not None:
            cached.append(name)
        else:
            sources[name] = (source, request)
    fingerprint = _fingerprint(client.base_url, [e for e in items_state if e["name"] in sources])
    if resume and sources:
        earlier = states.find(fingerprint)
        if earlier is not None:
            job = AsyncBatchJob(client, earlier, store)
            try:
                await job.refresh()
            except APIError as err:
                log.info("batch job %s cannot be resumed (%s); submitting again", earlier["job_id"], err)
            else:
                if job.status not in ("CANCELLED", "FAILED", "TIMEOUT_EXCEEDED"):
                    log.info("resuming batch job %s (the same items were submitted before)", job.id)
                    return job
    state: dict[str, Any] = {
        "format": STATE_FORMAT,
        "job_id": None,
        "base_url": client.base_url,
        "backend": client.backend,
        "model": models[0] if models else None,
        "created": time.time(),
        "fingerprint": fingerprint,
        "items": items_state,
        "cached": cached,
        "uploads": [],
        "input_file": None,
        "downloaded": False,
    }
    if not sources:  # everything is cached: a handle with no job, whose result comes from the cache
        return AsyncBatchJob(client, state, store)
    uploads = await _upload_audio(client, sources, progress=progress)
    state["uploads"] = sorted(set(uploads.values()))
    lines = []
    for name, (source, request) in sources.items():
        where = {"file_id": uploads[source.sha256]} if source.data is not None else source.form_fields()
        lines.append(
            json.dumps({"custom_id": name, "body": {**request.json_body(), **where}}, ensure_ascii=False)
        )
    jsonl = ("\n".join(lines) + "\n").encode()
    if len(jsonl) > MAX_BATCH_FILE_BYTES:
        raise ParameterError(
            f"the batch file would be {len(jsonl) / 2**20:.0f} MB, over the API's 512 MB; split the items "
            "(known-speaker clips are inlined in every line: fewer items per job)"
        )
    state["input_file"] = await client._upload_part(
        ("voxnb-batch.jsonl", jsonl, "application/jsonl"), purpose="batch"
    )
    body: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "input_files": [state["input_file"]],
        "model": state["model"],
        "metadata": {"created_by": "voxnb", **(metadata or {})},
        "timeout_hours": timeout_hours,
    }
    job = await client._request_json("POST", "/v1/batch/jobs", json_body=body)
    if not isinstance(job, dict) or not job.get("id"):
        raise ResponseFormatError("POST /v1/batch/jobs answered without a job id")
    state["job_id"] = str(job["id"])
    handle = AsyncBatchJob(client, state, store, job=job)
    states.save(state)
    log.info("batch job %s submitted: %d items (%d from the cache)", handle.id, len(sources), len(cached))
    return handle


async def _upload_audio(client: AsyncClient, sources: dict[str, Any], *, progress: bool) -> dict[str, str]:
    """Each distinct local recording uploaded once (``purpose="audio"``): sha256 → file id."""
    from tqdm.auto import tqdm

    distinct = {source.sha256: source for source, _ in sources.values() if source.data is not None}
    uploads: dict[str, str] = {}
    bar = tqdm(total=len(distinct), disable=not progress or not distinct, desc="uploading audio", unit="file")
    queue = iter(distinct.items())

    async def worker() -> None:
        for sha, source in queue:
            uploads[sha] = await client._upload_part(source.file_part(), purpose="audio")
            bar.update(1)

    try:
        await asyncio.gather(*(worker() for _ in range(min(_UPLOADS_IN_FLIGHT, max(len(distinct), 1)))))
    finally:
        bar.close()
    return uploads


def _fingerprint(base_url: str, entries: list[dict[str, Any]]) -> str:
    keys = sorted(
        f"{e['name']}\0{cache_key(**{k: e[k] for k in ('audio_sha256', 'backend', 'base_url', 'request')})}"
        for e in entries
    )
    return hashlib.sha256("\n".join([base_url, *keys]).encode()).hexdigest()


# -- the handle's state on disk --------------------------------------------------------------------


class _JobStates:
    """Job handles kept as ``<cache>/batch-jobs/<job id>.json`` (the default cache folder without one)."""

    def __init__(self, store: TranscriptCache | None):
        # not `store or ...`: an empty cache is falsy (it has a length)
        self.directory = (store if store is not None else TranscriptCache(default_cache_dir())).jobs_directory

    def path(self, job_id: str) -> Path:
        if not job_id or any(c in job_id for c in "/\\\0") or job_id.startswith("."):
            raise ParameterError(f"{job_id!r} is not a batch job id")
        return self.directory / f"{job_id}.json"

    def save(self, state: dict[str, Any]) -> None:
        write_atomic(self.path(state["job_id"]), json.dumps(state, ensure_ascii=False))

    def load(self, job_id: str) -> dict[str, Any] | None:
        path = self.path(job_id)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise ParameterError(
                f"the saved state of batch job {job_id} ({path}) is unreadable: {err}"
            ) from None
        if (
            not isinstance(state, dict)
            or state.get("format") != STATE_FORMAT
            or state.get("job_id") != job_id
        ):
            raise ParameterError(f"{path} is not the saved state of batch job {job_id}")
        return state

    def find(self, fingerprint: str) -> dict[str, Any] | None:
        """The newest job submitted with the same items whose results were not downloaded yet."""
        if not self.directory.is_dir():
            return None
        found = []
        for path in self.directory.glob("*.json"):
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (
                isinstance(state, dict)
                and state.get("fingerprint") == fingerprint
                and not state.get("downloaded")
            ):
                found.append(state)
        return max(found, key=lambda s: s.get("created", 0)) if found else None


# -- the handle ------------------------------------------------------------------------------------


class AsyncBatchJob:
    """A submitted batch job: poll it, cancel it, download its results (async).

    Made by :meth:`voxnb.AsyncClient.submit_batch` or, in a new kernel, by
    :meth:`voxnb.AsyncClient.batch_job` from the job's id. :class:`BatchJob` is the same for
    synchronous code.

    Attributes
    ----------
    id : str or None
        The job's id (None when every item was in the cache and nothing was submitted).
    job : dict or None
        The job as the server last described it (``mistralai``'s ``BatchJob``).
    names : list of str
        The items, in submission order.
    """

    def __init__(
        self,
        client: AsyncClient,
        state: dict[str, Any],
        store: TranscriptCache | None,
        *,
        job: dict[str, Any] | None = None,
    ):
        self.client = client
        self.state = state
        self.store = store
        self.job = job
        self._states = _JobStates(store)

    @property
    def id(self) -> str | None:
        return self.state.get("job_id")

    @property
    def names(self) -> list[str]:
        return [item["name"] for item in self.state["items"]]

    @property
    def status(self) -> str:
        """The job's status as last seen (``QUEUED``, ``RUNNING``, ``SUCCESS``, ``CANCELLED``...);
        ``CACHED`` when nothing had to be submitted."""
        if self.id is None:
            return "CACHED"
        return str((self.job or {}).get("status") or self.state.get("status") or "UNKNOWN")

    @property
    def done(self) -> bool:
        """Whether the job has settled (any status but the running ones, as the SDK decides)."""
        return self.status not in RUNNING

    def counts(self) -> dict[str, int]:
        """``total``, ``completed``, ``succeeded``, ``failed`` requests, as last seen."""
        job = self.job or {}
        return {
            key: int(job.get(f"{key}_requests") or 0) for key in ("total", "completed", "succeeded", "failed")
        }

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<BatchJob {self.id or '(nothing submitted)'} {self.status}: {c['completed']}/{c['total']} done, "
            f"{c['failed']} failed; {len(self.names)} items, {len(self.state['cached'])} from the cache>"
        )

    async def refresh(self) -> AsyncBatchJob:
        """Ask the server for the job's state (``GET /v1/batch/jobs/{id}``)."""
        if self.id is None:
            return self
        job = await self.client._request_json("GET", f"/v1/batch/jobs/{self.id}")
        if not isinstance(job, dict) or job.get("id") != self.id:
            raise ResponseFormatError(f"GET /v1/batch/jobs/{self.id} answered with another job")
        changed = job.get("status") != self.state.get("status")
        self.job = job
        if changed:
            self.state["status"] = job.get("status")
            self._states.save(self.state)
        return self

    async def wait(
        self, *, progress: bool = True, poll_interval: float = 10.0, timeout: float | None = None
    ) -> AsyncBatchJob:
        """Poll until the job settles, with a progress bar (requests done of total, failed).

        Parameters
        ----------
        progress : bool
            Show a ``tqdm.auto`` bar.
        poll_interval : float
            The longest wait between two polls, in seconds (polls start fast and slow down).
            The waits go through the client's ``RetryPolicy.sleep``.
        timeout : float, optional
            Give up after this many seconds (the job keeps running; wait again or resume it).
        """
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or poll_interval <= 0
        ):
            raise ParameterError(f"poll_interval is in seconds, above 0; got {poll_interval!r}")
        from tqdm.auto import tqdm

        await self.refresh()
        if self.id is None:
            return self
        bar = tqdm(
            total=self.counts()["total"] or None,
            disable=not progress,
            desc=f"batch {self.id[:8]}",
            unit="req",
        )
        started, delay = time.monotonic(), min(0.2, poll_interval)
        try:
            while True:
                c = self.counts()
                bar.total = c["total"] or bar.total
                bar.n = c["completed"]
                bar.set_postfix(status=self.status, failed=c["failed"], refresh=False)
                bar.refresh()
                if self.done:
                    return self
                if timeout is not None and time.monotonic() - started > timeout:
                    raise BatchWaitTimeout(
                        f"batch job {self.id} still {self.status} after {timeout:g} s; it keeps running: "
                        f"wait again, or resume it later with client.batch_job({self.id!r})"
                    )
                await self.client.retry.wait(delay)
                delay = min(delay * 1.5, poll_interval)
                await self.refresh()
        finally:
            bar.close()

    async def cancel(self) -> AsyncBatchJob:
        """Ask the server to cancel the job; items already done stay downloadable."""
        if self.id is None:
            return self
        self.job = await self.client._request_json("POST", f"/v1/batch/jobs/{self.id}/cancel")
        self.state["status"] = (self.job or {}).get("status")
        self._states.save(self.state)
        return self

    async def result(
        self, *, wait: bool = True, progress: bool = True, poll_interval: float = 10.0
    ) -> BatchResult:
        """The job's results as a :class:`~voxnb.runs.BatchResult`: item name → Transcript, failures as data.

        Waits for the job first (unless *wait* is False: then a running job is refused). Items
        answered from the cache at submission are in it as ``cached``; every item the job ran
        successfully is written to the transcription cache; an item that failed, or that the
        job did not run (cancelled, timed out), is in ``.errors`` as a :class:`BatchItemError`.
        """
        requests_before = self.client.requests_sent
        if wait:
            await self.wait(progress=progress, poll_interval=poll_interval)
        elif self.id is not None:
            await self.refresh()
            if not self.done:
                raise ParameterError(f"batch job {self.id} is still {self.status}; wait for it (wait=True)")
        result = BatchResult(self.names)
        result.job_id = self.id
        entries = {item["custom_id"]: item for item in self.state["items"]}
        for name in self.state["cached"]:
            item = next(i for i in self.state["items"] if i["name"] == name)
            response = (
                None if self.store is None else await asyncio.to_thread(self.store.lookup, **_inputs(item))
            )
            if response is None:
                result._failed(name, BatchItemError("its cached response is gone; submit again"), seconds=0.0)
            else:
                result._done(name, self._transcript(response, item), cached=True, seconds=0.0)
        seen: set[str] = set()
        for file_id in ((self.job or {}).get("output_file"), (self.job or {}).get("error_file")):
            if not file_id:
                continue
            for line in await self._lines(file_id):
                await self._take(line, entries, seen, result)
        if self.id is not None:
            for item in self.state["items"]:
                if item["name"] not in seen and item["name"] not in self.state["cached"]:
                    result._failed(
                        item["name"],
                        BatchItemError(
                            f"not run: batch job {self.id} ended {self.status} before this item",
                            custom_id=item["custom_id"],
                        ),
                        seconds=0.0,
                    )
            self.state["downloaded"] = True
            self._states.save(self.state)
        result.requests = self.client.requests_sent - requests_before
        self.client.last_batch = result
        return result

    async def _lines(self, file_id: str) -> list[dict[str, Any]]:
        response = await self.client._request(
            "GET", f"/v1/files/{file_id}/content", accept="application/octet-stream"
        )
        lines = []
        for raw in response.content.splitlines():
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    raise ResponseFormatError(
                        f"the results file {file_id} holds a line that is not JSON"
                    ) from None
        return lines

    async def _take(
        self, line: Any, entries: dict[str, dict[str, Any]], seen: set[str], result: BatchResult
    ) -> None:
        """One output or error line into *result* (and the cache); ``mistralai``'s reading of a line."""
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        item = entries.get(str(custom_id)) if custom_id is not None else None
        if item is None:
            log.warning(
                "batch job %s returned a line for an unknown custom_id %r; skipped", self.id, custom_id
            )
            return
        name = item["name"]
        if name in seen:  # a duplicate line: the first one counts
            log.warning(
                "batch job %s returned custom_id %r twice; the first line is kept", self.id, custom_id
            )
            return
        seen.add(name)
        response = line.get("response") or {}
        status, error = response.get("status_code"), line.get("error")
        if error is not None or (isinstance(status, int) and status >= 400):
            message = _error_text(error, response.get("body"))
            result._failed(
                name, BatchItemError(message, status=status, custom_id=item["custom_id"]), seconds=0.0
            )
            return
        body = response.get("body")
        try:
            if not isinstance(body, dict):
                raise ResponseFormatError(f"the result of {name!r} has no response body")
            transcript = self._transcript(body, item)
        except VoxnbError as err:
            result._failed(name, err, seconds=0.0)
            return
        if self.store is not None:
            await asyncio.to_thread(self.store.remember, body, **_inputs(item))
        result._done(name, transcript, cached=False, seconds=0.0)

    def _transcript(self, response: dict[str, Any], item: dict[str, Any]) -> Any:
        return self.client.transcript_of(
            response,
            request=item["request"],
            audio_sha256=item["audio_sha256"],
            model=self.state.get("model"),
        )


def _inputs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("audio_sha256", "backend", "base_url", "request")}


def _error_text(error: Any, body: Any) -> str:
    for value in (error, body):
        if isinstance(value, dict):
            message = value.get("message", value)
            return message if isinstance(message, str) else json.dumps(message)
        if value is not None:
            return str(value)
    return "failed"


async def resume_batch(client: AsyncClient, job_id: str, *, cache: Any) -> AsyncBatchJob:
    """See :meth:`voxnb.AsyncClient.batch_job` (which holds the default of *cache*)."""
    if not isinstance(job_id, str) or not job_id.strip():
        raise ParameterError(f"job_id must be the id of a batch job, e.g. from job.id; got {job_id!r}")
    store = open_cache(cache)
    states = _JobStates(store)
    state = states.load(job_id)
    if state is None:
        raise ParameterError(
            f"no saved state of batch job {job_id} in {states.directory}: resume it with the cache= it was "
            "submitted with (or the same $VOXNB_CACHE_DIR)",
            option="job_id",
        )
    if state["base_url"] != client.base_url:
        raise ParameterError(
            f"batch job {job_id} was submitted to {state['base_url']}, not {client.base_url}; use a client of "
            "that server",
            option="job_id",
        )
    return await AsyncBatchJob(client, state, store).refresh()


# -- the sync mirror -------------------------------------------------------------------------------


class BatchJob:
    """A submitted batch job, for scripts and notebooks (see :class:`AsyncBatchJob`).

    Examples
    --------
    >>> job = client.submit_batch(sorted(Path("calls").glob("*.flac")), timestamps="segment")  # doctest: +SKIP
    >>> job.id                                                   # keep it: a new kernel resumes with it  # doctest: +SKIP
    >>> result = job.result()                                    # polls with a progress bar, then downloads  # doctest: +SKIP
    >>> result.errors                                            # failed items, as data  # doctest: +SKIP
    >>> job = voxnb.Client().batch_job("b6e1...")                # in a new kernel  # doctest: +SKIP
    """

    def __init__(self, job: AsyncBatchJob, run: Any):
        self._job = job
        self._run = run

    id = property(lambda self: self._job.id, doc="The job's id.")
    job = property(lambda self: self._job.job, doc="The job as the server last described it.")
    names = property(lambda self: self._job.names, doc="The items, in submission order.")
    status = property(lambda self: self._job.status, doc="The status as last seen.")
    done = property(lambda self: self._job.done, doc="Whether the job has settled.")

    def counts(self) -> dict[str, int]:
        return self._job.counts()

    def __repr__(self) -> str:
        return repr(self._job)

    def refresh(self) -> BatchJob:
        self._run(self._job.refresh())
        return self

    def wait(self, **options: Any) -> BatchJob:
        self._run(self._job.wait(**options))
        return self

    def cancel(self) -> BatchJob:
        self._run(self._job.cancel())
        return self

    def result(self, **options: Any) -> BatchResult:
        return self._run(self._job.result(**options))

    refresh.__doc__ = AsyncBatchJob.refresh.__doc__
    wait.__doc__ = AsyncBatchJob.wait.__doc__
    cancel.__doc__ = AsyncBatchJob.cancel.__doc__
    result.__doc__ = AsyncBatchJob.result.__doc__
