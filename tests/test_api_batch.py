"""transcribe_many: concurrency under faults, the cache, failures and interruptions lose no work."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import threading

import pandas as pd
import pytest

import voxnb
from voxnb.api.retry import RetryPolicy
from voxnb.local.fake import FakeEngine

FAST = RetryPolicy(max_retries=12, initial_backoff=0.001, max_backoff=0.01, jitter=1.0)


def successes_per_file(server):
    return collections.Counter(r.file_sha256 for r in server.recorder.matching(status=200))


@pytest.mark.slow
def test_a_thousand_requests_under_20_percent_faults_each_succeed_exactly_once(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="429:0.1,500:0.05,503:0.05,seed:7")
    items = {f"clip{i:04d}": tiny_wav(i, seconds=0.02) for i in range(1000)}
    with voxnb.Client(base_url=server.url, dialect="mistral", retry=FAST) as client:
        result = client.transcribe_many(items, concurrency=8, cache=False, progress=False)
    assert not result.errors and len(result) == 1000 and list(result) == list(items)
    counts = successes_per_file(server)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    faults = len(server.recorder) - 1000
    assert 100 < faults < 400 and result.requests == len(server.recorder)
    engine = FakeEngine()
    for name in ("clip0000", "clip0500", "clip0999"):  # each answer belongs to its own item
        assert result[name].text == engine.transcribe(voxnb.Audio.load(items[name]).y)["text"]


def test_cached_rerun_sends_zero_requests(start_voxnb_server, tiny_wav, tmp_path):
    server = start_voxnb_server()
    items = [tiny_wav(i, seconds=0.5) for i in range(5)]
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        first = client.transcribe_many(items, cache=tmp_path, progress=False, timestamps="segment")
        sent = len(server.recorder)
        again = client.transcribe_many(items, cache=tmp_path, progress=False, timestamps="segment")
        assert len(server.recorder) == sent == 5 and again.requests == 0
        assert again.from_cache == again.names
        assert [again[n].text for n in again] == [first[n].text for n in first]
        assert again["item0"].request == first["item0"].request
        assert again["item0"].audio_sha256 == first["item0"].audio_sha256
        # other parameters are another cache entry
        client.transcribe_many(items[:2], cache=tmp_path, progress=False)
        assert len(server.recorder) == 7
    entries = sorted(tmp_path.glob("*/*.json"))
    assert len(entries) == 7
    entry = json.loads(entries[0].read_text())
    assert set(entry) == {"format", "key", "meta", "response"}


def test_default_cache_directory_is_used_and_a_corrupt_entry_is_fetched_again(start_voxnb_server, tiny_wav):
    server = start_voxnb_server()
    cache_dir = voxnb.cache.default_cache_dir()
    assert str(cache_dir) == os.environ["VOXNB_CACHE_DIR"]  # set for the whole suite in conftest
    items = {"a": tiny_wav(100), "b": tiny_wav(101)}
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        client.transcribe_many(items, progress=False)
        (entry_a,) = [
            p
            for p in cache_dir.glob("*/*.json")
            if json.loads(p.read_text())["meta"]["audio_sha256"]
            == client.transcribe_many({"a": items["a"]}, progress=False)["a"].audio_sha256
        ]
        entry_a.write_text('{"format": "voxnb.transcription-cache/1", "key": "tru')
        before = len(server.recorder)
        result = client.transcribe_many(items, progress=False)
    assert len(server.recorder) == before + 1
    assert result.status("a") == "transcribed" and result.status("b") == "cached"
    assert json.loads(entry_a.read_text())["response"]["model"] == "voxnb-deterministic-test-engine"


def test_a_failing_item_never_stops_the_batch(start_voxnb_server, tiny_wav, tmp_path):
    server = start_voxnb_server()
    missing = tmp_path / "gone.wav"
    items = {"ok1": tiny_wav(1), "missing": missing, "garbage": b"not audio", "ok2": tiny_wav(2)}
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        result = client.transcribe_many(items, cache=False, progress=False)
    assert list(result) == ["ok1", "ok2"]
    assert set(result.errors) == {"missing", "garbage"}
    assert isinstance(result.errors["missing"], voxnb.AudioError)
    with pytest.raises(KeyError, match="not a recognised audio file"):
        result["garbage"]
    frame = result.to_frame()
    assert list(frame["name"]) == list(items)
    assert list(frame["status"]) == ["transcribed", "failed", "failed", "transcribed"]
    assert frame.loc[1, "error"].startswith("AudioError")
    assert pd.isna(frame.loc[1, "text"]) and frame.loc[0, "text"] == result["ok1"].text
    assert "2 transcribed, 2 failed" in repr(result)


def test_item_names(start_voxnb_server, tiny_wav, tmp_path):
    server = start_voxnb_server()
    path = tmp_path / "x.wav"
    path.write_bytes(tiny_wav(3))
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        result = client.transcribe_many(
            [path, ("named", tiny_wav(4)), tiny_wav(5)], cache=False, progress=False
        )
        assert result.names == [str(path), "named", "item2"]
        with pytest.raises(voxnb.ParameterError, match="same name"):
            client.transcribe_many([path, str(path)], progress=False)
        with pytest.raises(voxnb.ParameterError, match="for one recording use transcribe"):
            client.transcribe_many(str(path))
        with pytest.raises(voxnb.ParameterError, match="diarize must be True or False"):
            client.transcribe_many([path], diarize="yes")
    assert len(server.recorder) == 3


def test_items_carry_their_own_parameters(start_voxnb_server, tiny_wav, tmp_path):
    server = start_voxnb_server()
    path = tmp_path / "p.wav"
    path.write_bytes(tiny_wav(4))
    items = {
        "a": {"audio": tiny_wav(1), "context_bias": ["Oban"]},
        "b": {"audio": tiny_wav(2), "context_bias": ["Joplin", "Sausalito"], "timestamps": "segment"},
        "c": tiny_wav(3),
    }
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        result = client.transcribe_many(items, cache=tmp_path / "cache", progress=False, temperature=0.0)
        assert not result.errors and list(result) == ["a", "b", "c"]
        assert result["a"].request["context_bias"] == ["Oban"] and result["a"].request["temperature"] == 0.0
        assert result["b"].request["timestamp_granularities"] == ["segment"] and len(result["b"].segments) > 0
        assert (
            result["c"].request["context_bias"] == [] and result["c"].request["timestamp_granularities"] == []
        )
        sent = {r.file_sha256: r.field_values("context_bias") for r in server.recorder.matching(status=200)}
        assert sorted(sent.values()) == [[], ["Joplin", "Sausalito"], ["Oban"]]
        assert sent[result["a"].audio_sha256] == ["Oban"]

        # an item's cache key holds its own parameters: another list for "a" is a new request
        again = client.transcribe_many(
            {**items, "a": {"audio": tiny_wav(1), "context_bias": ["Tobermory"]}},
            cache=tmp_path / "cache",
            progress=False,
            temperature=0.0,
        )
        assert again.from_cache == ["b", "c"] and again.requests == 1
        assert again["a"].request["context_bias"] == ["Tobermory"]

        # in a list, a mapping item is named by its audio like a bare path
        listed = client.transcribe_many(
            [{"audio": path, "language": "en"}, ("n", {"audio": tiny_wav(5)})], cache=False, progress=False
        )
        assert listed.names == [str(path), "n"] and listed[str(path)].request["language"] == "en"

        # every item is checked before anything is sent
        before = len(server.recorder)
        with pytest.raises(voxnb.ParameterError, match=r"item 'b'.*whitespace"):
            client.transcribe_many(
                {"a": tiny_wav(1), "b": {"audio": tiny_wav(2), "context_bias": ["two words"]}}
            )
        with pytest.raises(voxnb.ParameterError, match=r"item 'b'.*\['bias'\]"):
            client.transcribe_many({"a": tiny_wav(1), "b": {"audio": tiny_wav(2), "bias": ["Oban"]}})
        with pytest.raises(voxnb.ParameterError, match=r"item 'a'.*diarize must be True or False"):
            client.transcribe_many({"a": {"audio": tiny_wav(1), "diarize": "yes"}})
        with pytest.raises(voxnb.ParameterError, match="without 'audio'"):
            client.transcribe_many({"a": {"file": tiny_wav(1)}})
        assert len(server.recorder) == before


def test_cancelled_batch_resumes_without_resending_finished_items(start_voxnb_server, tiny_wav, tmp_path):
    server = start_voxnb_server(faults="latency:0.05")
    items = {f"c{i}": tiny_wav(200 + i) for i in range(30)}

    async def interrupted_then_resumed():
        async with voxnb.AsyncClient(base_url=server.url, dialect="mistral") as client:
            task = asyncio.create_task(
                client.transcribe_many(items, concurrency=2, cache=tmp_path, progress=False)
            )
            while len(client.last_batch or ()) < 6:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            partial = client.last_batch
            resumed = await client.transcribe_many(items, concurrency=4, cache=tmp_path, progress=False)
            return partial, resumed

    partial, resumed = asyncio.run(interrupted_then_resumed())
    finished = list(partial)
    assert 6 <= len(finished) < 30 and partial.pending
    assert len(resumed) == 30 and not resumed.errors
    # finished items come from the cache; at most the two in flight may have been cached as it stopped
    cached = set(resumed.from_cache)
    assert set(finished) <= cached and len(cached - set(finished)) <= 2
    assert resumed.requests == 30 - len(cached)
    counts = successes_per_file(server)
    assert all(counts[resumed[name].audio_sha256] == 1 for name in finished)


def test_keyboard_interrupt_keeps_finished_work(start_voxnb_server, tiny_wav, tmp_path):
    """A Jupyter interrupt is SIGINT in the main thread; the re-run re-sends only unfinished items."""
    server = start_voxnb_server(faults="latency:0.05")
    items = {f"k{i}": tiny_wav(300 + i) for i in range(40)}
    # Python's own SIGINT handler raises KeyboardInterrupt; a runner may have ignored SIGINT
    # (mutmut's fork server does), which would turn this test into a false failure
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    with voxnb.Client(base_url=server.url, dialect="mistral") as client:
        timer = threading.Timer(0.4, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                client.transcribe_many(items, concurrency=2, cache=tmp_path, progress=False)
        finally:
            timer.cancel()
            signal.signal(signal.SIGINT, previous)
        done = set(client.last_batch)
        assert 0 < len(done) < 40
        resumed = client.transcribe_many(items, concurrency=8, cache=tmp_path, progress=False)
    cached = set(resumed.from_cache)
    assert len(resumed) == 40 and done <= cached and len(cached - done) <= 2
    assert resumed.requests == 40 - len(cached)
