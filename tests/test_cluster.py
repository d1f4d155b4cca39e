"""Runs on a real Dask LocalCluster (2 worker processes, 1 thread each): offline items, a worker
killed mid-run, cached re-runs, API items under one cluster-wide limit, alignment, the bias lab,
and corpus tables built on the cluster.

One cluster serves the whole module; the audio is the bundled set's 4-second utterances.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, LocalCluster
from voxnb_serve_fixtures import InFlight

import voxnb
from voxnb import bias
from voxnb.cache import TranscriptCache
from voxnb.errors import ParameterError

AUDIO = sorted((Path(voxnb.data.__file__).parent / "bias" / "audio").glob("*.ogg"))
FIRST = [str(p) for p in AUDIO[:6]]
KILLED = [str(p) for p in AUDIO[6:14]]


@pytest.fixture(scope="module")
def dask_client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env={"MISTRAL_API_KEY": ""},  # the workers never hold a key unless a test gives one
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _first(dask_client, cache):
    """The six recordings with segment and word times, on the cluster."""
    return voxnb.transcribe_many(
        FIRST,
        backend="local",
        executor=dask_client,
        cache=str(cache),
        progress=False,
        quiet=True,
        timestamps=["segment", "word"],
    )


@pytest.fixture(scope="module")
def first_run(dask_client, tmp_path_factory):
    """Six recordings transcribed on the cluster into a fresh cache: (result, cache folder)."""
    cache = tmp_path_factory.mktemp("cluster-cache")
    return _first(dask_client, cache), cache


def _runners_per_worker(dask_client) -> dict[str, int]:
    from voxnb import cluster

    return dask_client.run(lambda: sum(len(r) for r in cluster._runners.values()))


def test_offline_items_run_as_tasks_and_match_the_in_process_run(first_run, dask_client):
    result, cache = first_run
    assert result.summary() == "6 items: 6 transcribed, 0 failed; 6 requests"
    assert list(result) == FIRST and len(TranscriptCache(cache)) == 6
    here = voxnb.transcribe_many(
        FIRST, backend="local", cache=False, progress=False, quiet=True, timestamps=["segment", "word"]
    )
    for name in FIRST:
        remote = result[name]
        assert remote.audio is None  # the samples stay on the worker
        assert remote.backend == "local" and remote.audio_sha256 == here[name].audio_sha256
        assert remote.text == here[name].text
        pd.testing.assert_frame_equal(remote.segments, here[name].segments, atol=0.02)
    # each worker thread built its runner (and loaded the engine) once
    loaded = _runners_per_worker(dask_client)
    assert sorted(loaded.values()) in ([1, 1], [0, 1])


def test_a_cached_rerun_sends_no_task_to_the_engine(first_run, dask_client):
    result, cache = first_run
    before = _runners_per_worker(dask_client)
    again = _first(dask_client, cache)
    assert again.summary() == "6 items: 0 transcribed, 6 cached, 0 failed; 0 requests"
    assert [again[n].text for n in FIRST] == [result[n].text for n in FIRST]
    assert len(TranscriptCache(cache)) == 6
    assert _runners_per_worker(dask_client) == before  # the same engines, reused


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(dask_client, tmp_path):
    cache = tmp_path / "cache"
    outcome: dict[str, object] = {}

    def run() -> None:
        outcome["result"] = voxnb.transcribe_many(
            KILLED, backend="local", executor=dask_client, cache=str(cache), progress=False, quiet=True
        )

    thread = threading.Thread(target=run)
    thread.start()
    victim, keys = None, []
    deadline = time.monotonic() + 240
    while victim is None:
        assert thread.is_alive() and time.monotonic() < deadline, (
            "the run ended before a worker could be killed"
        )
        if len(TranscriptCache(cache)) >= 1:  # mid-run: some items done, others on the workers
            for worker, processing in dask_client.processing().items():
                keys = [k for k in processing if str(k).startswith("voxnb-transcribe-")]
                if keys:
                    victim = worker
                    break
        time.sleep(0.02)
    pid = dask_client.run(os.getpid, workers=[victim])[victim]
    # what the victim holds at the moment of the kill (a task it finished meanwhile needs no re-run)
    keys = [k for k in dask_client.processing([victim])[victim] if str(k).startswith("voxnb-transcribe-")]
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()

    result = outcome["result"]
    assert result.summary() == "8 items: 8 transcribed, 0 failed; 8 requests"  # 0 lost
    files = sorted(cache.rglob("*.json"))
    assert len(files) == 8 and len({f.name for f in files}) == 8  # 0 duplicated entries
    assert len(TranscriptCache(cache)) == 8

    # the killed worker's tasks were run again, on another worker
    def times_started(dask_scheduler, keys=tuple(keys)):
        return {
            k: sum(1 for t in dask_scheduler.transition_log if t[0] == k and t[2] == "processing")
            for k in keys
        }

    started = dask_client.run_on_scheduler(times_started)
    # a task finishing between the snapshot and the signal is not run again; the others are
    assert started and any(n >= 2 for n in started.values()), started
    dask_client.wait_for_workers(2, timeout=120)  # the nanny restarts it, for the next tests


def test_api_items_on_a_cluster_share_one_concurrency_limit(dask_client, tiny_wav, tmp_path):
    from voxnb.local.fake import FakeEngine
    from voxnb.serve import ServerThread, create_app

    counter = InFlight(create_app(FakeEngine(), faults="latency:0.2"))
    items = {f"noise{i}": tiny_wav(i, seconds=0.5) for i in range(8)}
    cache = f"file://{tmp_path}/cache"  # an fsspec URL, written by the workers
    with ServerThread(counter) as server:
        client = voxnb.Client(base_url=server.url)
        result = client.transcribe_many(
            items, executor=dask_client, concurrency=1, cache=cache, progress=False
        )
        assert result.summary() == "8 items: 8 transcribed, 0 failed; 8 requests"
        assert counter.total == 8 and counter.most == 1  # two workers, one request at a time
        assert result["noise3"].backend == "mistral" and result["noise3"].base_url == server.url
        assert len(TranscriptCache(cache)) == 8
        again = client.transcribe_many(
            items, executor=dask_client, concurrency=1, cache=cache, progress=False
        )
        assert again.requests == 0 and counter.total == 8
        client.close()


def test_align_many_on_the_cluster_matches_voxnb_align(dask_client):
    ref = voxnb.data.reference("words")
    plain = voxnb.Transcript.from_response(
        {
            "text": ref["text"],
            "language": "en",
            "segments": [{"text": ref["text"], "start": 0.0, "end": ref["words"][-1]["end"] + 0.2}],
        }
    )
    path = str(voxnb.data.path("words"))
    aligned = voxnb.align_many({"words": plain}, {"words": path}, executor=dask_client, progress=False)
    assert aligned.summary() == "1 items: 1 transcribed, 0 failed; 0 requests"
    words = aligned["words"].words
    assert set(words["timing"]) == {"aligned"}
    here = voxnb.align(plain, path).words
    assert (words["start"] - here["start"]).abs().max() < 0.05


def test_the_bias_lab_runs_on_the_cluster(dask_client, tmp_path):
    items = bias.load_bundled()[:2]
    exp = bias.Experiment(items, ["none", "oracle"], backend="local")
    exp.run(executor=dask_client, cache=str(tmp_path / "cache"), progress=False)
    assert sorted(exp.transcripts) == sorted((i.name, c) for i in items for c in ("none", "oracle"))
    assert not exp.errors and len(TranscriptCache(tmp_path / "cache")) == 4
    assert set(exp.summary()["condition"]) == {"none", "oracle"}


def test_corpus_tables_equal_the_concatenation_eager_and_lazy_on_the_cluster(first_run, tmp_path):
    result, cache = first_run
    names = list(result)
    for kind in voxnb.corpus.KINDS:
        parts = [getattr(result[n], kind).assign(recording=n) for n in names]
        expected = pd.concat(parts, ignore_index=True)
        speakers = list(dict.fromkeys(s for p in parts for s in p["speaker"].cat.categories))
        expected["speaker"] = pd.Categorical(expected["speaker"].astype(object), categories=speakers)
        expected["recording"] = pd.Categorical(expected["recording"], categories=names)
        expected = expected[["recording", *parts[0].columns.drop("recording")]]

        eager = voxnb.corpus.tables(result).table(kind)
        pd.testing.assert_frame_equal(eager, expected)  # dtypes included
        lazy = voxnb.corpus.tables(result, lazy=True).table(kind)
        computed = lazy.compute()  # the client of this module is the default: built on its workers
        pd.testing.assert_frame_equal(computed.reset_index(drop=True), expected)

    # the same recordings from the cache the workers wrote, lazily, to Parquet and back
    from_cache = voxnb.corpus.tables(TranscriptCache(cache), lazy=True)
    assert len(from_cache) == 6 and from_cache.lazy
    words = from_cache.words.compute()
    assert words.groupby("recording", observed=True).size().sum() == sum(len(result[n].words) for n in names)
    from_cache.to_parquet(tmp_path / "corpus")
    back = voxnb.corpus.read_parquet(tmp_path / "corpus", "words")
    assert len(list((tmp_path / "corpus" / "words").glob("recording=*/part-0.parquet"))) == 6
    key = ["recording", "word"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True).astype({"recording": str, "speaker": object}),
        words.sort_values(key).reset_index(drop=True).astype({"recording": str, "speaker": object}),
    )


def test_what_cannot_go_to_a_cluster_is_refused_before_any_task(dask_client, guarded_api_key, monkeypatch):
    with pytest.raises(ParameterError, match=r"dask\.distributed\.Client"):
        voxnb.transcribe_many(FIRST[:1], executor="tcp://127.0.0.1:8786", progress=False, quiet=True)
    keyed = voxnb.Client(base_url="http://127.0.0.1:9", api_key=guarded_api_key, dialect="mistral")
    with pytest.raises(ParameterError, match="MISTRAL_API_KEY") as err:
        keyed.transcribe_many(FIRST[:1], executor=dask_client, progress=False, cache=False)
    assert guarded_api_key not in str(err.value)
    keyed.close()
    # this process has the key, the workers (started before it was set) do not: found before any task
    monkeypatch.setenv("MISTRAL_API_KEY", guarded_api_key)
    mistral = voxnb.Client()
    with pytest.raises(ParameterError, match="MISTRAL_API_KEY is not set in this worker's environment"):
        mistral.transcribe_many(FIRST[:1], executor=dask_client, progress=False, cache=False)
    assert mistral.requests_sent == 0
    mistral.close()
