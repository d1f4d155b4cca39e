"""voxnb.api.retry: the schedule of waits the client keeps, checked without waiting it out.

The client waits through ``RetryPolicy.sleep``; these tests pass one that records the delays,
so Retry-After and the backoff are read from what the code decided, not from a stopwatch.
"""

from __future__ import annotations

import asyncio
import email.utils

import pytest

import voxnb
from voxnb.api.retry import RetryPolicy, parse_retry_after


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = RetryPolicy(initial_backoff=0.1, multiplier=2, max_backoff=1.0, jitter=0.5)
    for n, base in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        delays = [policy.backoff(n) for _ in range(50)]
        assert all(base <= d <= base + 0.05 + 1e-12 for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.backoff(3, retry_after=7.0) == 7.0
    with pytest.raises(voxnb.ParameterError):
        RetryPolicy(max_retries=-1)


class Waits(list):
    """A ``sleep`` that records each delay instead of sleeping."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_retry_after_is_honoured_for_every_retry(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="429:1.0,retry-after:45")
    waits = Waits()
    policy = RetryPolicy(max_retries=2, initial_backoff=0.0, jitter=0.0, sleep=waits)
    with (
        voxnb.Client(base_url=server.url, dialect="mistral", retry=policy) as client,
        pytest.raises(voxnb.RateLimitError),
    ):
        client.transcribe(tiny_wav(4))
    assert waits == [45.0, 45.0]  # the backoff alone would have been 0 s
    assert len(server.recorder) == 3


def test_without_retry_after_the_backoff_doubles_up_to_its_cap(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="503:1.0")
    waits = Waits()
    policy = RetryPolicy(max_retries=4, initial_backoff=0.5, max_backoff=1.5, jitter=0.0, sleep=waits)
    with (
        voxnb.Client(base_url=server.url, dialect="mistral", retry=policy) as client,
        pytest.raises(voxnb.ServerError),
    ):
        client.transcribe(tiny_wav(5))
    assert waits == [0.5, 1.0, 1.5, 1.5]
    assert len(server.recorder) == 5


def test_wait_awaits_a_coroutine_sleep_and_calls_a_plain_one():
    waits = Waits()
    asyncio.run(RetryPolicy(sleep=waits).wait(0.75))
    assert waits == [0.75]  # the coroutine ran: it was awaited, not just created
    plain: list[float] = []
    asyncio.run(RetryPolicy(sleep=plain.append).wait(1.25))
    assert plain == [1.25]


def test_a_backoff_too_large_for_a_float_is_the_cap():
    # 10.0 ** 400 overflows a float (the largest is about 1.8e308): the cap of 30 s applies
    policy = RetryPolicy(initial_backoff=1.0, multiplier=10.0, max_backoff=30.0, jitter=0.0)
    assert policy.backoff(400) == 30.0


def test_a_plain_function_can_be_the_sleep(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="503:1.0")
    waits: list[float] = []
    policy = RetryPolicy(max_retries=2, initial_backoff=0.25, jitter=0.0, sleep=waits.append)
    with (
        voxnb.Client(base_url=server.url, dialect="mistral", retry=policy) as client,
        pytest.raises(voxnb.ServerError),
    ):
        client.transcribe(tiny_wav(6))
    assert waits == [0.25, 0.5]


def test_a_request_that_cannot_be_fixed_by_waiting_is_not_retried(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="400:1.0")
    waits = Waits()
    with (
        voxnb.Client(base_url=server.url, dialect="mistral", retry=RetryPolicy(sleep=waits)) as client,
        pytest.raises(voxnb.APIError),
    ):
        client.transcribe(tiny_wav(6))
    assert waits == [] and len(server.recorder) == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), (" 7 ", 7.0), ("0.25", 0.25), ("-3", 0.0), ("0", 0.0)],
)
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_counts_from_now():
    now = 1_700_000_000.0
    in_ninety = email.utils.formatdate(now + 90, usegmt=True)  # how servers write the date
    assert parse_retry_after(in_ninety, now=now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0  # past: go now


def test_retry_after_http_date_without_now_uses_the_clock():
    far = email.utils.formatdate(4_000_000_000, usegmt=True)  # the year 2096
    assert parse_retry_after(far) > 10 * 365 * 86400


@pytest.mark.parametrize("header", [None, "", "soon", "Wed, 99 Foo 2015 25:61:00 GMT", "1e3x"])
def test_unreadable_retry_after_is_none(header):
    assert parse_retry_after(header) is None


def test_backoff_without_jitter_is_exact():
    policy = RetryPolicy(initial_backoff=0.1, multiplier=3, max_backoff=2.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(5)] == pytest.approx([0.1, 0.3, 0.9, 2.0, 2.0])
    assert policy.backoff(0, retry_after=0.0) == 0.0  # the server's 0 is honoured, not replaced


def test_jitter_scales_with_the_initial_backoff():
    policy = RetryPolicy(initial_backoff=2.0, multiplier=1, jitter=0.25)
    delays = [policy.backoff(4) for _ in range(200)]
    assert all(2.0 <= d <= 2.5 for d in delays)
    assert max(delays) > 2.25 and min(delays) < 2.25  # spread over the whole [0, 0.5] extra


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"initial_backoff": -0.1},
        {"max_backoff": -1.0},
        {"jitter": -0.5},
        {"max_retry_after": -1.0},
        {"multiplier": 0.99},
    ],
)
def test_impossible_policies_are_refused(options):
    (name,) = options
    with pytest.raises(voxnb.ParameterError, match=f"^{name} must be"):
        RetryPolicy(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"max_retries": True},
            "max_retries must be a whole number of retries, 0 or more (e.g. RetryPolicy(max_retries=5)); got True",
        ),
        (
            {"max_retries": "3"},
            "max_retries must be a whole number of retries, 0 or more (e.g. RetryPolicy(max_retries=5)); got '3'",
        ),
        (
            {"max_retries": 2.0},
            "max_retries must be a whole number of retries, 0 or more (e.g. RetryPolicy(max_retries=5)); got 2.0",
        ),
        (
            {"initial_backoff": False},
            "initial_backoff must be a finite number (RetryPolicy(initial_backoff=...)); got False",
        ),
        ({"max_backoff": "1"}, "max_backoff must be a finite number (RetryPolicy(max_backoff=...)); got '1'"),
        ({"jitter": float("nan")}, "jitter must be a finite number (RetryPolicy(jitter=...)); got nan"),
        (
            {"max_retry_after": float("inf")},
            "max_retry_after must be a finite number (RetryPolicy(max_retry_after=...)); got inf",
        ),
        ({"multiplier": -1}, "multiplier must be >= 0 (seconds; jitter: a fraction); got -1"),
        ({"initial_backoff": -0.5}, "initial_backoff must be >= 0 (seconds; jitter: a fraction); got -0.5"),
        ({"multiplier": 0.5}, "multiplier must be >= 1 (the backoff's growth); got 0.5"),
        (
            {"retry_statuses": "429"},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got '429'",
        ),
        (
            {"retry_statuses": 429},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got 429",
        ),
        (
            {"retry_statuses": (429, True)},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got (429, True)",
        ),
        (
            {"retry_statuses": (399,)},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got (399,)",
        ),
        (
            {"retry_statuses": (600,)},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got (600,)",
        ),
        (
            {"retry_statuses": ("429",)},
            "retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); got ('429',)",
        ),
        ({"sleep": 5}, "sleep must be a function of the delay in seconds, such as asyncio.sleep; got 5"),
    ],
)
def test_each_refusal_names_its_option_word_for_word(options, message):
    with pytest.raises(voxnb.ParameterError) as caught:
        RetryPolicy(**options)
    assert str(caught.value) == message
    if "sleep" not in options:
        assert caught.value.option == next(iter(options))


def test_statuses_at_the_edges_and_in_any_collection_become_a_tuple():
    assert RetryPolicy(retry_statuses=[400, 599]).retry_statuses == (400, 599)
    assert RetryPolicy(retry_statuses={503}).retry_statuses == (503,)
    assert RetryPolicy(retry_statuses=frozenset()).retry_statuses == ()


def test_boundary_policies_are_allowed():
    policy = RetryPolicy(
        max_retries=0, initial_backoff=0, max_backoff=0, jitter=0, max_retry_after=0, multiplier=1
    )
    assert policy.backoff(3) == 0.0


def test_retried_statuses():
    policy = RetryPolicy()
    assert [
        s for s in (400, 401, 404, 408, 429, 500, 501, 502, 503, 504) if policy.should_retry_status(s)
    ] == [
        429,
        500,
        502,
        503,
        504,
    ]
    assert RetryPolicy(retry_statuses=(418,)).should_retry_status(418)
