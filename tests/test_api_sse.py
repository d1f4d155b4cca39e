"""voxnb.api.sse: SSE frames (the WHATWG event-stream rules) and the typed events made of them."""

from __future__ import annotations

import asyncio

import pytest

from voxnb.api.sse import (
    TranscriptionDone,
    TranscriptionLanguage,
    TranscriptionSegment,
    TranscriptionTextDelta,
    iter_sse,
    parse_event,
)
from voxnb.errors import ResponseFormatError


def frames(text: str) -> list[tuple[str | None, str]]:
    """The frames of *text* fed line by line, as httpx's ``aiter_lines`` gives them."""

    async def lines():
        for line in text.splitlines():
            yield line

    async def collect():
        return [frame async for frame in iter_sse(lines())]

    return asyncio.run(collect())


def test_frames_end_at_blank_lines_and_carry_their_event_name():
    text = "event: a\ndata: 1\n\ndata: 2\n\nevent: b\ndata: 3\n\n"
    assert frames(text) == [("a", "1"), (None, "2"), ("b", "3")]


def test_the_last_frame_counts_without_a_blank_line_after_it():
    assert frames("data: first\n\nevent: done\ndata: last") == [(None, "first"), ("done", "last")]


def test_data_lines_join_with_newlines_and_one_leading_space_is_dropped():
    # a bare "data" line is the field with an empty value: one more line, so a final newline
    assert frames("data:  two spaces\ndata:none\ndata\n\n") == [(None, " two spaces\nnone\n")]
    assert frames("data: a\ndata: b\n\n") == [(None, "a\nb")]


def test_comments_carriage_returns_unknown_fields_and_empty_frames():
    text = ": keep-alive\r\nid: 7\r\nretry: 10\r\n\r\nevent: x\r\n\r\nevent: y\r\ndata: {}\r\n\r\n"
    # a frame without data is no event; its event name does not leak into the next frame
    assert frames(text) == [("y", "{}")]
    assert frames("event: x\n\ndata: 1\n\n") == [(None, "1")]


def test_parse_mistral_events():
    assert parse_event(
        "transcription.language", '{"type": "transcription.language", "audio_language": "fr"}'
    ) == (TranscriptionLanguage("fr"))
    assert parse_event(None, '{"type": "transcription.language", "language": "de"}') == TranscriptionLanguage(
        "de"
    )
    assert parse_event(None, '{"type": "transcription.text.delta", "text": " Hi"}') == TranscriptionTextDelta(
        " Hi"
    )
    segment = parse_event(
        None, '{"type": "transcription.segment", "text": " Hi", "start": "1.5", "end": 2, "speaker_id": "s1"}'
    )
    assert segment == TranscriptionSegment(text=" Hi", start=1.5, end=2.0, speaker_id="s1")
    done = parse_event(None, '{"type": "transcription.done", "text": " Hi there", "segments": []}')
    assert (
        isinstance(done, TranscriptionDone) and done.text == " Hi there" and done.response["segments"] == []
    )
    assert TranscriptionDone({}).text == ""


def test_the_event_name_types_a_payload_without_a_type():
    assert parse_event("transcription.text.delta", '{"text": "x"}') == TranscriptionTextDelta("x")
    assert parse_event(
        "transcription.text.delta", '{"type": "transcription.language", "language": "en"}'
    ) == (
        TranscriptionLanguage("en")  # the payload's own type wins over the frame's name
    )


def test_parse_vllm_chunks_and_done():
    chunk = '{"object": "transcription.chunk", "choices": [{"delta": {"content": " word"}}]}'
    assert parse_event(None, chunk) == TranscriptionTextDelta(" word")
    assert parse_event(None, '{"object": "transcription.chunk", "choices": [{"delta": {}}]}') is None
    assert parse_event(None, '{"object": "transcription.chunk", "choices": []}') is None
    assert parse_event(None, " [DONE] ") is None


def test_unknown_and_non_object_frames_are_skipped():
    assert parse_event(None, '{"type": "transcription.future_feature"}') is None
    assert parse_event("ping", "[1, 2]") is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("not json", "not JSON"),
        ('{"type": "transcription.segment", "text": "x", "end": 1}', "numeric start and end"),
        ('{"type": "transcription.segment", "start": "soon", "end": 1}', "numeric start and end"),
        ('{"type": "transcription.segment", "start": null, "end": 1}', "numeric start and end"),
    ],
)
def test_malformed_frames_are_response_format_errors(data, match):
    with pytest.raises(ResponseFormatError, match=match):
        parse_event(None, data)


def frames_of_lines(lines: list[str]) -> list[tuple[str | None, str]]:
    """The frames of raw lines as a transport may give them (carriage returns kept)."""

    async def source():
        for line in lines:
            yield line

    async def collect():
        return [frame async for frame in iter_sse(source())]

    return asyncio.run(collect())


def test_carriage_returns_end_lines_but_other_whitespace_is_data():
    assert frames_of_lines(["data: x  \r", "\r", "data:\ty\r"]) == [(None, "x  "), (None, "\ty")]
    assert frames_of_lines(["data: a", "data: b"]) == [(None, "a\nb")]  # the last frame, several lines
    assert frames_of_lines(["data: MAX", ""]) == [(None, "MAX")]  # only carriage returns are stripped


def test_missing_fields_become_empty_text():
    assert parse_event(None, '{"type": "transcription.language"}') == TranscriptionLanguage("")
    assert parse_event(None, '{"type": "transcription.text.delta"}') == TranscriptionTextDelta("")
    segment = parse_event(None, '{"type": "transcription.segment", "start": 0, "end": 1}')
    assert segment == TranscriptionSegment(text="", start=0.0, end=1.0, speaker_id=None)


def test_malformed_frame_messages_quote_eighty_characters_and_say_what_to_do():
    junk = "x" * 100
    with pytest.raises(ResponseFormatError) as info:
        parse_event(None, junk)
    assert str(info.value) == (
        f"the server sent a stream frame that is not JSON ({'x' * 80!r}); is base_url a Voxtral transcription server?"
    )
    bad = '{"type": "transcription.segment", "start": "?", "end": 1, "text": "' + "y" * 80 + '"}'
    with pytest.raises(ResponseFormatError) as info:
        parse_event(None, bad)
    assert str(info.value) == (
        f"the server sent a transcription.segment without numeric start and end ({bad[:80]!r}); "
        "use transcribe() instead of streaming, or report it to the server's maintainers"
    )
