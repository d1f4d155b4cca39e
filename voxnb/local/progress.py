"""Progress over audio seconds for the offline engine's long jobs (transcribe, align, diarize).

Every long offline call takes ``progress=`` (default True): a ``tqdm.auto`` bar counting
seconds of audio done appears in notebooks and terminals when the audio is at least
:data:`MIN_SECONDS` long; ``progress=False`` turns it off.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MIN_SECONDS", "audio_bar"]

MIN_SECONDS = 60.0  # shorter audio finishes before a bar would tell anything


def audio_bar(seconds: float, *, progress: bool, desc: str, audio_seconds: float | None = None) -> Any:
    """A ``tqdm.auto`` bar over *seconds* of audio; disabled when *progress* is false or the audio short.

    *audio_seconds* is the whole recording's duration when the job covers only part of it
    (alignment covers the segments); it decides whether the job counts as long.
    Update the bar with seconds of audio done (``bar.update(2.5)``); it is a context manager.

    Examples
    --------
    >>> with audio_bar(600.0, progress=False, desc="transcribing") as bar:
    ...     bar.update(30.0)
    >>> bar.disable
    True
    """
    from tqdm.auto import tqdm

    return tqdm(
        total=float(seconds),
        desc=desc,
        unit="s",
        unit_scale=False,
        disable=not progress or (seconds if audio_seconds is None else audio_seconds) < MIN_SECONDS,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]",
    )
