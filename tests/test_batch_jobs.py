"""Mistral's Batch API for transcriptions, client and server, over real sockets.

The client (:meth:`voxnb.Client.submit_batch`) talks to ``voxnb serve``'s batch endpoints; what
goes over the wire (the JSONL lines, the job request) and what comes back (jobs, lists, result
files) is checked field by field against the ``mistralai`` SDK's own models, and the SDK's own
batch client drives the server too. The deterministic engine's text depends only on the audio,
so every item's transcript can be checked against the engine run locally: nothing lost,
nothing swapped, nothing duplicated.
"""

from __future__ import annotations

import asyncio
import json
import locale
import os
import re
import subprocess
import sys
import time

import httpx
import mistralai.client.models as mistral_models
import pytest

import voxnb
from voxnb.api.batch import AsyncBatchJob, BatchItemError, _error_text
from voxnb.api.retry import RetryPolicy
from voxnb.errors import APIError, ParameterError, ResponseFormatError
from voxnb.local.fake import FakeEngine

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
MODEL = "voxtral-mini-transcribe-3"


def engine_text(wav: bytes) -> str:
    """What the deterministic engine says about *wav*, computed here without any server."""
    return FakeEngine().transcribe(voxnb.Audio.load(wav).y)["text"]


def input_lines(server, job_id: str) -> tuple[dict, list[dict]]:
    """The request that created job *job_id* as the server received it, and its input file's lines."""
    input_files = httpx.get(f"{server.url}/v1/batch/jobs/{job_id}").json()["input_files"]
    create = next(
        r.json
        for r in server.recorder.matching("/v1/batch/jobs")
        if r.method == "POST" and r.status == 200 and r.json["input_files"] == input_files
    )
    return create, _lines_of(server.app.state.files[input_files[0]].data)


def _lines_of(data: bytes) -> list:
    """The objects of a JSONL file's bytes."""
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def batch_posts(server) -> int:
    """How many jobs were created on *server* (``POST /v1/batch/jobs``)."""
    return len([r for r in server.recorder.matching("/v1/batch/jobs") if r.method == "POST"])


def test_a_job_round_trip_and_its_wire_checked_against_the_mistralai_models(
    start_voxnb_server, tmp_path, tiny_wav
):
    from mistralai.extra.batch import BatchOutput

    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {f"rec{k}": tiny_wav(k, 0.5) for k in range(6)}
    # language= goes without timestamps (the contract's rule for Mistral's models)
    items["biased"] = {"audio": tiny_wav(50, 0.5), "context_bias": ["Alpha Romeo", "Tango"], "language": "en",
                       "timestamps": None}  # fmt: skip
    items["diarized"] = {"audio": tiny_wav(51, 1.0), "diarize": True}
    job = client.submit_batch(
        items, model=MODEL, timestamps="segment", cache=tmp_path, progress=False, metadata={"project": "t"}
    )
    assert job.id and job.status in ("QUEUED", "RUNNING", "SUCCESS")
    result = job.result(progress=False, poll_interval=0.05)
    assert len(result) == 8 and not result.errors and result.job_id == job.id
    assert job.status == "SUCCESS" and job.counts() == {
        "total": 8,
        "completed": 8,
        "succeeded": 8,
        "failed": 0,
    }
    for name, item in items.items():
        audio = item["audio"] if isinstance(item, dict) else item
        if name != "biased":
            assert result[name].text == engine_text(audio), name
    assert result["biased"].text != engine_text(items["biased"]["audio"]) or "Tango" in result["biased"].text
    assert result["diarized"].segments["speaker"].notna().all()
    assert (
        result["rec0"].request["timestamp_granularities"] == ["segment"]
        and result["rec0"].model == FakeEngine.model
    )

    # the job request: every field a CreateBatchJobRequest field, values kept as sent
    create, lines = input_lines(server, job.id)
    sdk_create = mistral_models.CreateBatchJobRequest.model_validate(create)
    assert sdk_create.model_dump(mode="json", by_alias=True) == create
    assert create["endpoint"] == "/v1/audio/transcriptions" and create["model"] == MODEL
    assert create["metadata"] == {"created_by": "voxnb", "project": "t"} and create["timeout_hours"] == 24
    # the JSONL: BatchRequest lines whose bodies are AudioTranscriptionRequest fields, as the SDK writes them
    assert [line["custom_id"] for line in lines] == list(items)
    body_fields = set(mistral_models.AudioTranscriptionRequest.model_fields) - {"model", "file", "stream"}
    for line in lines:
        assert mistral_models.BatchRequest.model_validate(line).model_dump(mode="json", by_alias=True) == line
        body = line["body"]
        assert set(body) <= body_fields, set(body) - body_fields
        sdk = mistral_models.AudioTranscriptionRequest.model_validate({"model": create["model"], **body})
        dumped = sdk.model_dump(mode="json", by_alias=True)
        assert {k: dumped[k] for k in body} == body
        assert set(dumped) - set(body) <= {"model", "stream"}  # the job's model, and the SDK's stream=false
        assert body["file_id"] in server.app.state.files
        assert body.get("timestamp_granularities") == (None if line["custom_id"] == "biased" else ["segment"])
    by_name = {line["custom_id"]: line["body"] for line in lines}
    assert (
        by_name["biased"]["context_bias"] == ["Alpha Romeo", "Tango"]
        and by_name["biased"]["language"] == "en"
    )
    assert by_name["diarized"]["diarize"] is True and by_name["rec0"]["diarize"] is False
    assert "context_bias" not in by_name["rec0"]

    # what the server answers: BatchJob, ListBatchJobsResponse, result lines the SDK's parser reads
    with httpx.Client(base_url=server.url) as http:
        got = http.get(f"/v1/batch/jobs/{job.id}", params={"inline": "true"}).json()
        listed = http.get("/v1/batch/jobs", params={"status": ["SUCCESS"]}).json()
        output = http.get(f"/v1/files/{got['output_file']}/content").content
    sdk_job = mistral_models.BatchJob.model_validate(got)
    assert sdk_job.status == "SUCCESS" and sdk_job.succeeded_requests == 8 and len(got["outputs"]) == 8
    assert mistral_models.ListBatchJobsResponse.model_validate(listed).total == 1
    parsed = BatchOutput.from_jsonl_bytes(output, mistral_models.TranscriptionResponse)
    assert sorted(parsed.responses) == sorted(items) and not parsed.request_errors
    # the state that lets another kernel resume: in the cache folder, without audio
    state = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text())
    assert state["job_id"] == job.id and state["downloaded"] and len(state["items"]) == 8
    assert not list((tmp_path / "batch-jobs").glob("*.tmp"))


def test_the_mistralai_batch_client_runs_a_job_on_voxnb_serve(voxnb_server, tiny_wav):
    import asyncio

    from mistralai.client import Mistral
    from mistralai.extra.batch import BatchClient

    client = voxnb.Client(base_url=voxnb_server)
    file_ids = {f"sdk{k}": client.upload(tiny_wav(200 + k, 0.5)) for k in range(3)}
    payload = {
        name: mistral_models.AudioTranscriptionRequest(model=MODEL, file_id=file_id, diarize=True,
                                                        timestamp_granularities=["segment"])
        for name, file_id in file_ids.items()
    }  # fmt: skip

    async def run():
        sdk = Mistral(api_key="unused", server_url=voxnb_server)
        batch = BatchClient(
            sdk, endpoint="/v1/audio/transcriptions", response_body_type=mistral_models.TranscriptionResponse
        )
        return await batch.run(payload, model=MODEL, poll_interval_seconds=0.05)

    result = asyncio.run(run())
    assert result.status == "SUCCESS" and result.succeeded == 3 and result.failed == 0
    for name in file_ids:
        response = result.by_id()[name]
        assert response.segments and all(s.speaker_id for s in response.segments)


def test_items_given_as_urls_and_file_ids_and_lines_that_fail(start_voxnb_server, tmp_path, tiny_wav):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    by_id, by_url, local = tiny_wav(80, 0.5), tiny_wav(81, 0.5), tiny_wav(82, 0.5)
    file_id = client.upload(by_id)
    url = client.signed_url(client.upload(by_url), expiry=1)
    items = {
        "by_id": file_id,
        "by_url": url,
        "local": local,
        "missing": "00000000-0000-0000-0000-000000000000",  # a file id the server never had
        "external": "https://example.org/talk.mp3",  # voxnb serve never downloads from the internet
    }
    result = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    assert result.job_id is not None
    assert {n: result.status(n) for n in items} == {
        "by_id": "transcribed", "by_url": "transcribed", "local": "transcribed",
        "missing": "failed", "external": "failed",
    }  # fmt: skip
    assert result["by_id"].text == engine_text(by_id) and result["by_url"].text == engine_text(by_url)
    missing, external = result.errors["missing"], result.errors["external"]
    assert isinstance(missing, BatchItemError) and missing.status == 404 and "No file with id" in str(missing)
    assert missing.custom_id == "missing" and external.custom_id == "external"
    assert external.status == 400 and "does not download" in str(external)
    _, lines = input_lines(server, result.job_id)
    bodies = {line["custom_id"]: line["body"] for line in lines}
    assert bodies["by_id"]["file_id"] == file_id and bodies["by_url"]["file_url"] == url
    assert bodies["local"]["file_id"] not in (file_id, None)
    frame = result.to_frame().set_index("name")
    assert frame.loc["missing", "error"].startswith("BatchItemError: HTTP 404")

    # run again: the three successes come from the cache, only the failures are submitted
    jobs_before = batch_posts(server)
    again = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    assert again.from_cache == ["by_id", "by_url", "local"] and set(again.errors) == {"missing", "external"}
    assert batch_posts(server) == jobs_before + 1
    _, retried = input_lines(server, again.job_id)
    assert sorted(line["custom_id"] for line in retried) == ["external", "missing"]


def test_a_cancelled_job_keeps_what_finished_and_the_rest_is_submitted_again(
    start_voxnb_server, tmp_path, tiny_wav
):
    server = start_voxnb_server(faults="latency:0.05")
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {f"c{k:02d}": tiny_wav(300 + k, 0.3) for k in range(40)}
    job = client.submit_batch(items, cache=tmp_path, progress=False)
    deadline = time.monotonic() + 30
    while job.refresh().counts()["completed"] < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    assert job.status in ("CANCELLATION_REQUESTED", "CANCELLED")
    # what the server answered to the cancel is on disk too (a new kernel sees the job cancelled)
    saved = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text(encoding="utf-8"))
    assert saved["status"] == job.status
    result = job.result(progress=False, poll_interval=0.05)
    counts = job.counts()
    assert job.status == "CANCELLED" and 4 <= counts["completed"] < 40
    done = [n for n in items if result.status(n) == "transcribed"]
    not_run = [n for n, e in result.errors.items() if "not run" in str(e)]
    assert len(done) == counts["succeeded"] and len(done) + len(not_run) == 40
    assert all(result[n].text == engine_text(items[n]) for n in done)
    assert all(
        result.errors[n].status is None
        and result.errors[n].custom_id == n
        and str(result.errors[n])
        == f"request failed: not run: batch job {job.id} ended CANCELLED before this item"
        for n in not_run
    )

    again = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    assert sorted(again.from_cache) == sorted(done) and not again.errors and len(again) == 40
    second = voxnb.Client(base_url=server.url).batch_job(again.job_id, cache=tmp_path)
    assert second.counts()["total"] == len(not_run)
    assert all(again[n].text == engine_text(items[n]) for n in items)


def test_a_second_call_picks_up_the_unfinished_job_instead_of_submitting_twice(
    start_voxnb_server, tmp_path, tiny_wav
):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url)
    items = [("a", tiny_wav(400, 0.3)), ("b", tiny_wav(401, 0.3))]
    job = client.submit_batch(items, cache=tmp_path, progress=False)
    # as after a kernel restart, before the results were downloaded: the same call again
    result = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    assert result.job_id == job.id and len(result) == 2
    assert batch_posts(server) == 1
    # and batch results are the cache of request-by-request runs, and the other way round
    plain = client.transcribe_many(items, cache=tmp_path, progress=False)
    assert plain.requests == 0 and plain.from_cache == ["a", "b"]
    fresh = dict(c=tiny_wav(402, 0.3))
    client.transcribe_many(fresh, cache=tmp_path, progress=False)
    batch_again = client.transcribe_many(
        {**dict(items), **fresh}, mode="batch", cache=tmp_path, progress=False
    )
    assert batch_again.requests == 0 and batch_again.job_id is None and len(batch_again.from_cache) == 3


def test_batch_refusals_come_before_anything_is_sent(
    start_voxnb_server, voxnb_server, tmp_path, tiny_wav, monkeypatch
):
    openai = start_voxnb_server(dialect="openai")
    with pytest.raises(ParameterError, match="no Batch API") as info:
        voxnb.Client(base_url=openai.url).submit_batch([tiny_wav(1)], cache=tmp_path)
    assert info.value.option == "mode"
    client = voxnb.Client(base_url=voxnb_server)
    with pytest.raises(ParameterError, match="align the transcripts") as info:
        client.submit_batch([tiny_wav(1)], model=MODEL, timestamps="word", cache=tmp_path)
    assert info.value.option == "words"
    two_models = {"a": tiny_wav(1), "b": {"audio": tiny_wav(2), "model": "voxtral-mini-2602"}}
    with pytest.raises(ParameterError, match="one model"):
        client.submit_batch(two_models, model=MODEL, cache=tmp_path)
    with pytest.raises(ParameterError, match="mode must be"):
        client.transcribe_many([tiny_wav(1)], mode="jobs")
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(ParameterError, match="needs a server with a Batch API"):
        voxnb.transcribe_many([tiny_wav(1)], mode="batch", quiet=True)
    with pytest.raises(ParameterError, match="no saved state"):
        client.batch_job("6f0c5a4e-0000-4000-8000-000000000000", cache=tmp_path)


def test_the_job_state_holds_no_key_and_resumes_only_against_its_server(
    start_voxnb_server, voxnb_server, tmp_path, tiny_wav, guarded_api_key
):
    server = start_voxnb_server(api_key=guarded_api_key)
    client = voxnb.Client(base_url=server.url, api_key=guarded_api_key)
    job = client.submit_batch({"k": tiny_wav(5, 0.3)}, cache=tmp_path, progress=False)
    text = (tmp_path / "batch-jobs" / f"{job.id}.json").read_text()
    assert guarded_api_key not in text and server.url in text
    assert guarded_api_key not in repr(job)
    with pytest.raises(ParameterError, match="was submitted to"):
        voxnb.Client(base_url=voxnb_server).batch_job(job.id, cache=tmp_path)
    assert (
        len(
            voxnb.Client(base_url=server.url, api_key=guarded_api_key)
            .batch_job(job.id, cache=tmp_path)
            .result(progress=False, poll_interval=0.05)
        )
        == 1
    )


@pytest.mark.parametrize(
    ("error", "body", "expected"),
    [
        ({"message": "Audio too long", "code": 3}, None, "Audio too long"),  # the message, not the dict
        (
            {"code": 3001, "type": "invalid"},
            None,
            '{"code": 3001, "type": "invalid"}',
        ),  # no message: all of it
        ({"message": {"detail": "bad"}}, None, '{"detail": "bad"}'),  # a message that is not text: as JSON
        (None, {"message": "No file with id f1"}, "No file with id f1"),  # no error: the response body's
        ("line timed out", {"message": "ignored"}, "line timed out"),  # the error first
        (None, "Bad Gateway", "Bad Gateway"),  # a body that is plain text
        (None, None, "failed"),  # nothing said at all
    ],
)
def test_what_a_failed_line_says(error, body, expected):
    assert _error_text(error, body) == expected


def test_a_batch_item_error_keeps_its_custom_id():
    assert BatchItemError("its cached response is gone").custom_id == ""
    assert BatchItemError("x", status=500, custom_id="rec1").custom_id == "rec1"


def test_the_upload_bar_counts_distinct_recordings_only_when_asked(
    start_voxnb_server, tmp_path, tiny_wav, capsys
):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    one, two = tiny_wav(600, 0.3), tiny_wav(601, 0.3)
    capsys.readouterr()
    # three items, two recordings: two uploads, and a bar of two files
    first = client.submit_batch({"a": one, "b": two, "a_again": one}, cache=tmp_path, progress=True)
    bar = capsys.readouterr().err
    assert re.search(r"uploading audio: 100%\|[^|]*\| 2/2 \[[^\]]*(file/s|s/file)\]", bar), bar
    audio = [r for r in server.recorder.matching("/v1/files") if r.field_values("purpose") == ["audio"]]
    assert len(audio) == 2
    # progress=False: no bar; nothing local to upload: no bar either
    second = client.submit_batch({"c": tiny_wav(602, 0.3)}, cache=tmp_path, progress=False)
    third = client.submit_batch({"d": client.upload(tiny_wav(603, 0.3))}, cache=tmp_path, progress=True)
    assert "uploading" not in capsys.readouterr().err
    # three different submissions are three jobs (an unfinished job is resumed only for the same items)
    assert len({first.id, second.id, third.id}) == 3


def test_a_saved_state_that_is_damaged_or_not_the_jobs_own_is_refused(start_voxnb_server, tmp_path, tiny_wav):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    job = client.submit_batch({"café-1": tiny_wav(610, 0.3)}, cache=tmp_path, progress=False)
    path = tmp_path / "batch-jobs" / f"{job.id}.json"
    good = path.read_text(encoding="utf-8")
    assert "café-1" in good  # written as UTF-8, not escaped

    # a machine whose locale is ASCII (or cp1252) still reads it: the state is read as UTF-8
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        assert locale.getencoding() != "UTF-8"
        assert client.batch_job(job.id, cache=tmp_path).names == ["café-1"]
        # and the same items again pick up that job (found by reading the states as UTF-8)
        assert (
            client.submit_batch({"café-1": tiny_wav(610, 0.3)}, cache=tmp_path, progress=False).id == job.id
        )
    finally:
        locale.setlocale(locale.LC_CTYPE, before)

    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        client.batch_job(job.id, cache=tmp_path)
    assert str(info.value).startswith(f"the saved state of batch job {job.id} ({path}) is unreadable: ")
    foreign = {
        "another format": {**json.loads(good), "format": "voxnb.batch-job/0"},
        "another job's state": {**json.loads(good), "job_id": "another-job"},
        "not an object": [json.loads(good)],
    }
    for why, state in foreign.items():
        path.write_text(json.dumps(state), encoding="utf-8")
        with pytest.raises(ParameterError) as info:
            client.batch_job(job.id, cache=tmp_path)
        assert str(info.value) == f"{path} is not the saved state of batch job {job.id}", why
    path.write_text(good, encoding="utf-8")
    assert client.batch_job(job.id, cache=tmp_path).id == job.id


def test_resuming_refuses_a_bad_id_a_missing_state_and_another_server(
    start_voxnb_server, voxnb_server, tmp_path, tiny_wav
):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    for bad in (123, None, "", "   "):
        with pytest.raises(ParameterError) as info:
            client.batch_job(bad, cache=tmp_path)
        assert str(info.value) == f"job_id must be the id of a batch job, e.g. from job.id; got {bad!r}"
    unknown = "6f0c5a4e-0000-4000-8000-000000000000"
    with pytest.raises(ParameterError) as info:
        client.batch_job(unknown, cache=tmp_path)
    assert str(info.value) == (
        f"no saved state of batch job {unknown} in {tmp_path / 'batch-jobs'}: resume it with the cache= it "
        "was submitted with (or the same $VOXNB_CACHE_DIR)"
    )
    assert info.value.option == "job_id"
    job = client.submit_batch({"k": tiny_wav(620, 0.3)}, cache=tmp_path, progress=False)
    with pytest.raises(ParameterError) as info:
        voxnb.Client(base_url=voxnb_server).batch_job(job.id, cache=tmp_path)
    assert str(info.value) == (
        f"batch job {job.id} was submitted to {server.url}, not {voxnb_server}; use a client of that server"
    )
    assert info.value.option == "job_id"


def test_a_resumed_job_waits_shows_itself_and_fills_the_cache(start_voxnb_server, tmp_path, tiny_wav, capsys):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {"x": tiny_wav(630, 0.3), "y": tiny_wav(631, 0.3)}
    job = client.submit_batch(items, cache=tmp_path, progress=False)
    resumed = voxnb.Client(base_url=server.url, retry=FAST).batch_job(job.id, cache=tmp_path)
    with pytest.raises(ParameterError, match="poll_interval is in seconds"):
        resumed.wait(poll_interval=0)
    capsys.readouterr()
    assert resumed.wait(poll_interval=0.05) is resumed
    # a progress bar by default: requests done of the job's two, the failures and the status
    bar = capsys.readouterr().err
    pattern = rf"batch {job.id[:8]}: 100%\|[^|]*\| 2/2 \[[^\]]*(req/s|s/req), failed=0, status=SUCCESS\]"
    assert re.search(pattern, bar), bar
    assert resumed.done and resumed.status == "SUCCESS"
    # the status seen is saved with the job (a kernel resuming it later starts from there)
    saved = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text(encoding="utf-8"))
    assert saved["status"] == "SUCCESS"
    assert repr(resumed) == f"<BatchJob {job.id} SUCCESS: 2/2 done, 0 failed; 2 items, 0 from the cache>"
    assert {n: t.text for n, t in resumed.result(progress=False).items()} == {
        n: engine_text(wav) for n, wav in items.items()
    }
    # the resumed handle wrote the results into the cache: nothing is sent again
    plain = client.transcribe_many(items, cache=tmp_path, progress=False)
    assert plain.requests == 0 and plain.from_cache == ["x", "y"]
    cached = client.submit_batch(items, cache=tmp_path, progress=False)
    assert (
        repr(cached) == "<BatchJob (nothing submitted) CACHED: 0/0 done, 0 failed; 2 items, 2 from the cache>"
    )


def test_a_refused_poll_or_cancel_names_the_request(start_voxnb_server, tmp_path, tiny_wav, guarded_api_key):
    server = start_voxnb_server(api_key=guarded_api_key)
    client = voxnb.Client(base_url=server.url, api_key=guarded_api_key, retry=FAST)
    job = client.submit_batch({"k": tiny_wav(640, 0.3)}, cache=tmp_path, progress=False)
    state = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text(encoding="utf-8"))

    async def with_a_revoked_key(action):
        async with voxnb.AsyncClient(base_url=server.url, api_key="revoked-key", retry=FAST) as revoked:
            await getattr(AsyncBatchJob(revoked, state, None), action)()

    for action, request in (("refresh", f"GET /v1/batch/jobs/{job.id}"),
                            ("cancel", f"POST /v1/batch/jobs/{job.id}/cancel")):  # fmt: skip
        with pytest.raises(APIError) as info:
            asyncio.run(with_a_revoked_key(action))
        assert info.value.status == 401 and f"for {request}" in str(info.value), action


def test_a_job_whose_results_were_downloaded_is_not_picked_up_again(voxnb_server, tmp_path):
    client = voxnb.Client(base_url=voxnb_server, retry=FAST)
    items = {"missing": "00000000-0000-0000-0000-000000000001"}  # a file id the server never had
    first = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    again = client.transcribe_many(items, mode="batch", cache=tmp_path, progress=False, poll_interval=0.05)
    assert set(first.errors) == set(again.errors) == {"missing"}
    assert first.job_id and again.job_id and again.job_id != first.job_id


def test_the_newest_unfinished_job_of_the_same_items_is_resumed(start_voxnb_server, tmp_path, tiny_wav):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {"n": tiny_wav(650, 0.3)}
    job = client.submit_batch(items, cache=tmp_path, progress=False)
    folder = tmp_path / "batch-jobs"
    state = json.loads((folder / f"{job.id}.json").read_text(encoding="utf-8"))
    # another submission of the same items (a job the server has forgotten), and files that are no state
    forgotten = folder / "forgotten-job.json"
    forgotten.write_text(json.dumps({**state, "job_id": "forgotten-job", "created": state["created"] - 1000}))
    for k in range(10):
        (folder / f"broken-{k}.json").write_text("{", encoding="utf-8")
    (folder / "a-folder.json").mkdir()

    before = batch_posts(server)
    assert (
        client.submit_batch(items, cache=tmp_path, progress=False).id == job.id
        and batch_posts(server) == before
    )
    # the forgotten job made the newest (rewritten in place: the folder lists the files as before):
    # it is the one tried, and the server does not know it, so the items are submitted again
    forgotten.write_text(json.dumps({**state, "job_id": "forgotten-job", "created": state["created"] + 1000}))
    again = client.submit_batch(items, cache=tmp_path, progress=False)
    assert again.id not in (job.id, "forgotten-job") and batch_posts(server) == before + 1


class Misrouted:
    """ASGI middleware: a proxy that sends the polls of job *alias* to job *real*."""

    def __init__(self, app, alias: str):
        self.app, self.alias, self.real = app, alias, None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == f"/v1/batch/jobs/{self.alias}":
            path = f"/v1/batch/jobs/{self.real}"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def test_a_poll_answered_with_another_job_is_refused(tmp_path, tiny_wav):
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    proxy = Misrouted(create_app(FakeEngine(), recorder=RequestRecorder()), alias="alias-job")
    with ServerThread(proxy) as server:
        client = voxnb.Client(base_url=server.url, retry=FAST)
        job = client.submit_batch({"m": tiny_wav(660, 0.3)}, cache=tmp_path, progress=False)
        proxy.real = job.id
        state = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text(encoding="utf-8"))
        (tmp_path / "batch-jobs" / "alias-job.json").write_text(
            json.dumps({**state, "job_id": "alias-job"}), encoding="utf-8"
        )
        with pytest.raises(ResponseFormatError) as info:
            client.batch_job("alias-job", cache=tmp_path)
        assert str(info.value) == "GET /v1/batch/jobs/alias-job answered with another job"


def test_an_experiment_runs_as_one_batch_job(start_voxnb_server, tmp_path):
    from voxnb import bias

    server = start_voxnb_server()
    items = bias.load_bundled()[:4]
    batch = bias.Experiment(items, ["none", "oracle"], base_url=server.url)
    batch.run(mode="batch", cache=tmp_path / "a", progress=False)
    direct = bias.Experiment(items, ["none", "oracle"], base_url=server.url)
    direct.run(cache=tmp_path / "b", progress=False)
    assert batch.job_id and not batch.errors and len(batch.transcripts) == 8
    assert {k: t.text for k, t in batch.transcripts.items()} == {
        k: t.text for k, t in direct.transcripts.items()
    }
    posts = [r for r in server.recorder.matching("/v1/batch/jobs") if r.method == "POST"]
    assert len(posts) == 1
    # one upload per recording, not per (recording, condition)
    audio_uploads = [
        r for r in server.recorder.matching("/v1/files") if r.field_values("purpose") == ["audio"]
    ]
    assert len(audio_uploads) == 4
    _, lines = input_lines(server, batch.job_id)
    oracle = [line["body"] for line in lines if line["custom_id"].endswith("/oracle")]
    assert len(oracle) == 4 and all(body["context_bias"] for body in oracle)


def file_id(k: int) -> str:
    """A file id the server never had (enough for a job to be submitted: the item fails when run)."""
    return f"00000000-0000-4000-8000-{k:012d}"


def test_timeout_hours_and_metadata_are_checked_before_anything_is_sent(start_voxnb_server, tmp_path):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    for bad in (0, 169, -1, 1.5, True, "24", None):
        with pytest.raises(ParameterError) as info:
            client.submit_batch([file_id(1)], timeout_hours=bad, cache=tmp_path, progress=False)
        assert str(info.value) == f"timeout_hours must be a whole number from 1 to 168; got {bad!r}"
    for bad in ({"project": 1}, {"a": "b", "c": None}, ["project"]):
        with pytest.raises(ParameterError) as info:
            client.submit_batch([file_id(1)], metadata=bad, cache=tmp_path, progress=False)
        assert str(info.value) == "metadata must map names to strings, e.g. {'project': 'bias-lab'}"
    assert server.recorder.matching("/v1/files") == [] and batch_posts(server) == 0
    # the two ends of the API's range are allowed, and reach the job request as given
    for hours in (1, 168):
        job = client.submit_batch([file_id(hours)], timeout_hours=hours, cache=tmp_path, progress=False)
        create, _ = input_lines(server, job.id)
        assert create["timeout_hours"] == hours and create["metadata"] == {"created_by": "voxnb"}


def test_batch_refusals_say_what_to_do_word_for_word(start_voxnb_server, voxnb_server, tmp_path, tiny_wav):
    openai = start_voxnb_server(dialect="openai")
    with pytest.raises(ParameterError) as info:
        voxnb.Client(base_url=openai.url).submit_batch([tiny_wav(1)], cache=tmp_path)
    assert str(info.value) == (
        f"{openai.url} speaks the OpenAI dialect (vLLM), which has no Batch API; use transcribe_many() "
        "there, or Mistral's API / `voxnb serve` for batch jobs"
    )
    client = voxnb.Client(base_url=voxnb_server)
    two_models = {"a": tiny_wav(1), "b": {"audio": tiny_wav(2), "model": "voxtral-mini-2602"}}
    with pytest.raises(ParameterError) as info:
        client.submit_batch(two_models, model=MODEL, cache=tmp_path)
    assert str(info.value) == (
        "a batch job runs one model, and these items ask for ['voxtral-mini-2602', "
        "'voxtral-mini-transcribe-3']; submit one job per model"
    )
    assert info.value.option == "model"
    with pytest.raises(ParameterError) as info:
        client.submit_batch([tiny_wav(1)], model=MODEL, timestamps="word", cache=tmp_path)
    assert str(info.value) == (
        "item 'item0': voxtral-mini-transcribe-3 gives no word times, and a batch job returns what the "
        "model gives; ask timestamps='segment', then align the transcripts with voxnb.align(t, audio)"
    )


def test_a_job_holds_at_most_max_requests_items(start_voxnb_server, tmp_path, monkeypatch):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    monkeypatch.setattr("voxnb.api.batch.MAX_REQUESTS", 2)
    with pytest.raises(ParameterError) as info:
        client.submit_batch([file_id(1), file_id(2), file_id(3)], cache=tmp_path, progress=False)
    assert str(info.value) == "a batch job holds at most 2 items; got 3: split them"
    assert batch_posts(server) == 0
    job = client.submit_batch([file_id(1), file_id(2)], cache=tmp_path, progress=False)  # exactly the limit
    assert [line["custom_id"] for line in input_lines(server, job.id)[1]] == [file_id(1), file_id(2)]
    # no items at all: nothing to submit, nothing sent
    empty = client.submit_batch({}, cache=tmp_path, progress=False)
    assert (empty.id, empty.status, empty.names) == (None, "CACHED", []) and batch_posts(server) == 1


def test_the_batch_file_size_limit_counts_the_bytes_of_the_jsonl(start_voxnb_server, tmp_path, monkeypatch):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = [file_id(1), file_id(2)]
    first = client.submit_batch(items, cache=tmp_path, progress=False)
    size = len(server.app.state.files[input_lines(server, first.id)[0]["input_files"][0]].data)
    monkeypatch.setattr("voxnb.api.batch.MAX_BATCH_FILE_BYTES", size)
    at_limit = client.submit_batch(items, cache=tmp_path, progress=False, resume=False)
    assert at_limit.id not in (None, first.id)
    monkeypatch.setattr("voxnb.api.batch.MAX_BATCH_FILE_BYTES", size - 1)
    advice = ", over the API's 512 MB; split the items (known-speaker clips are inlined in every line: fewer items per job)"
    with pytest.raises(ParameterError) as info:
        client.submit_batch(items, cache=tmp_path, progress=False, resume=False)
    assert str(info.value) == "the batch file would be 0 MB" + advice
    # the size in MB (2**20 bytes): a name of 2.7 MB makes a file of a little more, said as 3 MB
    monkeypatch.setattr("voxnb.api.batch.MAX_BATCH_FILE_BYTES", 2**20)
    with pytest.raises(ParameterError) as info:
        client.submit_batch({"n" * int(2.7 * 2**20): file_id(3)}, cache=tmp_path, progress=False)
    assert str(info.value) == "the batch file would be 3 MB" + advice
    assert batch_posts(server) == 2


def test_samples_given_as_arrays_take_the_sample_rate_given(start_voxnb_server, tmp_path, tiny_wav):
    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    wavs = {"shared_sr": tiny_wav(700, 0.3), "own_sr": tiny_wav(701, 0.3)}
    arrays = {name: voxnb.Audio.load(wav).y for name, wav in wavs.items()}
    items = {"shared_sr": arrays["shared_sr"], "own_sr": {"audio": arrays["own_sr"], "sr": 16000}}
    job = client.submit_batch(items, sr=16000, cache=tmp_path, progress=False)
    result = job.result(progress=False, poll_interval=0.05)
    assert {name: result[name].text for name in items} == {name: engine_text(w) for name, w in wavs.items()}
    # without a rate, the array is refused before anything is sent
    with pytest.raises(ParameterError, match="a numpy array has no sample rate"):
        client.submit_batch({"x": arrays["shared_sr"]}, cache=tmp_path, progress=False)


def test_the_saved_state_and_the_batch_file_as_the_server_got_them(
    start_voxnb_server, tmp_path, tiny_wav, caplog
):
    import hashlib
    import logging

    server = start_voxnb_server()
    client = voxnb.Client(base_url=server.url, retry=FAST)
    one, two, before = tiny_wav(710, 0.3), tiny_wav(711, 0.3), tiny_wav(712, 0.3)
    client.transcribe_many({"pre": before}, model=MODEL, cache=tmp_path, progress=False)
    url = "https://example.org/talk.mp3"
    items = {"café": one, "again": one, "b": two, "pre": before, "by_id": file_id(7), "by_url": url}
    caplog.set_level(logging.INFO, logger="voxnb.api")
    job = client.submit_batch(items, model=MODEL, cache=tmp_path, progress=False)
    [record] = [r for r in caplog.records if str(r.msg).startswith("batch job %s submitted")]
    assert (record.name, record.msg, record.args) == (
        "voxnb.api",
        "batch job %s submitted: %d items (%d from the cache)",
        (job.id, 5, 1),
    )
    state = json.loads((tmp_path / "batch-jobs" / f"{job.id}.json").read_text(encoding="utf-8"))
    assert set(state) == {
        "format", "job_id", "base_url", "backend", "model", "created", "fingerprint", "items", "cached",
        "uploads", "input_file", "downloaded",
    }  # fmt: skip
    assert (state["format"], state["job_id"], state["base_url"], state["backend"], state["model"]) == (
        "voxnb.batch-job/1", job.id, server.url, "mistral", MODEL,
    )  # fmt: skip
    assert state["cached"] == ["pre"] and state["downloaded"] is False

    # the cache key's audio hash: of the bytes sent, or of the file id / URL string
    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    audio = {"café": sha(one), "again": sha(one), "b": sha(two), "pre": sha(before),
             "by_id": sha(file_id(7).encode()), "by_url": sha(url.encode())}  # fmt: skip
    source = {"café": "file", "again": "file", "b": "file", "pre": "file", "by_id": "file_id",
              "by_url": "file_url"}  # fmt: skip
    assert [(e["name"], e["custom_id"], e["source"], e["audio_sha256"]) for e in state["items"]] == [
        (name, name, source[name], audio[name]) for name in items
    ]
    # the uploads: each distinct recording not in the cache once, sorted ids
    audio_ids = [fid for fid, f in server.app.state.files.items() if f.purpose == "audio"]
    assert len(audio_ids) == 2 and state["uploads"] == sorted(audio_ids)
    create, lines = input_lines(server, job.id)
    assert state["input_file"] == create["input_files"][0]
    bodies = {line["custom_id"]: line["body"] for line in lines}
    assert list(bodies) == ["café", "again", "b", "by_id", "by_url"]
    assert bodies["café"]["file_id"] == bodies["again"]["file_id"] != bodies["b"]["file_id"]
    assert {bodies["café"]["file_id"], bodies["b"]["file_id"]} == set(audio_ids)
    assert bodies["by_id"]["file_id"] == file_id(7) and bodies["by_url"]["file_url"] == url
    # the batch file: UTF-8 names as they are, named and typed as JSONL
    batch_file = server.app.state.files[state["input_file"]]
    assert (batch_file.filename, batch_file.content_type, batch_file.purpose) == (
        "voxnb-batch.jsonl", "application/jsonl", "batch",
    )  # fmt: skip
    assert b'{"custom_id": "caf\xc3\xa9", ' in batch_file.data and b"\\u00e9" not in batch_file.data


# -- reading a finished job, over a server whose answers a test scripts ------------------------------


async def _answer(send, status: int, body: bytes, headers: list) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Scripted:
    """ASGI middleware over ``voxnb serve`` whose job polls and result files say what a test scripts.

    ``polls``: fields laid over the next answers to ``GET /v1/batch/jobs/{id}``, one a poll;
    ``job``: fields laid over every answer after those; ``files``: file id → (status, bytes)
    answered to ``GET /v1/files/{id}/content`` instead of the file; ``create_answer``: the body
    answered to ``POST /v1/batch/jobs`` instead of a job.
    """

    def __init__(self, app):
        self.app, self.state = app, app.state  # the server's own state, as the tests read it
        self.polls, self.job, self.files = [], {}, {}
        self.create_answer: bytes | None = None

    async def __call__(self, scope, receive, send):
        parts = scope.get("path", "").strip("/").split("/")
        creating = scope["type"] == "http" and scope["method"] == "POST" and parts == ["v1", "batch", "jobs"]
        if creating and self.create_answer is not None:
            return await _answer(send, 200, self.create_answer, [(b"content-type", b"application/json")])
        if scope["type"] == "http" and scope["method"] == "GET" and len(parts) == 4:
            if parts[:2] == ["v1", "files"] and parts[3] == "content" and parts[2] in self.files:
                status, body = self.files[parts[2]]
                return await _answer(send, status, body, [(b"content-type", b"application/octet-stream")])
            if parts[:3] == ["v1", "batch", "jobs"]:
                overlay = self.polls.pop(0) if self.polls else self.job
                start, chunks = {}, []

                async def keep(message):
                    (start.update if message["type"] == "http.response.start" else chunks.append)(message)

                await self.app(scope, receive, keep)
                body = b"".join(c.get("body", b"") for c in chunks)
                if start["status"] == 200:
                    body = json.dumps({**json.loads(body), **overlay}).encode()
                return await _answer(send, start["status"], body, start["headers"])
        await self.app(scope, receive, send)


@pytest.fixture
def scripted():
    """A ``voxnb serve`` (deterministic engine) behind :class:`Scripted`: (proxy, server)."""
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    proxy = Scripted(create_app(FakeEngine(), recorder=RequestRecorder()))
    with ServerThread(proxy) as server:
        yield proxy, server


def test_an_earlier_job_is_resumed_only_while_it_may_still_run(tmp_path, caplog):
    import logging

    from voxnb.serve import RequestRecorder, ServerThread, create_app

    proxy = Scripted(create_app(FakeEngine(), recorder=RequestRecorder()))
    caplog.set_level(logging.INFO, logger="voxnb.api")
    with ServerThread(proxy) as server:
        client = voxnb.Client(base_url=server.url, retry=FAST)
        items = {"s": file_id(1)}
        ids = [client.submit_batch(items, cache=tmp_path, progress=False).id]
        # resume=False: the same items again are another job
        ids.append(client.submit_batch(items, cache=tmp_path, progress=False, resume=False).id)
        # a job that ended without running everything is not picked up: the items are submitted again
        for status in ("CANCELLED", "FAILED", "TIMEOUT_EXCEEDED"):
            proxy.job = {"status": status}
            ids.append(client.submit_batch(items, cache=tmp_path, progress=False).id)
        assert len(set(ids)) == 5 and batch_posts(server) == 5
        assert not [r for r in caplog.records if "resuming" in str(r.msg)]
        # one that may still run is
        for status in ("QUEUED", "RUNNING"):
            proxy.job = {"status": status}
            caplog.clear()
            assert client.submit_batch(items, cache=tmp_path, progress=False).id == ids[-1]
            assert [(r.msg, r.args) for r in caplog.records if r.name.startswith("voxnb.api")] == [
                ("resuming batch job %s (the same items were submitted before)", (ids[-1],))
            ]
        assert batch_posts(server) == 5
        # one the server no longer knows is submitted again, and the log says why
        proxy.job = {}
        assert httpx.delete(f"{server.url}/v1/batch/jobs/{ids[-1]}").status_code == 200
        caplog.clear()
        again = client.submit_batch(items, cache=tmp_path, progress=False)
        assert again.id not in ids and batch_posts(server) == 6
        [record] = [r for r in caplog.records if "cannot be resumed" in str(r.msg)]
        assert record.msg == "batch job %s cannot be resumed (%s); submitting again"
        assert record.args[0] == ids[-1] and isinstance(record.args[1], APIError)
        assert record.args[1].status == 404
        assert f"No batch job with id {ids[-1]!r} on this server" in str(record.args[1])


def test_a_job_creation_answered_without_a_job_is_refused(tmp_path):
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    proxy = Scripted(create_app(FakeEngine(), recorder=RequestRecorder()))
    with ServerThread(proxy) as server:
        client = voxnb.Client(base_url=server.url, retry=FAST)
        for answer in (b'{"object": "batch", "status": "QUEUED"}', b'{"id": ""}', b"[]", b"null"):
            proxy.create_answer = answer
            with pytest.raises(ResponseFormatError) as info:
                client.submit_batch([file_id(1)], cache=tmp_path, progress=False)
            assert str(info.value) == "POST /v1/batch/jobs answered without a job id", answer
        proxy.create_answer = b"<html>"
        with pytest.raises(ResponseFormatError) as info:
            client.submit_batch([file_id(1)], cache=tmp_path, progress=False)
        assert str(info.value) == (
            "POST /v1/batch/jobs answered with something that is not JSON (b'<html>'); is base_url a "
            "Voxtral transcription server?"
        )
    assert not list((tmp_path / "batch-jobs").glob("*.json"))


def test_a_job_id_that_is_no_file_name_is_refused(voxnb_server, tmp_path):
    client = voxnb.Client(base_url=voxnb_server)
    for bad in ("a/b", "../x", "a\\b", "a\0b", ".x", ".."):
        with pytest.raises(ParameterError) as info:
            client.batch_job(bad, cache=tmp_path)
        assert str(info.value) == f"{bad!r} is not a batch job id"
    # other names are ids like any: looked up, and not found
    for name in ("aXb", "XX.XXa", "a.b", "x."):
        with pytest.raises(ParameterError) as info:
            client.batch_job(name, cache=tmp_path)
        assert str(info.value).startswith(f"no saved state of batch job {name} in ")


@pytest.mark.slow
def test_500_items_with_faults_survive_a_kernel_restart_between_submit_and_download(tmp_path, tiny_wav):
    """The issue's must-show: submitted, a new process resumes by job id, 500 Transcripts, 0 lost,
    0 duplicated, failed lines per item; re-runs submit only the failures, then nothing."""
    from voxnb.serve import ServerProcess

    cache = tmp_path / "cache"
    items = {f"utt{k:03d}": tiny_wav(1000 + k, 0.3) for k in range(500)}
    expected = {name: engine_text(wav) for name, wav in items.items()}
    faults = "429:0.04,500:0.04,seed:11"
    numbers: dict[str, object] = {"items": 500, "faults": faults}
    with ServerProcess(engine="fake", faults=faults) as server:
        client = voxnb.Client(base_url=server.url, retry=FAST)
        job = client.submit_batch(items, cache=cache, progress=False)
        numbers["submit_requests"] = client.requests_sent
        client.close()
        del client  # the kernel that submitted is gone

        script = f"""
import json, voxnb
from voxnb.api.retry import RetryPolicy
client = voxnb.Client(base_url={server.url!r}, retry=RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0.0))
job = client.batch_job({job.id!r}, cache={str(cache)!r})
result = job.result(progress=False, poll_interval=0.1)
print("RESULT=" + json.dumps({{
    "job": job.counts(), "status": job.status,
    "texts": {{name: result[name].text for name in result}},
    "errors": {{name: [type(e).__name__, getattr(e, "status", None)] for name, e in result.errors.items()}},
    "pending": result.pending,
}}))
"""
        resumed = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=dict(os.environ)
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        data = json.loads(resumed.stdout.split("RESULT=")[1])
        texts, errors = data["texts"], data["errors"]
        assert data["status"] == "SUCCESS" and data["job"]["total"] == 500 and not data["pending"]
        assert len(texts) + len(errors) == 500 and not set(texts) & set(errors)  # 0 lost, 0 duplicated
        assert all(texts[name] == expected[name] for name in texts)  # each item got its own result
        assert data["job"]["failed"] == len(errors) > 0 and data["job"]["succeeded"] == len(texts)
        assert all(kind == "BatchItemError" and status in (429, 500) for kind, status in errors.values())
        numbers.update(transcribed=len(texts), failed_lines=len(errors), lost=0, duplicated=0)
        numbers["failed_by_status"] = {
            str(s): sum(1 for _, st in errors.values() if st == s) for s in (429, 500)
        }

        # re-runs: each submits only what failed, until nothing is left; then a run sends nothing
        client = voxnb.Client(base_url=server.url, retry=FAST)
        rounds = []
        for _ in range(6):
            before = client.requests_sent
            result = client.transcribe_many(
                items, mode="batch", cache=cache, progress=False, poll_interval=0.05
            )
            rounds.append({"submitted": 500 - len(result.from_cache), "failed": len(result.errors),
                           "requests": client.requests_sent - before})  # fmt: skip
            if not result.errors:
                break
        assert not result.errors and len(result) == 500
        assert all(result[name].text == expected[name] for name in items)
        cached = client.transcribe_many(items, mode="batch", cache=cache, progress=False)
        assert cached.requests == 0 and cached.job_id is None and len(cached.from_cache) == 500
        numbers["reruns"] = rounds
        numbers["cached_rerun_requests"] = cached.requests
    print("BATCH_MUST_SHOW=" + json.dumps(numbers))


def test_every_kind_of_result_line_is_read_as_the_sdk_reads_it(scripted, tmp_path, tiny_wav, caplog):
    import hashlib
    import logging

    proxy, server = scripted
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {name: tiny_wav(700 + i, 0.3) for i, name in enumerate(["a", "b", "c", "d", "e", "None"])}
    job = client.submit_batch(items, cache=tmp_path, progress=False).wait(progress=False, poll_interval=0.02)
    out = job.job["output_file"]
    real = {line["custom_id"]: line for line in _lines_of(proxy.app.state.files[out].data)}
    lines = [
        real["a"],
        {**real["a"], "response": {"status_code": 500, "body": {"message": "a second answer"}}},
        {**real["b"], "custom_id": "zz"},
        [1, 2],
        # no custom_id at all: not the item named "None"
        {"response": {"status_code": 400, "body": {"message": "whose?"}}},
        real["None"],
        {"custom_id": "b", "response": {"status_code": 400, "body": {"message": "bad audio"}}},
        {"custom_id": "c", "error": {"message": "quota exceeded"}, "response": None},
        {"custom_id": "d", "response": {"status_code": 200, "body": "not an object"}},
    ]  # and nothing about "e"
    proxy.files[out] = (200, "".join(json.dumps(line) + "\n" for line in lines).encode())
    # every line in the error file, none in the output file: both files are read
    proxy.job = {"output_file": None, "error_file": out}
    with caplog.at_level(logging.WARNING, logger="voxnb.api"):
        result = job.result(progress=False)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"batch job {job.id} returned custom_id 'a' twice; the first line is kept",
        f"batch job {job.id} returned a line for an unknown custom_id 'zz'; skipped",
        f"batch job {job.id} returned a line for an unknown custom_id None; skipped",
        f"batch job {job.id} returned a line for an unknown custom_id None; skipped",
    ]
    assert {n: result[n].text for n in ("a", "None")} == {n: engine_text(items[n]) for n in ("a", "None")}
    assert result["a"].audio_sha256 == hashlib.sha256(items["a"]).hexdigest()
    errors = {
        n: (type(e).__name__, str(e), getattr(e, "status", None), getattr(e, "custom_id", None))
        for n, e in result.errors.items()
    }
    assert errors == {
        "b": ("BatchItemError", "HTTP 400: bad audio", 400, "b"),
        "c": ("BatchItemError", "request failed: quota exceeded", None, "c"),
        "d": ("ResponseFormatError", "the result of 'd' has no response body", None, None),
        "e": (
            "BatchItemError",
            f"request failed: not run: batch job {job.id} ended SUCCESS before this item",
            None,
            "e",
        ),
    }
    table = result.to_frame().set_index("name")
    assert table["status"].astype(str).to_dict() == {
        "a": "transcribed", "b": "failed", "c": "failed", "d": "failed", "e": "failed", "None": "transcribed"
    }  # fmt: skip
    assert table["seconds"].tolist() == [0.0] * 6
    # one poll and one download; the client remembers the result as its last batch
    assert result.requests == 2 and client.last_batch is result


def test_items_answered_from_a_cache_that_has_lost_them_are_failures_not_crashes(
    scripted, tmp_path, tiny_wav, monkeypatch
):
    _, server = scripted
    client = voxnb.Client(base_url=server.url, retry=FAST)
    items = {"kept": tiny_wav(720, 0.3), "lost": tiny_wav(721, 0.3), "new": tiny_wav(722, 0.3)}
    client.transcribe_many({n: items[n] for n in ("kept", "lost")}, cache=tmp_path, progress=False)
    job = client.submit_batch(items, cache=tmp_path, progress=False)
    assert repr(job).endswith("3 items, 2 from the cache>")
    for path in tmp_path.rglob("*"):  # the cache emptied, the job's handle kept
        if path.is_file() and "batch-jobs" not in path.parts:
            path.unlink()
    client.transcribe_many({"kept": items["kept"]}, cache=tmp_path, progress=False)
    result = job.result(progress=False, poll_interval=0.02)
    table = result.to_frame().set_index("name")
    assert table["status"].astype(str).to_dict() == {"kept": "cached", "lost": "failed", "new": "transcribed"}
    assert table["seconds"].tolist() == [0.0, 0.0, 0.0]
    assert str(result.errors["lost"]) == "request failed: its cached response is gone; submit again"
    assert result["kept"].text == engine_text(items["kept"])
    # the results file is asked for as the bytes it is
    (download,) = [r for r in server.app.state.recorder.requests if r.path.endswith("/content")]
    assert (download.method, download.headers["accept"]) == ("GET", "application/octet-stream")
    # resumed without a cache (its handle found in the default folder): nothing to look up in
    monkeypatch.setenv("VOXNB_CACHE_DIR", str(tmp_path))
    again = client.batch_job(job.id, cache=False).result(progress=False)
    assert {n: str(e) for n, e in again.errors.items()} == {
        "kept": "request failed: its cached response is gone; submit again",
        "lost": "request failed: its cached response is gone; submit again",
    }
    assert again["new"].text == engine_text(items["new"])


def test_a_result_without_waiting_polls_once_and_refuses_a_running_job(scripted, tmp_path, tiny_wav):
    proxy, server = scripted
    client = voxnb.Client(base_url=server.url, retry=FAST)
    job = client.submit_batch({"m": tiny_wav(730, 0.3)}, cache=tmp_path, progress=False)
    job.wait(progress=False, poll_interval=0.02)
    proxy.polls = [{"status": "RUNNING"}, {"status": "RUNNING"}]
    assert job.refresh().status == "RUNNING"
    with pytest.raises(ParameterError) as info:
        job.result(wait=False)
    assert str(info.value) == f"batch job {job.id} is still RUNNING; wait for it (wait=True)"
    # last seen running, done by now: the one poll finds it done
    proxy.polls = [{"status": "RUNNING"}]
    assert job.refresh().status == "RUNNING"
    assert list(job.result(wait=False)) == ["m"] and job.status == "SUCCESS"


def test_a_results_file_that_cannot_be_read_says_which_and_why(scripted, tmp_path, tiny_wav):
    proxy, server = scripted
    client = voxnb.Client(base_url=server.url, retry=FAST)
    job = client.submit_batch({"m": tiny_wav(740, 0.3)}, cache=tmp_path, progress=False)
    out = job.wait(progress=False, poll_interval=0.02).job["output_file"]
    proxy.files[out] = (200, b'{"custom_id": "m"}\nnot JSON\n')
    with pytest.raises(ResponseFormatError) as info:
        job.result(progress=False)
    assert str(info.value) == f"the results file {out} holds a line that is not JSON"
    proxy.files[out] = (404, b'{"message": "No file with this id"}')
    with pytest.raises(APIError) as failed:
        job.result(progress=False)
    assert str(failed.value) == f"HTTP 404: No file with this id (GET /v1/files/{out}/content)"


class Clock:
    """Time that passes only when the client sleeps through it: ``RetryPolicy(sleep=clock.sleep)``
    and ``voxnb.api.batch.time`` replaced by the clock."""

    def __init__(self, now: float):
        self.now, self.slept = now, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    time = monotonic


@pytest.fixture
def clocked(scripted, tmp_path, tiny_wav, monkeypatch):
    """A job of two items, finished on the scripted server, whose client sleeps on a :class:`Clock`."""
    proxy, server = scripted
    clock = Clock(1024.0)
    monkeypatch.setattr(voxnb.api.batch, "time", clock)
    client = voxnb.Client(
        base_url=server.url, retry=RetryPolicy(initial_backoff=0.01, jitter=0.0, sleep=clock.sleep)
    )
    job = client.submit_batch(
        {"m": tiny_wav(750, 0.3), "n": tiny_wav(751, 0.3)}, cache=tmp_path, progress=False
    )
    job.wait(progress=False)
    clock.slept.clear()
    return proxy, clock, job


def test_polls_start_fast_and_slow_down_to_the_poll_interval(clocked):
    proxy, clock, job = clocked
    running = {"status": "RUNNING"}
    proxy.polls = [running] * 13
    assert job.wait(progress=False) is job and job.status == "SUCCESS"
    # 0.2 s, then half as long again each time, up to the default interval of 10 s
    assert clock.slept == pytest.approx(
        [0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.278125, 3.4171875, 5.12578125, 7.688671875, 10, 10, 10]
    )
    clock.slept.clear()
    proxy.polls = [running] * 13
    assert list(job.result(progress=False)) == ["m", "n"]
    assert clock.slept[-3:] == pytest.approx([10, 10, 10])
    clock.slept.clear()
    proxy.polls = [running] * 3
    job.result(progress=False, poll_interval=0.125)
    assert clock.slept == [0.125, 0.125, 0.125]
    for wrong in (0, -1, True, "10"):
        with pytest.raises(ParameterError) as info:
            job.wait(poll_interval=wrong)
        assert str(info.value) == f"poll_interval is in seconds, above 0; got {wrong!r}"


def test_a_wait_gives_up_once_more_than_its_timeout_has_passed(clocked):
    proxy, clock, job = clocked
    proxy.polls = [{"status": "RUNNING"}] * 10
    # waits of 0.125 s (exact in binary): after three, 0.375 s have passed, which is not more
    # than the timeout; the fourth makes 0.5
    with pytest.raises(voxnb.api.batch.BatchWaitTimeout) as info:
        job.wait(progress=False, poll_interval=0.125, timeout=0.375)
    assert clock.slept == [0.125] * 4
    assert str(info.value) == (
        f"batch job {job.id} still RUNNING after 0.375 s; it keeps running: wait again, or resume it "
        f"later with client.batch_job({job.id!r})"
    )


def _frames(err: str) -> list[str]:
    return [frame.strip() for frame in err.split("\r") if frame.strip()]


def test_the_wait_bar_counts_requests_once_the_job_knows_how_many(clocked, capsys):
    proxy, _, job = clocked
    counts = {"total_requests": 2, "completed_requests": 1, "succeeded_requests": 1, "failed_requests": 0}
    capsys.readouterr()
    proxy.polls = [{"status": "RUNNING", **counts}]
    job.wait(poll_interval=0.125)
    frames = _frames(capsys.readouterr().err)
    tag = f"batch {job.id[:8]}"
    # one frame as the bar opens, one a poll (the first and second), one as it closes
    assert [f.split("[")[0].strip() for f in frames] == [
        f"{tag}:   0%|          | 0/2",
        f"{tag}:  50%|█████     | 1/2",
        f"{tag}: 100%|██████████| 2/2",
        f"{tag}: 100%|██████████| 2/2",
    ]
    assert frames[1].endswith("failed=0, status=RUNNING]") and frames[3].endswith("failed=0, status=SUCCESS]")
    # a job still validating its input knows no total yet: the bar takes it when it comes
    proxy.polls = [{"status": "QUEUED", **counts, "total_requests": 0, "completed_requests": 0}]
    job.wait(poll_interval=0.125)
    frames = _frames(capsys.readouterr().err)
    assert frames[-1].startswith(f"{tag}: 100%|██████████| 2/2")
    # the bar is result()'s default too; progress=False shows none
    job.result(poll_interval=0.125)
    assert _frames(capsys.readouterr().err)[-1].startswith(f"{tag}: 100%|██████████| 2/2")
    job.wait(progress=False)
    job.result(progress=False)
    assert capsys.readouterr().err == ""
