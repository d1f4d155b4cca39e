"""Retry policy: Retry-After parsing and backoff; and the doctests of the HTTP side."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    "module",
    [
        "voxnb.request",
        "voxnb.models",
        "voxnb.credentials",
        "voxnb.api.retry",
        "voxnb.api.client",
        "voxnb.runs",
        "voxnb.cache",
        "voxnb.api.errors",
        "voxnb.api.sse",
        "voxnb.api.source",
        "voxnb.backend",
        "voxnb.serve.app",
        "voxnb.local.fake",
    ],
)
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
