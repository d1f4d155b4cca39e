"""When to retry a request and how long to wait (``spec/mistral-api.md`` §7).

429 and 5xx answers, connection failures and timeouts are retried with exponential backoff
plus jitter; a ``Retry-After`` header (seconds or an HTTP date) replaces the backoff. Other
4xx answers are never retried: sending the same request again cannot fix them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from voxnb.errors import ParameterError

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None when absent or unreadable.

    Examples
    --------
    >>> parse_retry_after("2")
    2.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries failed requests.

    Parameters
    ----------
    max_retries : int
        Retries after the first attempt (0 disables retrying).
    initial_backoff : float
        Seconds before the first retry; doubled (``multiplier``) for each later one.
    max_backoff : float
        Upper bound of one computed backoff.
    multiplier : float
        Growth factor of the backoff.
    jitter : float
        A uniformly random extra wait in ``[0, jitter * initial_backoff]`` so that many clients
        do not retry in lockstep.
    max_retry_after : float
        The longest ``Retry-After`` voxnb waits; a server asking for more ends the retries.
    retry_statuses : tuple of int
        HTTP statuses that are retried.
    sleep : coroutine function
        How the client waits the computed delay between attempts (``asyncio.sleep``); tests pass
        one that records the delays, to check the schedule without waiting it out.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.api.retry import RetryPolicy
    >>> client = voxnb.Client(base_url="http://127.0.0.1:8000", retry=RetryPolicy(max_retries=2))
    """

    max_retries: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 1.0
    max_retry_after: float = 120.0
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504)
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ParameterError(f"max_retries must be >= 0; got {self.max_retries}")
        for name in ("initial_backoff", "max_backoff", "jitter", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ParameterError(
                    f"{name} must be >= 0 (seconds; jitter: a fraction); got {getattr(self, name)}"
                )
        if self.multiplier < 1:
            raise ParameterError(f"multiplier must be >= 1; got {self.multiplier}")

    def should_retry_status(self, status: int) -> bool:
        return status in self.retry_statuses

    def backoff(self, retry_number: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number *retry_number* (0 for the first retry)."""
        if retry_after is not None:
            return retry_after
        base = min(self.max_backoff, self.initial_backoff * self.multiplier**retry_number)
        return base + random.uniform(0.0, self.jitter * self.initial_backoff)
