"""run_many and BatchResult on the offline runner: statuses, names, per-item options, bounds, failures.

The runner is the real :class:`voxnb.backend.LocalTranscriber` around the deterministic test
engine (no model, no server), so each run takes milliseconds; the HTTP client drives the same
code in tests/test_api_batch.py. Expected counts, names and lines are worked out by hand from
the items given.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream
from voxnb_serve_fixtures import InFlight

import voxnb
from voxnb.api.retry import RetryPolicy
from voxnb.backend import LocalTranscriber
from voxnb.errors import AudioError, ParameterError
from voxnb.local.fake import FakeEngine
from voxnb.runs import BatchResult, cache_inputs, named_items, run_many
from voxnb.serve import ServerThread, create_app

MODEL = FakeEngine().model


def run(runner, items, *, concurrency=4, cache=False, progress=False, sr=None, **options):
    return asyncio.run(
        run_many(
            runner, items, concurrency=concurrency, cache=cache, progress=progress, sr=sr, options=options
        )
    )


class Counting(LocalTranscriber):
    """The offline runner, counting how many items are in flight and how often options are resolved."""

    def __init__(self, fail: dict | None = None):
        super().__init__(FakeEngine())
        self.in_flight = self.most_in_flight = self.prepared = 0
        self.fail = fail or {}

    async def prepare(self, **options):
        self.prepared += 1
        return await super().prepare(**options)

    async def send(self, source, request):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)  # let the other workers start theirs
            response = await super().send(source, request)
            error = self.fail.get(source.sha256)
            if error is not None:  # after the engine call: a request that was made, then failed
                raise error
            return response
        finally:
            self.in_flight -= 1


def test_a_run_with_every_status_and_its_table(tiny_wav, tmp_path):
    a, b, c = tiny_wav(1, seconds=0.5), tiny_wav(2, seconds=0.5), tiny_wav(3, seconds=0.5)
    runner = LocalTranscriber(FakeEngine())
    first = run(runner, {"a": a, "bad": b"not audio", "b": b}, cache=tmp_path)
    # "bad" fails while its audio is read: no engine call for it
    assert first.summary() == "3 items: 2 transcribed, 1 failed; 2 requests"
    assert repr(first) == "<BatchResult 3 items: 2 transcribed, 1 failed; 2 requests>"
    assert list(first) == ["a", "b"] and len(first) == 2 and first.names == ["a", "bad", "b"]
    assert isinstance(first.errors["bad"], AudioError) and list(first.errors) == ["bad"]
    with pytest.raises(KeyError, match=r"'bad' failed: "):
        first["bad"]
    assert runner.last_batch is first and first.job_id is None

    second = run(runner, {"c": c, "a": a, "b": b}, cache=tmp_path)
    assert second.summary() == "3 items: 1 transcribed, 2 cached, 0 failed; 1 requests"
    assert second.from_cache == ["a", "b"] and second.pending == []
    assert [second.status(n) for n in ("c", "a", "b", "unknown")] == [
        "transcribed",
        "cached",
        "cached",
        "pending",
    ]
    assert second["a"].text == first["a"].text and second["a"].request == first["a"].request

    frame = first.to_frame()
    assert list(frame.columns) == [
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
    ]
    assert list(frame["name"]) == ["a", "bad", "b"] and str(frame["name"].dtype) == "string"
    assert list(frame["status"].cat.categories) == ["transcribed", "cached", "failed", "pending"]
    assert list(frame["status"].astype(str)) == ["transcribed", "failed", "transcribed"]
    assert frame["error"].iloc[1] == f"AudioError: {first.errors['bad']}" and frame[
        "error"
    ].isna().tolist() == [
        True,
        False,
        True,
    ]
    assert frame["text"].iloc[0] == first["a"].text and pd.isna(frame["text"].iloc[1])
    assert list(frame["model"].fillna("-")) == [MODEL, "-", MODEL]
    # no timestamps asked: the test engine names the language, like Mistral
    assert list(frame["language"].fillna("-")) == ["en", "-", "en"]
    assert frame["duration"].iloc[0] == pytest.approx(0.5) and math.isnan(frame["duration"].iloc[1])
    assert str(frame["n_segments"].dtype) == "Int64" and frame["n_segments"].iloc[0] == 1  # the untimed text
    assert pd.isna(frame["n_segments"].iloc[1])
    assert frame["audio_sha256"].iloc[2] == voxnb.Audio.load(b).sha256 and pd.isna(
        frame["audio_sha256"].iloc[1]
    )
    for column in ("error", "text", "model", "language", "audio_sha256"):
        assert str(frame[column].dtype) == "string", column
    html = first._repr_html_()
    assert html.startswith("<p><b>BatchResult</b> 3 items: 2 transcribed, 1 failed; 2 requests</p><")
    assert "<table" in html and "bad" in html


def test_each_item_takes_no_longer_than_the_whole_run(tiny_wav):
    started = time.perf_counter()
    result = run(LocalTranscriber(FakeEngine()), [tiny_wav(1), b"junk"], concurrency=1)
    whole = time.perf_counter() - started
    seconds = result.to_frame()["seconds"]
    assert ((seconds >= 0) & (seconds <= whole)).all()


def test_an_empty_result_and_a_language_the_transcript_does_not_have():
    empty = BatchResult([])
    assert empty.summary() == "0 items: 0 transcribed, 0 failed; 0 requests"
    assert empty.to_frame().empty and list(empty.to_frame().columns) == list(
        BatchResult(["x"]).to_frame().columns
    )
    pending = BatchResult(["x", "y"])
    assert pending.pending == ["x", "y"] and pending.status("x") == "pending"
    assert pending.summary() == "2 items: 0 transcribed, 0 failed, 2 pending; 0 requests"
    frame = pending.to_frame()
    assert list(frame["status"].astype(str)) == ["pending", "pending"] and frame["seconds"].isna().all()
    # a transcript without a language (timestamps were asked) has NA there, not None; the clip is
    # quiet, not silent: silence is refused before it reaches the engine (issue 11)
    done = run(
        LocalTranscriber(FakeEngine()),
        {"x": np.full(8000, 0.1, dtype="float32")},
        sr=16000,
        timestamps="segment",
    )
    assert pd.isna(done.to_frame()["language"].iloc[0]) and done["x"].language is None


def test_names_come_from_the_dict_the_pairs_or_the_paths(tmp_path):
    path = tmp_path / "one.wav"
    assert named_items({"x": 1, 2: "y"}) == [("x", 1), ("2", "y")]
    named = named_items(
        [("first", 1), str(path), {"audio": tmp_path / "two.wav"}, b"raw", ("a", 1, 2), (3, 4)]
    )
    assert [name for name, _ in named] == [
        "first",
        str(path),
        str(tmp_path / "two.wav"),
        "item3",
        "item4",
        "item5",
    ]
    assert named[0] == ("first", 1) and named[3] == ("item3", b"raw")
    with pytest.raises(ParameterError) as info:
        named_items([str(path), "b", path, "b", "c", "c", "d", "d"])
    assert str(info.value) == (
        f"transcribe_many() got the same name more than once (['{path}', 'b', 'c']); pass a dict with unique names"
    )


@pytest.mark.parametrize("items", ["a.wav", b"RIFF", 42, None, __import__("pathlib").Path("a.wav")])
def test_one_recording_is_not_a_list(items):
    with pytest.raises(ParameterError) as info:
        named_items(items)
    assert str(info.value) == (
        "transcribe_many() takes a list of recordings or a dict name → recording; for one recording use "
        "transcribe()"
    )


def test_items_carry_their_own_options_and_sample_rate():
    runner = Counting()
    quiet = np.full(8000, 0.1, dtype="float32")  # quiet, not silent: silence is refused (issue 11)
    items = {
        "shared": quiet,
        "own sr": {"audio": quiet, "sr": 8000},  # no options of its own: the shared request
        "segments": {"audio": quiet, "timestamps": "segment"},
    }
    result = run(runner, items, sr=16000, language="en")
    assert runner.prepared == 2  # the shared request once, and the one item with options of its own
    assert result["shared"].duration == pytest.approx(0.5) and result["own sr"].duration == pytest.approx(1.0)
    assert result["shared"].request == result["own sr"].request
    own = result["segments"].request
    assert own["timestamp_granularities"] == ["segment"] and own["language"] == "en"  # merged, not replaced
    assert result["shared"].request["timestamp_granularities"] == []


def test_an_item_refused_names_itself_and_nothing_is_sent():
    runner = Counting()
    with pytest.raises(ParameterError) as info:
        run(runner, {"ok": b"x", "odd": {"audio": b"x", "language": "english"}})
    assert str(info.value) == (
        "transcribe_many() item 'odd': language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; "
        "got 'english' (for 'english' write 'en')"
    )
    assert info.value.option == "language" and runner.requests_sent == 0
    with pytest.raises(ParameterError) as info:
        run(runner, {"ok": b"x", "lost": {"sr": 8000}})
    assert str(info.value) == (
        "transcribe_many() item 'lost' is a mapping without 'audio'; write it as "
        "{'audio': recording, 'context_bias': [...], ...}"
    )


@pytest.mark.parametrize("concurrency", [0, -2, True, 1.5, "2", None])
def test_concurrency_must_be_a_positive_integer(concurrency):
    with pytest.raises(ParameterError) as info:
        run(LocalTranscriber(FakeEngine()), [b"x"], concurrency=concurrency)
    assert str(info.value) == f"concurrency must be a positive integer; got {concurrency!r}"
    assert info.value.option == "concurrency"


@pytest.mark.parametrize(("concurrency", "items", "most"), [(1, 4, 1), (2, 5, 2), (8, 3, 3)])
def test_at_most_concurrency_items_are_in_flight(tiny_wav, concurrency, items, most):
    runner = Counting()
    result = run(runner, [tiny_wav(i) for i in range(items)], concurrency=concurrency)
    assert len(result) == items and runner.most_in_flight == most and result.requests == items


def test_a_failure_never_stops_the_others_and_only_the_unexpected_are_logged(tiny_wav, caplog):
    good, odd = tiny_wav(1), tiny_wav(2)
    runner = Counting(fail={voxnb.Audio.load(odd).sha256: RuntimeError("boom")})
    with caplog.at_level(logging.WARNING, logger="voxnb"):
        result = run(runner, {"good": good, "odd": odd, "bad": b"not audio"}, concurrency=1)
    assert list(result) == ["good"] and set(result.errors) == {"odd", "bad"}
    assert result.requests == 2  # "odd" was sent (and failed); "bad" never got that far
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "item 'odd' failed unexpectedly: RuntimeError: boom",
        "transcribe: 2 of 3 items failed; see result.errors",
    ]


def test_an_interrupted_run_keeps_what_finished(tiny_wav):
    first, second, third = tiny_wav(1), tiny_wav(2), tiny_wav(3)
    runner = Counting(fail={voxnb.Audio.load(second).sha256: KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        run(runner, {"one": first, "two": second, "three": third}, concurrency=1)
    batch = runner.last_batch
    assert list(batch) == ["one"] and batch.pending == ["two", "three"] and batch.requests == 2
    assert batch.summary() == "3 items: 1 transcribed, 0 failed, 2 pending; 2 requests"


def test_the_progress_bar_counts_files_failures_and_cache_hits(tiny_wav, tmp_path, capsys):
    runner = LocalTranscriber(FakeEngine())
    run(runner, {"a": tiny_wav(1)}, cache=tmp_path, progress=True)
    bar = capsys.readouterr().err
    assert "transcribing: 100%" in bar and "1/1" in bar and "file/s" in bar and "failed=" not in bar
    run(runner, {"a": tiny_wav(1), "bad": b"junk"}, cache=tmp_path, progress=True)
    assert "2/2" in (bar := capsys.readouterr().err) and "cached=1, failed=1]" in bar
    run(runner, {"a": tiny_wav(1)}, cache=tmp_path, progress=False)
    assert capsys.readouterr().err == ""


def test_the_cache_inputs_name_the_audio_the_backend_the_server_and_the_request():
    runner = LocalTranscriber(FakeEngine())
    assert cache_inputs(runner, "abc", {"model": "m"}) == {
        "audio_sha256": "abc",
        "backend": "local",
        "base_url": "",
        "request": {"model": "m"},
    }


def test_without_a_cache_every_run_sends_again(tiny_wav, tmp_path):
    runner = LocalTranscriber(FakeEngine())
    for cache in (False, None):
        assert run(runner, [tiny_wav(1)], cache=cache).requests == 1
    assert run(runner, [tiny_wav(1)], cache=tmp_path).requests == 1
    assert run(runner, [tiny_wav(1)], cache=tmp_path).requests == 0


@pytest.mark.parametrize("progress", ["yes", 1, None])
def test_progress_must_be_true_or_false(progress):
    runner = Counting()
    with pytest.raises(ParameterError) as info:
        run(runner, [b"x"], progress=progress)
    assert str(info.value) == f"progress= is True or False; got {progress!r}"
    assert info.value.option == "progress" and runner.requests_sent == 0


def test_the_bar_shows_failures_without_cache_hits_and_draws_them_with_the_next_count(tiny_wav, capsys):
    run(LocalTranscriber(FakeEngine()), {"bad": b"junk", "a": tiny_wav(1)}, concurrency=1, progress=True)
    draws = [d for d in capsys.readouterr().err.split("\r") if d.strip()]
    assert "2/2" in draws[-1] and draws[-1].rstrip().endswith("cached=0, failed=1]")
    # the counts are not drawn on their own: the draw after the failure shows 1/2 without them
    assert all("2/2" in d for d in draws if "failed=" in d), draws


def test_the_request_count_is_this_run_s_as_items_finish(tiny_wav):
    class Watching(LocalTranscriber):
        """The offline runner, noting the batch's request count each time it sends."""

        seen: list

        async def send(self, source, request):
            self.seen.append(self.last_batch.requests)
            return await super().send(source, request)

    runner = Watching(FakeEngine())
    runner.seen = []
    run(runner, [tiny_wav(1), tiny_wav(2)])
    assert runner.requests_sent == 2
    runner.seen = []
    result = run(runner, [tiny_wav(3), tiny_wav(4), tiny_wav(5)], concurrency=1)
    # one item at a time: before each send, the requests of the items already done in this run
    assert runner.seen == [0, 1, 2] and result.requests == 3 and runner.requests_sent == 5


def test_duplicated_names_are_the_only_ones_named():
    with pytest.raises(ParameterError) as info:
        named_items(["a", "b", "b", "c"])
    assert str(info.value) == (
        "transcribe_many() got the same name more than once (['b']); pass a dict with unique names"
    )


def test_requests_that_differ_only_in_options_do_not_share_a_cache_entry(tiny_wav, tmp_path):
    runner = LocalTranscriber(FakeEngine())
    audio = {"a": tiny_wav(1, seconds=0.5)}
    first = run(runner, audio, cache=tmp_path, timestamps="segment")
    assert first.summary() == "1 items: 1 transcribed, 0 failed; 1 requests"
    plain = run(runner, audio, cache=tmp_path)
    assert plain.summary() == "1 items: 1 transcribed, 0 failed; 1 requests"
    assert plain["a"].request["timestamp_granularities"] == [] and plain["a"].language == "en"
    again = run(runner, audio, cache=tmp_path, timestamps="segment")
    assert again.summary() == "1 items: 0 transcribed, 1 cached, 0 failed; 0 requests"
    assert again["a"].request["timestamp_granularities"] == ["segment"] and again["a"].language is None


def test_an_item_never_finished_has_no_seconds():
    frame = BatchResult(["x"]).to_frame()
    assert str(frame["seconds"].dtype) == "float64" and math.isnan(frame["seconds"].iloc[0])
    assert str(frame["duration"].dtype) == "float64" and math.isnan(frame["duration"].iloc[0])


# -- the Dask branch, on a real in-process cluster ----------------------------------------------
# tests/test_cluster.py runs the same branch on worker processes (killed workers, the bias lab,
# corpus tables); its cluster takes seconds to start, too slow to run for every mutant of
# voxnb/runs.py. Here one in-process LocalCluster (one worker, three threads: real scheduler, real
# tasks, real ``distributed.Semaphore``) starts in a fraction of a second and serves the module.
# The server is ``voxnb serve``'s app with the deterministic engine on 127.0.0.1; expected counts,
# names and summaries are worked out by hand from the items given.

THREADS = 3


@pytest.fixture(scope="module")
def dask_client():
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=THREADS,
            processes=False,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_each_item_is_a_named_task_recorded_under_its_own_name(dask_client, tiny_wav, tmp_path):
    wavs = {
        "one": tiny_wav(1, seconds=0.5),
        "two": tiny_wav(2, seconds=0.5),
        "three": tiny_wav(3, seconds=0.5),
    }
    items = {"one": wavs["one"], "junk": b"not audio", "two": wavs["two"], "three": wavs["three"]}
    counter = InFlight(create_app(FakeEngine()))
    with ServerThread(counter) as server:
        # no retries: a task still in flight when a failed test stops the server ends at once
        client = voxnb.Client(base_url=server.url, retry=RetryPolicy(max_retries=0))
        with get_task_stream(dask_client) as stream:
            result = client.transcribe_many(
                items, executor=dask_client, concurrency=THREADS, cache=tmp_path, progress=False
            )
        # three items reach the server, one at a time or not: the sum of every task's requests
        assert counter.total == 3 and result.requests == 3
        assert result.summary() == "4 items: 3 transcribed, 1 failed; 3 requests"
        assert list(result) == ["one", "two", "three"] and list(result.errors) == ["junk"]
        assert isinstance(result.errors["junk"], AudioError)
        # each transcript under its own name: the hash of the bytes sent, and what the deterministic
        # engine hears in that item's audio
        heard = {name: FakeEngine().transcribe(voxnb.Audio.load(wav).y)["text"] for name, wav in wavs.items()}
        assert len(set(heard.values())) == 3  # three different texts: a mix-up would show
        for name, wav in wavs.items():
            assert result[name].audio_sha256 == hashlib.sha256(wav).hexdigest()
            assert result[name].text == heard[name] and result[name].base_url == server.url
        frame = result.to_frame()
        assert list(frame["status"].astype(str)) == ["transcribed", "failed", "transcribed", "transcribed"]
        assert frame["error"].iloc[1] == f"AudioError: {result.errors['junk']}"
        assert str(result.errors["junk"]).startswith("the audio data is not a recognised audio file")
        assert all(math.isfinite(s) and s >= 0 for s in frame["seconds"])  # done and failed alike
        # every item was a task on the cluster, named for the dashboard
        keys = [task["key"] for task in stream.data]
        assert len(keys) == 4 and all(key.startswith("voxnb-transcribe-") for key in keys), keys

        again = client.transcribe_many(
            items, executor=dask_client, concurrency=THREADS, cache=tmp_path, progress=False
        )
        assert counter.total == 3 and again.requests == 0
        assert again.summary() == "4 items: 0 transcribed, 3 cached, 1 failed; 0 requests"
        assert again.from_cache == ["one", "two", "three"] and list(again.errors) == ["junk"]
        assert again["two"].text == result["two"].text
        client.close()


def test_a_server_run_holds_concurrency_as_one_limit_across_the_worker_threads(dask_client, tiny_wav):
    # three worker threads, a limit of two: without the cluster-wide limit all three would send
    counter = InFlight(create_app(FakeEngine(), faults="latency:0.15"))
    items = [tiny_wav(i, seconds=0.5) for i in range(6)]
    with ServerThread(counter) as server:
        client = voxnb.Client(base_url=server.url, retry=RetryPolicy(max_retries=0))
        result = client.transcribe_many(
            items, executor=dask_client, concurrency=2, cache=False, progress=False
        )
        client.close()
    assert len(result) == 6 and result.requests == 6 and counter.total == 6
    assert 1 <= counter.most <= 2


class Rendezvous(FakeEngine):
    """The deterministic engine, made to wait (up to a few seconds) until a second call has begun.

    Class-level state (Dask may send the engine to its worker as a copy): ``calls`` begun,
    ``most`` in flight at once.
    """

    lock = threading.Condition()
    calls = now = most = 0

    def transcribe(self, samples, **options):
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            cls.now += 1
            cls.most = max(cls.most, cls.now)
            cls.lock.notify_all()
            cls.lock.wait_for(lambda: cls.calls >= 2, timeout=3)
        try:
            return super().transcribe(samples, **options)
        finally:
            with cls.lock:
                cls.now -= 1


def test_an_offline_run_is_not_held_to_concurrency_on_the_cluster(dask_client, tiny_wav):
    # concurrency= bounds requests to a server; each worker thread has its own engine, so two
    # items of an offline run are transcribed at once even with concurrency=1
    Rendezvous.calls = Rendezvous.most = 0
    runner = LocalTranscriber(Rendezvous())
    result = asyncio.run(
        run_many(
            runner,
            {"a": tiny_wav(1, seconds=0.5), "b": tiny_wav(2, seconds=0.5)},
            concurrency=1,
            cache=False,
            progress=False,
            sr=None,
            options={},
            executor=dask_client,
        )
    )
    assert result.summary() == "2 items: 2 transcribed, 0 failed; 2 requests"
    assert Rendezvous.calls == 2 and Rendezvous.most == 2
