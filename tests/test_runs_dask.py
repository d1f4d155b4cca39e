"""run_many's Dask branch on a real in-process cluster: names, counts, cache, failures, one limit.

tests/test_cluster.py runs the same branch on worker processes (killed workers, the bias lab,
corpus tables); its cluster takes seconds to start, too slow to run for every mutant of
voxnb/runs.py. Here one in-process LocalCluster (one worker, three threads: real scheduler, real
tasks, real ``distributed.Semaphore``) starts in a fraction of a second and serves the module.
The server is ``voxnb serve``'s app with the deterministic engine on 127.0.0.1; expected counts,
names and summaries are worked out by hand from the items given.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading

import pytest
from distributed import Client, LocalCluster, get_task_stream
from voxnb_serve_fixtures import InFlight

import voxnb
from voxnb.api.retry import RetryPolicy
from voxnb.backend import LocalTranscriber
from voxnb.errors import AudioError
from voxnb.local.fake import FakeEngine
from voxnb.runs import run_many
from voxnb.serve import ServerThread, create_app

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
