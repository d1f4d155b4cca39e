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
LONG_UNIT = 5  # letters: one word this long said 3 times in a row is a loop ("Anneliese Anneliese Anneliese")
MANY = 5  # any unit repeated this often (without word times: the only evidence)
ALWAYS = 8  # ... and with word times, this often whatever the pace
MAX_RATE = 25.0  # letters per second: faster than anyone speaks (fast speech is 15-20)


@dataclass(frozen=True)
class Loop:
    """Words ``[start, end)`` repeat the ``n``-word unit at ``start`` ``count`` times in a row."""

    start: int
    end: int
    n: int
    count: int


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def find_loop(words: list[str], times: list[tuple[float, float]] | None = None) -> Loop | None:
    """The first loop in *words* (with their ``(start, end)`` *times* when known), or None.

    A unit of 1 to 6 words repeated at least 3 times in a row is a loop when the audio could
    not hold it: with word times, when the run goes faster than 25 letters a second (or
    repeats 8 times); without, when one word of 5 letters or more repeats 3 times or any unit
    5 times. People do say "no, no, no" and "you don't know, you don't know, you don't know",
    at a speaking pace; a decoder's loop crams "Anneliese" into a tenth of a second.

    Examples
    --------
    >>> find_loop("send the logs to Anneliese Anneliese Anneliese Anneliese".split())
    Loop(start=4, end=8, n=1, count=4)
    >>> find_loop("no no no I said".split()) is None
    True
    >>> said = "you don't know you don't know you don't know".split()
    >>> find_loop(said, [(0.2 * i, 0.2 * i + 0.18) for i in range(9)]) is None   # 18 letters/s
    True
    >>> find_loop(said, [(0.05 * i, 0.05 * i + 0.04) for i in range(9)])        # 74 letters/s
    Loop(start=0, end=9, n=3, count=3)
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
            if count < 3:
                continue
            end = start + count * n
            letters = sum(map(len, unit))
            if times is None:
                looping = count >= MANY or (n == 1 and letters >= LONG_UNIT)
            else:
                seconds = max(times[end - 1][1] - times[start][0], 1e-3)
                looping = count >= ALWAYS or letters * count / seconds > MAX_RATE
            if looping:
                return Loop(start, end, n, count)
    return None


def cut_loops(items: list, text=lambda item: item, times=None) -> list:
    """*items* with every loop cut down to its first occurrence.

    *text* gives an item's word and *times*, if given, its ``(start, end)``.

    Examples
    --------
    >>> " ".join(cut_loops("to Anneliese Anneliese Anneliese Anneliese before lunch".split()))
    'to Anneliese before lunch'
    """
    items = list(items)
    while loop := find_loop([text(i) for i in items], None if times is None else [times(i) for i in items]):
        del items[loop.start + loop.n : loop.end]
    return items
