"""Decoding loops are found and undone, on the real reproduction from the bias lab's bundled set."""

from __future__ import annotations

import itertools

import pytest

import voxnb
from voxnb.audio import as_audio
from voxnb.local.loops import cut_loops, find_loop


@pytest.mark.parametrize(
    ("text", "loop"),
    [
        ("to Anneliese Anneliese Anneliese before lunch", (1, 4)),
        ("Sébastien, Lefèvre, Lefèvre, Lefèvre.", (1, 4)),  # punctuation does not hide a repeat
        ("no no no I said", None),  # people repeat short words
        ("ha ha ha ha ha", (0, 5)),  # but not that often
        ("we will we will rock you", None),
        ("you don't know you don't know you don't know", None),  # said in a real phone call
        (" ".join(["thank you so much"] * 5), (0, 20)),
        ("", None),
    ],
)
def test_find_loop(text, loop):
    found = find_loop(text.split())
    assert (found and (found.start, found.end)) == loop or (found is None and loop is None)


def test_word_times_tell_a_loop_from_a_repeated_phrase():
    words = ["Anneliese", "Anneliese", "Anneliese", "before", "lunch"]
    crammed = [(2.66, 3.06), (3.06, 3.24), (3.24, 3.34), (3.4, 3.6), (3.6, 3.9)]  # tiny.en's times
    assert find_loop(words, crammed) == find_loop(words)  # 27 letters in 0.68 s
    spoken = [(0.0, 0.6), (0.7, 1.3), (1.4, 2.0), (2.1, 2.4), (2.4, 2.8)]
    assert find_loop(words, spoken) is None  # someone calling her three times


def test_cut_loops_keeps_the_first_occurrence_and_the_items():
    words = [
        (w, i)
        for i, w in enumerate(["logs", "to", "Anneliese", "Anneliese", "Anneliese", "Anneliese", "before"])
    ]
    assert cut_loops(words, text=lambda w: w[0]) == [words[0], words[1], words[2], words[6]]


@pytest.fixture(scope="module")
def b08():
    """ "Please send the Kubernetes logs to Anneliese before lunch." with its oracle bias list;
    tiny.en wrote "Anneliese" 7 to 11 times with it."""
    item = next(i for i in voxnb.bias.load_bundled() if i.name == "b08")
    return as_audio(item.audio, sr=16000).y, list(item.rare_words)


@pytest.mark.parametrize("timestamps", [None, ["segment", "word"]])
def test_a_looping_decode_is_decoded_again(offline_engine, b08, timestamps):
    y, bias = b08
    before = offline_engine.repairs["redecoded"]
    response = offline_engine.transcribe(y, context_bias=bias, timestamps=timestamps)
    assert find_loop(response["text"].split()) is None, response["text"]
    assert response["text"].count("Anneliese") == 1
    assert response["text"].startswith("Please send the Kubernetes logs to Anneliese")
    assert offline_engine.repairs["redecoded"] > before
    if timestamps:
        words = [w for s in response["segments"] for w in s["words"]]
        assert [w["text"] for w in words][:7] == [
            "Please",
            "send",
            "the",
            "Kubernetes",
            "logs",
            "to",
            "Anneliese",
        ]
        assert all(a["end"] <= b["start"] + 1e-6 for a, b in itertools.pairwise(words))


def test_when_decoding_again_loops_too_the_repeats_are_cut(offline_engine, b08, monkeypatch):
    import voxnb.local.engine as engine_module

    monkeypatch.setattr(engine_module, "REDECODE", {})  # the second decode repeats the first
    y, bias = b08
    before = offline_engine.repairs["cut"]
    text = offline_engine.transcribe(y, context_bias=bias)["text"]
    assert offline_engine.repairs["cut"] == before + 1
    assert text.count("Anneliese") == 1 and find_loop(text.split()) is None


def test_streaming_does_not_loop_either(offline_engine, b08):
    y, bias = b08
    pcm = voxnb.Audio.from_array(y, 16000).to_pcm16()
    events = list(
        offline_engine.stream((pcm[i : i + 3200] for i in range(0, len(pcm), 3200)), context_bias=bias)
    )
    text = events[-1]["text"]
    assert find_loop(text.split()) is None, text
    assert text.count("Anneliese") <= 1 and text.startswith("Please send the Kubernetes")
