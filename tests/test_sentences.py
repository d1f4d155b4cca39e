"""Segments end at sentence ends only: abbreviations, initials, numbers and ellipses do not cut them."""

from __future__ import annotations

from pathlib import Path

import pytest
from faster_whisper.transcribe import Word

import voxnb
from voxnb.local.engine import MIN_SEGMENT, sentence_groups, sentences
from voxnb.local.stream import LocalAgreement
from voxnb.sentence import ends_sentence

DATA = Path(__file__).parent / "data"
# flite kal16 and espeak-ng reading one text full of abbreviations; tiny.en used to cut it into
# five segments of 0.02-0.34 s around "Dr. N. G. O. Z. I." and more around "Mr.", "Mrs.", "e.g."
FIXTURES = ("abbreviations_kal.ogg", "abbreviations_espeak.ogg")


@pytest.mark.parametrize(
    ("word", "following", "pause", "ends"),
    [
        (" today.", " She", 0.2, True),
        (" today.", None, 0.0, True),
        (" Really?", " Yes", 0.1, True),
        (" Dr.", " Okafor", 0.0, False),
        (" Mrs.", " Smith", 0.4, False),
        (" St.", " Paul's", 0.0, False),
        (" e.g.", " Faster", 0.0, False),
        (" i.e.", " better", 0.0, False),
        (" etc.", " and", 0.0, False),
        (" etc.", " She", 0.3, True),
        (" N.", " G.", 0.5, False),  # initials in a row
        (" K.", " Rowling", 0.05, False),  # an initial before a name, no pause
        (" I.", " She", 0.5, True),  # the last initial, then a pause and a new sentence
        (" 3.", "5", 0.0, False),
        (" well...", " That", 0.2, False),
        (" well…", " That", 0.2, False),
        (" said.", " and", 0.2, False),  # Whisper capitalises a sentence's first word
        (' said."', " Then", 0.2, True),
    ],
)
def test_which_full_stops_end_a_sentence(word, following, pause, ends):
    assert ends_sentence(word, following, pause) is ends


def words(*items) -> list[Word]:
    return [Word(start=a, end=b, word=w, probability=0.9) for w, a, b in items]


def test_initials_stay_in_their_sentence_and_short_pieces_join_a_neighbour():
    # the times tiny.en gave for the flite clip
    decoded = words(
        (" Our", 0.23, 0.5), (" guest", 0.5, 0.8), (" today", 0.8, 1.2), (" is", 1.2, 1.4),
        (" Dr.", 1.5, 1.96), (" N.", 2.24, 2.24), (" G.", 2.36, 2.38), (" O.", 2.54, 2.56),
        (" Z.", 2.64, 2.96), (" I.", 3.16, 3.34), (" She", 3.8, 4.0), (" left.", 4.0, 4.4),
        (" Ok.", 4.5, 4.6),  # too short alone, close to the sentence before: joins it
        (" Yes.", 7.0, 7.2),  # alone between long pauses: a whole utterance, kept
        (" Then", 9.0, 9.3), (" we", 9.3, 9.5), (" went.", 9.5, 9.9),
    )  # fmt: skip
    segments = sentences(decoded)
    assert [s["text"] for s in segments] == [
        "Our guest today is Dr. N. G. O. Z. I.",
        "She left. Ok.",
        "Yes.",
        "Then we went.",
    ]
    assert [len(g) for g in sentence_groups(decoded)] == [10, 3, 1, 3]
    assert sum(s["end"] - s["start"] < MIN_SEGMENT for s in segments) == 1  # only "Yes."


@pytest.mark.parametrize("name", FIXTURES)
def test_real_decodes_keep_abbreviations_inside_segments(offline_engine, name):
    y = voxnb.Audio.load(DATA / name).y
    response = offline_engine.transcribe(y, timestamps=["segment", "word"])
    segments = response["segments"]
    assert 2 <= len(segments) <= 5, [s["text"] for s in segments]
    assert all(s["end"] - s["start"] >= MIN_SEGMENT - 0.002 for s in segments), segments
    for segment in segments:
        last = segment["text"].split()[-1]
        assert last not in {"Dr.", "Mr.", "Mrs.", "St.", "N.", "G.", "O.", "e.g.", "i.e."}, segment["text"]
    assert any("Dr. N." in s["text"] for s in segments)
    assert " ".join(s["text"] for s in segments) == response["text"]


def test_streaming_closes_the_same_sentences(offline_engine):
    pcm = voxnb.Audio.load(DATA / FIXTURES[0]).to_pcm16()
    state = LocalAgreement(offline_engine, hop=1.0)
    events = []
    for i in range(0, len(pcm), 3200):
        state.feed(pcm[i : i + 3200])
        if state.due:
            events += state.update()
    events += state.finish()
    closed = [e for e in events if e["type"] == "transcription.segment"]
    done = events[-1]
    assert [e["text"] for e in closed] == [s["text"] for s in done["segments"]]
    assert all(e["end"] - e["start"] >= MIN_SEGMENT - 0.002 for e in closed)  # times are rounded to ms
    assert not any(e["text"].endswith(("Dr.", "N.", "G.")) for e in closed), [e["text"] for e in closed]
