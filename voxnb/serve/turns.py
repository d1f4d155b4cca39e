"""Turn detection for ``voxnb serve``'s realtime endpoint, emulated by pauses.

Voxtral 3's realtime model reports turns from a semantic voice-activity model
(``turn.start``, ``turn.eager_end``, ``turn.resume``, ``turn.end``). ``voxnb serve`` has no
such model, so it finds turns by energy: each 20 ms frame gets a speech probability from its
level (-60 dBFS → 0, -30 dBFS → 1); a turn starts at a frame at or above ``start_threshold``;
inside a turn a frame below ``end_threshold`` is silence; ``eager_end`` comes after half of
``min_silence_ms`` of silence, ``resume`` when speech returns after it, ``end`` after
``min_silence_ms`` of silence (``end_reason: "threshold"``; a pause never reaches the
``"timeout"`` reason here). Times are the speech's own: a turn starts at its first speech frame
and ends at the end of its last one. Defaults are ``mistralai`` 3.7's ``TurnDetectionConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["DEFAULTS", "PauseTurns"]

#: ``TurnDetectionConfig`` defaults (``mistralai`` 3.7)
DEFAULTS = {"start_threshold": 0.5, "eager_end_threshold": 0.5, "end_threshold": 0.33, "min_silence_ms": 500}
FRAME = 320  # samples: 20 ms at 16 kHz
RATE = 16_000
FLOOR_DBFS, FULL_DBFS = -60.0, -30.0


def speech_probability(frames: np.ndarray) -> np.ndarray:
    """Per frame (rows of float samples), a speech probability from the level in dBFS."""
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    dbfs = 20 * np.log10(np.maximum(rms, 1e-10))
    return np.clip((dbfs - FLOOR_DBFS) / (FULL_DBFS - FLOOR_DBFS), 0.0, 1.0)


class PauseTurns:
    """Turn events from 16 kHz float samples fed as they arrive.

    Parameters
    ----------
    config : mapping, optional
        ``turn_detection`` as the session sent it (missing fields take the defaults).

    Examples
    --------
    >>> import numpy as np
    >>> tone = 0.3 * np.sin(np.arange(16000) / 5.0).astype("float32")
    >>> quiet = np.zeros(16000, "float32")
    >>> turns = PauseTurns({"min_silence_ms": 400})
    >>> [e["type"] for e in turns.feed(np.concatenate([quiet, tone, quiet]))]
    ['turn.start', 'turn.eager_end', 'turn.end']
    """

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.config = {**DEFAULTS, **{k: v for k, v in (config or {}).items() if v is not None}}
        self.min_silence = max(1, round(self.config["min_silence_ms"] / 1000 * RATE / FRAME))
        self.eager_after = max(1, self.min_silence // 2)
        self._rest = np.zeros(0, np.float32)
        self._frame = 0  # index of the next frame
        self._in_turn = False
        self._eager = False
        self._silent = 0  # consecutive silent frames inside the turn
        self._last_speech_end = 0.0

    def feed(self, samples: np.ndarray) -> list[dict[str, Any]]:
        """The events the new samples complete (times in seconds from the session's first audio)."""
        data = np.concatenate([self._rest, np.asarray(samples, np.float32).reshape(-1)])
        n = len(data) // FRAME
        self._rest = data[n * FRAME :]
        if not n:
            return []
        events: list[dict[str, Any]] = []
        for p in speech_probability(data[: n * FRAME].reshape(n, FRAME)).tolist():
            start, end = self._frame * FRAME / RATE, (self._frame + 1) * FRAME / RATE
            self._frame += 1
            if not self._in_turn:
                if p >= self.config["start_threshold"]:
                    self._in_turn, self._eager, self._silent = True, False, 0
                    self._last_speech_end = end
                    events.append({"type": "turn.start", "time_s": round(start, 3)})
                continue
            if p >= self.config["end_threshold"]:
                if self._eager:
                    events.append({"type": "turn.resume", "time_s": round(start, 3)})
                self._eager, self._silent = False, 0
                self._last_speech_end = end
                continue
            self._silent += 1
            if self._silent == self.eager_after and not self._eager:
                self._eager = True
                events.append({"type": "turn.eager_end", "time_s": round(self._last_speech_end, 3)})
            if self._silent >= self.min_silence:
                self._in_turn = False
                events.append(self._end())
        return events

    def end(self) -> list[dict[str, Any]]:
        """At the end of the audio, the open turn ends."""
        if not self._in_turn:
            return []
        self._in_turn = False
        return [self._end()]

    def _end(self) -> dict[str, Any]:
        return {"type": "turn.end", "time_s": round(self._last_speech_end, 3), "end_reason": "threshold"}
