"""When to retry a request and how long to wait (``spec/mistral-api.md`` §7).

429 and 5xx answers, connection failures and timeouts are retried with exponential backoff
plus jitter; a ``Retry-After`` header (seconds or an HTTP date) replaces the backoff. Other
4xx answers are never retried: sending the same request again cannot fix them.
"""

from __future__ import annotations

import asyncio
import inspect
import math
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
    sleep : callable
        How the client waits the computed delay between attempts (and between the polls of a
        batch job): a coroutine function
        (``asyncio.sleep``, the default) or a plain function (awaited only if it returns an
        awaitable); tests pass one that records the delays, to check the schedule without
        waiting it out.

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
    sleep: Callable[[float], Awaitable[object] | object] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ParameterError(
                f"max_retries must be a whole number of retries, 0 or more (e.g. RetryPolicy(max_retries=5)); "
                f"got {self.max_retries!r}",
                option="max_retries",
            )
        for name in ("initial_backoff", "max_backoff", "jitter", "max_retry_after", "multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ParameterError(
                    f"{name} must be a finite number (RetryPolicy({name}=...)); got {value!r}", option=name
                )
            if value < 0:
                raise ParameterError(
                    f"{name} must be >= 0 (seconds; jitter: a fraction); got {value!r}",
                    option=name,
                )
        if self.multiplier < 1:
            raise ParameterError(
                f"multiplier must be >= 1 (the backoff's growth); got {self.multiplier!r}",
                option="multiplier",
            )
        statuses = self.retry_statuses
        if (
            isinstance(statuses, (str, bytes))
            or not isinstance(statuses, (tuple, list, set, frozenset))
            or not all(isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in statuses)
        ):
            raise ParameterError(
                f"retry_statuses must be a tuple of HTTP error statuses (400-599), e.g. (429, 503); "
                f"got {statuses!r}",
                option="retry_statuses",
            )
        object.__setattr__(self, "retry_statuses", tuple(statuses))
        if not callable(self.sleep):
            raise ParameterError(
                f"sleep must be a function of the delay in seconds, such as asyncio.sleep; got {self.sleep!r}"
            )

    async def wait(self, delay: float) -> None:
        """Wait *delay* seconds through :attr:`sleep`, awaited when it returns an awaitable."""
        waited = self.sleep(delay)
        if inspect.isawaitable(waited):
            await waited

    def should_retry_status(self, status: int) -> bool:
        return status in self.retry_statuses

    def backoff(self, retry_number: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number *retry_number* (0 for the first retry)."""
        if retry_after is not None:
            return retry_after
        try:
            base = min(self.max_backoff, self.initial_backoff * self.multiplier**retry_number)
        except OverflowError:  # many retries with a large multiplier: the cap applies
            base = self.max_backoff
        return base + random.uniform(0.0, self.jitter * self.initial_backoff)
