"""Test hooks of ``voxnb serve``: injected faults and the request recorder."""

from __future__ import annotations

import collections
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["FaultPlan", "RecordedRequest", "RequestRecorder"]


# -- faults -----------------------------------------------------------------------------------


@dataclass
class FaultPlan:
    """Failures and latency to inject, parsed from ``--faults``.

    The spec is comma-separated ``key:value`` pairs: ``<status>:<probability>`` answers that
    share of requests with that HTTP status (Mistral-shaped error body, marked as injected);
    ``latency:<seconds>`` delays every answer; ``retry-after:<seconds>`` adds a ``Retry-After``
    header to injected 429/503 answers; ``cut:<probability>`` ends that share of SSE streams
    after their first event; ``seed:<int>`` makes the draws reproducible.

    Examples
    --------
    >>> FaultPlan.parse("429:0.2,500:0.1,latency:0.3")
    FaultPlan(statuses={429: 0.2, 500: 0.1}, latency=0.3, retry_after=None, cut=0.0, seed=None)
    """

    statuses: dict[int, float] = field(default_factory=dict)
    latency: float = 0.0
    retry_after: float | None = None
    cut: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        if spec is not None and not isinstance(spec, str):
            raise ParameterError(
                f"faults= is a spec string such as '429:0.2,latency:0.3'; got a {type(spec).__name__}"
            )
        plan: dict[str, Any] = {"statuses": {}}
        for item in (spec or "").split(","):
            if not item.strip():
                continue
            key, sep, value = item.strip().partition(":")
            try:
                if not sep:
                    raise ValueError
                if key.isdigit():
                    status, probability = int(key), float(value)
                    if not 400 <= status <= 599 or not 0 <= probability <= 1:
                        raise ValueError
                    plan["statuses"][status] = probability
                elif key in ("latency", "retry-after", "cut"):
                    number = float(value)
                    if number < 0 or (key == "cut" and number > 1):
                        raise ValueError
                    plan[key.replace("-", "_")] = number
                elif key == "seed":
                    plan["seed"] = int(value)
                else:
                    raise ValueError
            except ValueError:
                raise ParameterError(
                    f"cannot read fault {item.strip()!r}; write e.g. '429:0.2,500:0.1,latency:0.3' "
                    "(status:probability, latency:seconds, retry-after:seconds, cut:probability, seed:int)"
                ) from None
        if sum(plan["statuses"].values()) > 1:
            raise ParameterError("the fault probabilities add up to more than 1")
        return cls(**plan)

    def draw_status(self) -> int | None:
        with self._lock:
            r = self._rng.random()
        for status, probability in self.statuses.items():
            if r < probability:
                return status
            r -= probability
        return None

    def draw_cut(self) -> bool:
        with self._lock:
            return self.cut > 0 and self._rng.random() < self.cut


# -- recording --------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """What one request carried: its form parts in order (files summarised) and the answer."""

    method: str
    path: str
    headers: dict[str, str]
    fields: list[tuple[str, Any]] = field(default_factory=list)
    json: Any = None
    status: int | None = None
    fault: int | str | None = None

    def field_values(self, name: str) -> list[Any]:
        return [value for key, value in self.fields if key == name]

    @property
    def file_sha256(self) -> str | None:
        files = self.field_values("file")
        return files[0]["sha256"] if files and isinstance(files[0], dict) else None


class RequestRecorder:
    """The requests the app received, for tests (credentials redacted).

    Parameters
    ----------
    limit : int, optional
        Keep only the latest *limit* requests (a ring: a long-running server's memory stays
        flat); ``0`` records nothing; ``None`` (the default) keeps every request, which is what a
        test that counts requests asks for.
    """

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ParameterError(f"limit must be a whole number, 0 or more, or None; got {limit!r}")
        self.limit = limit
        self.requests: collections.deque[RecordedRequest] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, record: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(record)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def __len__(self) -> int:
        return len(self.requests)

    def matching(self, path: str | None = None, *, status: int | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.requests)
            if (path is None or r.path == path) and (status is None or r.status == status)
        ]


def redacted_headers(headers: Any) -> dict[str, str]:
    out = {}
    for key, value in headers.items():
        if key.lower() in ("authorization", "x-api-key", "proxy-authorization", "cookie"):
            value = "<redacted>"
        out[key.lower()] = value
    return out
