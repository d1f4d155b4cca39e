"""The Batch API of ``voxnb serve``: jobs of transcription requests run in the background.

Mistral's routes and shapes (``mistralai`` 3.7: ``CreateBatchJobRequest``, ``BatchJob``,
``ListBatchJobsResponse``; ``spec/mistral-api.md`` §8): ``POST /v1/batch/jobs`` creates a job
from uploaded ``.jsonl`` files (``purpose="batch"``) or inline ``requests``; ``GET
/v1/batch/jobs`` lists, ``GET /v1/batch/jobs/{id}`` reads (``?inline=true`` adds the results),
``POST /v1/batch/jobs/{id}/cancel`` cancels and ``DELETE /v1/batch/jobs/{id}`` deletes. Every line
is ``{"custom_id", "body"}`` with a JSON transcription body (``file_id`` or ``file_url``, the
options of :meth:`voxnb.request.TranscriptionRequest.json_body`), checked by the request
contract and run by the server's engine. Results are files again: ``output_file`` holds one
``{"id", "custom_id", "response": {"status_code": 200, "body": ...}, "error": null}`` line per
success, ``error_file`` one line per failure (``status_code`` ≥ 400 and an ``error``), both
downloaded with ``GET /v1/files/{id}/content``.

Jobs live in memory (like uploads) and run while the server runs; with ``--faults`` every line
draws the same injected failures and latency as an HTTP request.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from voxnb.errors import ParameterError
from voxnb.request import TranscriptionRequest
from voxnb.serve.app import _error_body, _refusal, _RequestFailed, _Server, _Upload, _validation
from voxnb.serve.app import _json_body as _parsed_json

__all__ = ["BatchJobs", "batch_routes"]

ENDPOINT = "/v1/audio/transcriptions"
#: Mistral's documented limits: requests per job, and inline requests per create call
MAX_REQUESTS = 100_000
MAX_INLINE = 10_000
#: lines in flight at once per job
CONCURRENCY = 4
RUNNING = ("QUEUED", "RUNNING", "CANCELLATION_REQUESTED")


@dataclass
class _Line:
    index: int
    custom_id: str | None
    body: Any
    problem: str | None = None  # the line could not be read as {"custom_id", "body"}


@dataclass
class _Job:
    id: str
    model: str
    input_files: list[str]
    metadata: dict[str, str] | None
    timeout_hours: int
    lines: list[_Line]
    created_at: int = field(default_factory=lambda: int(time.time()))
    status: str = "QUEUED"
    started_at: int | None = None
    completed_at: int | None = None
    output_file: str | None = None
    error_file: str | None = None
    results: dict[int, dict[str, Any]] = field(default_factory=dict)  # line index → output line
    succeeded: int = 0
    failed: int = 0

    def as_json(self, *, inline: bool = False) -> dict[str, Any]:
        """The job in ``mistralai``'s ``BatchJob`` shape."""
        messages = collections.Counter(
            _message(line["error"]) for line in self.results.values() if line["error"] is not None
        )
        return {
            "id": self.id,
            "object": "batch",
            "input_files": list(self.input_files),
            "metadata": self.metadata,
            "endpoint": ENDPOINT,
            "model": self.model,
            "agent_id": None,
            "output_file": self.output_file,
            "error_file": self.error_file,
            "errors": [{"message": m, "count": n} for m, n in messages.most_common(20)],
            "outputs": [self.results[i] for i in sorted(self.results)] if inline else None,
            "status": self.status,
            "created_at": self.created_at,
            "total_requests": len(self.lines),
            "completed_requests": self.succeeded + self.failed,
            "succeeded_requests": self.succeeded,
            "failed_requests": self.failed,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        }


def _message(error: Any) -> str:
    return str(error.get("message")) if isinstance(error, dict) else str(error)


def _read_lines(data: bytes, file_id: str, start: int) -> list[_Line]:
    lines: list[_Line] = []
    for raw in data.decode("utf-8", "replace").splitlines():
        if not raw.strip():
            continue
        index = start + len(lines)
        try:
            entry = json.loads(raw)
        except ValueError:
            lines.append(_Line(index, None, None, f"line {index + 1} of file {file_id} is not JSON"))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("body"), dict):
            lines.append(
                _Line(index, _custom_id(entry), None, f"line {index + 1} has no 'body' object: {raw[:80]!r}")
            )
            continue
        lines.append(_Line(index, _custom_id(entry), entry["body"]))
    return lines


def _custom_id(entry: Any) -> str | None:
    value = entry.get("custom_id") if isinstance(entry, dict) else None
    return None if value is None else str(value)


class BatchJobs:
    """The jobs of one server, and the routes that drive them."""

    def __init__(self, server: _Server):
        self.server = server
        self.jobs: dict[str, _Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # -- routes --------------------------------------------------------------------------------

    async def create(self, request: Any, record: Any) -> Any:
        from starlette.responses import JSONResponse

        body = await _json_body(request)
        record.json = body
        await self.server._inject(record)
        if body.get("endpoint") != ENDPOINT:
            raise _RequestFailed(
                400,
                f"voxnb serve runs batch jobs of {ENDPOINT} only; got endpoint {body.get('endpoint')!r}",
            )
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _validation("model", "a batch job of transcriptions needs a model", model, "missing")
        try:
            self.server.served(model)
        except ParameterError as err:
            raise _refusal(err) from None
        files, inline = body.get("input_files"), body.get("requests")
        if bool(files) == bool(inline):
            raise _validation("input_files", "give exactly one of input_files and requests", None)
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise _validation("metadata", "metadata must be an object of strings", metadata)
        hours = body.get("timeout_hours", 24)
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 168:
            raise _validation(
                "timeout_hours", "timeout_hours must be a whole number of hours from 1 to 168", hours
            )
        lines = self._inline(inline) if inline else self._from_files(files)
        if not lines:
            raise _RequestFailed(400, "the batch holds no request (the input files are empty)")
        if len(lines) > MAX_REQUESTS:
            raise _RequestFailed(400, f"a batch holds at most {MAX_REQUESTS} requests; got {len(lines)}")
        job = _Job(str(uuid.uuid4()), model, list(files or []), metadata, hours, lines)
        self.jobs[job.id] = job
        self._tasks[job.id] = asyncio.create_task(self._run(job))
        return JSONResponse(job.as_json())

    async def list_jobs(self, request: Any, record: Any) -> Any:
        from starlette.responses import JSONResponse

        await self.server._inject(record)
        query = request.query_params
        jobs = list(self.jobs.values())
        statuses = query.getlist("status")
        if statuses:
            jobs = [j for j in jobs if j.status in statuses]
        if query.get("model"):
            jobs = [j for j in jobs if j.model == query["model"]]
        if query.get("created_after"):
            after = _timestamp(query["created_after"])
            jobs = [j for j in jobs if j.created_at >= after]
        jobs.sort(key=lambda j: j.created_at, reverse=query.get("order_by", "-created") == "-created")
        page, size = _whole(query.get("page"), 0), _whole(query.get("page_size"), 100)
        chosen = jobs[page * size : (page + 1) * size]
        return JSONResponse({"object": "list", "total": len(jobs), "data": [j.as_json() for j in chosen]})

    async def get_job(self, request: Any, record: Any) -> Any:
        from starlette.responses import JSONResponse

        await self.server._inject(record)
        job = self._job(request.path_params["job_id"])
        inline = request.query_params.get("inline", "false").lower() == "true"
        return JSONResponse(job.as_json(inline=inline))

    async def cancel(self, request: Any, record: Any) -> Any:
        from starlette.responses import JSONResponse

        await self.server._inject(record)
        job = self._job(request.path_params["job_id"])
        if job.status in ("QUEUED", "RUNNING"):
            job.status = "CANCELLATION_REQUESTED"
        return JSONResponse(job.as_json())

    async def delete(self, request: Any, record: Any) -> Any:
        from starlette.responses import JSONResponse

        await self.server._inject(record)
        job = self._job(request.path_params["job_id"])
        task = self._tasks.pop(job.id, None)
        if task is not None and not task.done():
            task.cancel()
        del self.jobs[job.id]
        return JSONResponse({"id": job.id, "object": "batch", "deleted": True})

    # -- helpers -------------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise _RequestFailed(
                404, f"No batch job with id {job_id!r} on this server (jobs live in memory)", "not_found"
            ) from None

    def _inline(self, requests: Any) -> list[_Line]:
        if not isinstance(requests, list) or len(requests) > MAX_INLINE:
            raise _validation(
                "requests", f"requests must be a list of at most {MAX_INLINE} {{custom_id, body}}", None
            )
        return _read_lines("\n".join(json.dumps(r) for r in requests).encode(), "requests", 0)

    def _from_files(self, files: Any) -> list[_Line]:
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise _validation("input_files", "input_files must be a list of file ids", files)
        lines: list[_Line] = []
        for file_id in files:
            stored = self.server._stored(file_id)
            if stored.purpose != "batch":
                raise _RequestFailed(
                    400,
                    f"file {file_id} was uploaded with purpose={stored.purpose!r}; a batch input file needs "
                    "purpose='batch'",
                )
            lines += _read_lines(stored.data, file_id, len(lines))
        return lines

    # -- running -------------------------------------------------------------------------------

    async def _run(self, job: _Job) -> None:
        job.status, job.started_at = "RUNNING", int(time.time())
        deadline = time.monotonic() + job.timeout_hours * 3600
        todo: asyncio.Queue[_Line] = asyncio.Queue()
        for line in job.lines:
            todo.put_nowait(line)

        async def worker() -> None:
            while job.status == "RUNNING" and not todo.empty():
                if time.monotonic() > deadline:
                    job.status = "TIMEOUT_EXCEEDED"
                    return
                line = todo.get_nowait()
                job.results[line.index] = await self._line(job, line)
                if job.results[line.index]["error"] is None:
                    job.succeeded += 1
                else:
                    job.failed += 1

        await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(job.lines)))))
        self._write_results(job)
        job.status = {"CANCELLATION_REQUESTED": "CANCELLED", "RUNNING": "SUCCESS"}.get(job.status, job.status)
        job.completed_at = int(time.time())

    async def _line(self, job: _Job, line: _Line) -> dict[str, Any]:
        """One request of the job, as its output line (a success or a failure, never an exception)."""
        try:
            if line.problem is not None:
                raise _RequestFailed(400, line.problem)
            result = await self._transcribe(job, line.body)
        except _RequestFailed as failure:
            return {
                "id": f"batch-{uuid.uuid4().hex}",
                "custom_id": line.custom_id,
                "response": {
                    "status_code": failure.status,
                    "body": _error_body(failure.status, failure.message, failure.type, failure.code),
                },
                "error": {"message": _message({"message": failure.message}), "code": failure.status},
            }
        return {
            "id": f"batch-{uuid.uuid4().hex}",
            "custom_id": line.custom_id,
            "response": {"status_code": 200, "body": {**result, "finish_reason": None}},
            "error": None,
        }

    async def _transcribe(self, job: _Job, body: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("file_id", "file_url") if body.get(name)]
        if len(given) != 1:
            raise _validation("file_id", "each request body needs exactly one of file_id and file_url", given)
        try:
            wanted = TranscriptionRequest.from_body(body, model=job.model)
            resolved = wanted.resolve(self.server.served(job.model))
        except ParameterError as err:
            raise _refusal(err) from None
        if body.get("file_id"):
            data = self.server._stored(str(body["file_id"])).data
        else:
            data = self.server._file_from_url(str(body["file_url"]))
        samples = await self.server._decoded(data)
        await self.server._inject_line()
        return await self.server.transcribe_samples(samples, resolved)

    def _write_results(self, job: _Job) -> None:
        """The output and error files of the lines that ran (a cancelled job's too)."""
        done = [job.results[i] for i in sorted(job.results)]
        for kind, lines in (
            ("batch_result", [line for line in done if line["error"] is None]),
            ("batch_error", [line for line in done if line["error"] is not None]),
        ):
            if not lines:
                continue
            file_id = str(uuid.uuid4())
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            self.server.files[file_id] = _Upload(
                f"{job.id}.{'output' if kind == 'batch_result' else 'error'}.jsonl",
                "application/jsonl",
                data,
                "batch",
                int(time.time()),
                sample_type=kind,
                source="mistral",
            )
            if kind == "batch_result":
                job.output_file = file_id
            else:
                job.error_file = file_id


async def _json_body(request: Any) -> dict[str, Any]:
    try:  # refuses what is not JSON, and JSON nested deeper than any request (no RecursionError: 500)
        body = _parsed_json(await request.body())
    except _RequestFailed:
        raise _RequestFailed(
            400, "the body must be JSON: {endpoint, model, input_files | requests}"
        ) from None
    if not isinstance(body, dict):
        raise _RequestFailed(400, "the body must be a JSON object")
    return body


def _whole(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except ValueError:
        raise _validation("page", "page and page_size must be whole numbers", value) from None


def _timestamp(value: str) -> int:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise _validation("created_after", "created_after must be an ISO 8601 date-time", value) from None


def batch_routes(server: _Server) -> list[Any]:
    """The ``/v1/batch/jobs`` routes over *server*'s engine, files and faults."""
    from starlette.routing import Route

    jobs = BatchJobs(server)
    return [
        Route("/v1/batch/jobs", server.handler(jobs.create), methods=["POST"]),
        Route("/v1/batch/jobs", server.handler(jobs.list_jobs), methods=["GET"]),
        Route("/v1/batch/jobs/{job_id}", server.handler(jobs.get_job), methods=["GET"]),
        Route("/v1/batch/jobs/{job_id}", server.handler(jobs.delete), methods=["DELETE"]),
        Route("/v1/batch/jobs/{job_id}/cancel", server.handler(jobs.cancel), methods=["POST"]),
    ]
