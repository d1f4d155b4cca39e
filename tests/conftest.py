"""Shared pytest fixtures for voxnb's suite."""

from __future__ import annotations

import os

import pytest

# Tests never reach the internet and never use a real key unless a test opts in explicitly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def mistral_diarized() -> dict:
    """A Mistral transcription response with diarized segments, as the API sends it (spec §2)."""
    return {
        "model": "voxtral-mini-latest",
        "text": " This week, I traveled to Chicago. It was an opportunity to say thank you. Thank you!",
        "language": None,
        "segments": [
            {
                "text": " This week, I traveled to Chicago.",
                "start": 0.8,
                "end": 3.1,
                "speaker_id": "speaker_1",
                "type": "transcription_segment",
            },
            {
                "text": " It was an opportunity to say thank you.",
                "start": 3.4,
                "end": 6.0,
                "speaker_id": "speaker_1",
                "type": "transcription_segment",
            },
            {
                "text": " Thank you!",
                "start": 6.2,
                "end": 7.0,
                "speaker_id": "speaker_2",
                "type": "transcription_segment",
                "score": 0.9,
            },
        ],
        "usage": {
            "prompt_audio_seconds": 8,
            "prompt_tokens": 7,
            "total_tokens": 938,
            "completion_tokens": 931,
            "request_count": 1,
            "num_cached_tokens": 0,
        },
        "type": "transcription.done",
        "finish_reason": None,
    }


@pytest.fixture(scope="session")
def offline_engine():
    """The embedded faster-whisper engine (tiny.en), loaded once for the whole session."""
    from voxnb.local.engine import get_engine

    return get_engine()


# `voxnb serve` on a free 127.0.0.1 port, and the suite-wide API-key leak guard
# mutation runs: each module's mutants meet that module's own tests (tests/mutation_selection.py)
from mutation_selection import *  # noqa: E402, F403
from voxnb_serve_fixtures import *  # noqa: E402, F403
