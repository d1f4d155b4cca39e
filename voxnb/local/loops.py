"""Decoding loops: Whisper writing the same word or phrase over and over, and how to undo it.

Whisper's decoder sometimes falls into a loop: a bias list given as ``hotwords`` made tiny.en
write "Anneliese" eleven times where the speaker said it once. A run of the same word or
n-gram repeated more often than speech repeats it is found by :func:`find_loop`; the engine
then decodes that stretch of audio again with a repetition penalty and, if it still loops,
keeps the first occurrence and cuts the repeats (:func:`cut_loops`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Loop", "cut_loops", "find_loop"]

MAX_N = 6  # longest repeated phrase looked for, in words
LONG_UNIT = 5  # letters: a unit this long repeated 3 times is a loop ("Anneliese Anneliese Anneliese")
SHORT_REPEATS = 5  # a shorter unit ("no", "ha", "very") must repeat this often


@dataclass(frozen=True)
class Loop:
    """Words ``[start, end)`` repeat the ``n``-word unit at ``start`` ``count`` times in a row."""

    start: int
    end: int
    n: int
    count: int


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def find_loop(words: list[str]) -> Loop | None:
    """The first loop in *words*, or None.

    A loop is a unit of 1 to 6 words repeated in a row at least 3 times when the unit has 5
    letters or more, at least 5 times otherwise: people say "no, no, no" but not
    "Anneliese Anneliese Anneliese".

    Examples
    --------
    >>> find_loop("send the logs to Anneliese Anneliese Anneliese Anneliese".split())
    Loop(start=4, end=8, n=1, count=4)
    >>> find_loop("no no no I said".split()) is None
    True
    >>> find_loop("thank you for joining us thank you for joining us thank you for joining us".split())
    Loop(start=0, end=15, n=5, count=3)
    """
    keys = [_key(w) for w in words]
    for start in range(len(keys)):
        for n in range(1, MAX_N + 1):
            unit = keys[start : start + n]
            if len(unit) < n or not all(unit):
                break
            count = 1
            while keys[start + count * n : start + (count + 1) * n] == unit:
                count += 1
            letters = sum(map(len, unit))
            if count >= (3 if letters >= LONG_UNIT else SHORT_REPEATS):
                return Loop(start, start + count * n, n, count)
    return None


def cut_loops(items: list, text=lambda item: item) -> list:
    """*items* with every loop cut down to its first occurrence (*text* gives an item's word).

    Examples
    --------
    >>> " ".join(cut_loops("to Anneliese Anneliese Anneliese Anneliese before lunch".split()))
    'to Anneliese before lunch'
    """
    items = list(items)
    while (loop := find_loop([text(item) for item in items])) is not None:
        del items[loop.start + loop.n : loop.end]
    return items
