"""Offline speaker labels: encoders, clustering, DER and counts on TTS voices and real recordings."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import real_speech as rs
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

import voxnb
from voxnb.local import diarize as dz
from voxnb.local.voice_encoder import WEIGHTS, VoiceEncoder


def reference_annotation(name: str) -> Annotation:
    ref = Annotation()
    for turn in voxnb.data.reference(name)["turns"]:
        ref[Segment(turn["start"], turn["end"])] = turn["speaker"]
    return ref


def der(name: str, turns: list[dz.Turn]) -> float:
    hyp = Annotation()
    for turn in turns:
        hyp[Segment(turn.start, turn.end)] = turn.speaker
    ref = reference_annotation(name)
    return DiarizationErrorRate()(ref, hyp, uem=ref.get_timeline().extent())


def test_weights_ship_with_their_licence():
    assert WEIGHTS.exists() and WEIGHTS.stat().st_size < 4_000_000
    here = Path(WEIGHTS).parent
    assert "Apache License" in (here / "speaker_encoder_LICENSE.txt").read_text()
    assert "Resemblyzer" in (here / "speaker_encoder_NOTICE.txt").read_text()


def test_campplus_ships_with_its_licence_and_matches_kaldi_filterbanks():
    from voxnb.local import campplus

    assert campplus.WEIGHTS.exists() and campplus.WEIGHTS.stat().st_size < 16_000_000
    assert "Apache License" in (campplus.WEIGHTS.parent / "campplus_LICENSE.txt").read_text()
    assert "3D-Speaker" in (campplus.WEIGHTS.parent / "campplus_NOTICE.txt").read_text()
    # a pure tone puts its energy in the mel band that holds its frequency, as Kaldi's fbank does
    t = np.arange(16000) / 16000
    bands = campplus.fbank(np.sin(2 * np.pi * 1000 * t).astype(np.float32)).mean(axis=0)
    centre = 1127 * np.log(1 + 1000 / 700)
    edges = np.linspace(1127 * np.log(1 + 20 / 700), 1127 * np.log(1 + 8000 / 700), 82)
    assert abs(int(bands.argmax()) - int(np.abs(edges[1:-1] - centre).argmin())) <= 1


def test_segmentation_model_ships_with_its_licence():
    from voxnb.local import segmentation

    assert segmentation.WEIGHTS.exists() and segmentation.WEIGHTS.stat().st_size < 7_000_000
    licence = (segmentation.WEIGHTS.parent / "segmentation_LICENSE.txt").read_text()
    assert "MIT License" in licence and "CNRS" in licence
    assert "segmentation-3.0" in (segmentation.WEIGHTS.parent / "segmentation_NOTICE.txt").read_text()


def test_unreadable_segmentation_weights_are_a_clear_error(tmp_path):
    from voxnb.local.segmentation import Segmentation

    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(voxnb.ParameterError, match=r"convert_segmentation\.py"):
        Segmentation(tmp_path / "bad.onnx")


def two_real_voices_overlapping() -> tuple[np.ndarray, float, float]:
    """A LibriVox reader alone, then JFK joining her for her last 5 s, then JFK alone (both real)."""
    reader = np.concatenate(rs.utterances("austen_reader")[:3])
    jfk = rs.utterances("jfk")[0]
    reader, jfk = (x * 0.05 / np.sqrt(np.mean(x**2)) for x in (reader, jfk))
    y = np.zeros(len(reader) + len(jfk), np.float32)
    start = len(reader) - 5 * rs.SR
    y[: len(reader)] += reader
    y[start : start + len(jfk)] += jfk
    return y, start / rs.SR, len(reader) / rs.SR


def test_overlap_probability_is_high_where_two_real_voices_talk_at_once():
    from voxnb.local.segmentation import overlap_probability

    y, start, end = two_real_voices_overlapping()
    p = overlap_probability(y)
    t = np.arange(len(p)) / 100
    assert len(p) == len(y) // 160
    assert np.mean(p[(t > start) & (t < end)] > 0.5) > 0.3  # measured 0.53 (pauses inside count too)
    assert np.mean(p[(t < start - 0.5) | (t > end + 0.5)] > 0.5) < 0.02  # measured 0


def test_overlapped_speech_goes_to_both_speakers():
    y, start, end = two_real_voices_overlapping()
    turns = dz.diarize(y, progress=False)
    assert len({t.speaker for t in turns}) == 2
    first, second = (
        Timeline([Segment(t.start, t.end) for t in turns if t.speaker == s]).support()
        for s in ("speaker_1", "speaker_2")
    )
    both = first.crop(second).crop(Segment(start, end)).duration()
    assert both > 1.5  # measured 2.6 s of the 5 s
    alone = dz.diarize(y, progress=False, overlap=False)
    ends = sorted((t.start, t.end) for t in alone)
    assert all(b[0] >= a[1] for a, b in pairwise(ends))  # without it, turns never overlap


def test_turns_bridge_short_silences_only():
    active = np.zeros((300, 2), bool)
    active[0:100, 0] = active[120:200, 0] = True  # a 0.2 s pause: bridged
    active[200:220, 1] = True
    active[220:300, 0] = True  # a 0.2 s gap in which speaker 2 talks: not bridged
    assert dz._turns(active) == [
        dz.Turn(0.0, 2.0, "speaker_1"),
        dz.Turn(2.0, 2.2, "speaker_2"),
        dz.Turn(2.2, 3.0, "speaker_1"),
    ]


def test_unreadable_campplus_weights_are_a_clear_error(tmp_path):
    from voxnb.local.campplus import CamPlusEncoder

    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(voxnb.ParameterError, match=r"convert_campplus\.py"):
        CamPlusEncoder(tmp_path / "bad.onnx")


def test_unreadable_weights_are_a_clear_error(tmp_path):
    from voxnb.errors import ParameterError

    with pytest.raises(ParameterError, match=r"convert_speaker_encoder\.py"):
        VoiceEncoder(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ParameterError, match=r"KeyError.*bundled weights"):
        VoiceEncoder(tmp_path / "other.npz")


def test_embeddings_tell_voices_apart():
    audio = voxnb.data.audio("two_voices")
    turns = voxnb.data.reference("two_voices")["turns"]
    encoder = VoiceEncoder()
    emb = np.stack([encoder.embed(audio.slice(t["start"], t["end"]).y) for t in turns])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    speakers = np.array([t["speaker"] for t in turns])
    sim = emb @ emb.T
    same = sim[(speakers[:, None] == speakers[None]) & ~np.eye(len(turns), dtype=bool)]
    other = sim[speakers[:, None] != speakers[None]]
    assert same.min() > other.max()


@pytest.mark.parametrize(("name", "n"), [("two_voices", 2), ("three_voices", 3)])
def test_der_with_and_without_the_speaker_count(name, n):
    samples = voxnb.data.audio(name).y
    estimated = dz.diarize(samples)
    assert len({t.speaker for t in estimated}) == n
    assert der(name, estimated) <= 0.15
    assert der(name, dz.diarize(samples, num_speakers=n)) <= 0.15


def test_cluster_numbers_speakers_in_order_of_appearance():
    a, b = np.eye(4)[0], np.eye(4)[1]
    emb = np.stack([b, b, a, b, a]) + 0.01
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert dz.cluster(emb, num_speakers=2).tolist() == [0, 0, 1, 0, 1]
    assert dz.cluster(emb).tolist() == [0, 0, 1, 0, 1]
    assert dz.cluster(emb, num_speakers=1).tolist() == [0] * 5


def test_label_segments_splits_where_the_speaker_changes():
    words = [{"text": f" w{i}", "start": i * 0.5, "end": i * 0.5 + 0.4, "score": 1.0} for i in range(6)]
    segment = {"text": "w0 w1 w2 w3 w4 w5", "start": 0.0, "end": 2.9, "words": words}
    turns = [dz.Turn(0.0, 1.45, "speaker_1"), dz.Turn(1.5, 3.0, "speaker_2")]
    out = dz.label_segments([segment], turns)
    assert [(s["speaker_id"], s["text"], s["start"], s["end"]) for s in out] == [
        ("speaker_1", "w0 w1 w2", 0.0, 1.4),
        ("speaker_2", "w3 w4 w5", 1.5, 2.9),
    ]
    # a single word heard in the other voice is not trusted on its own
    lone = [
        dz.Turn(0.0, 0.95, "speaker_1"),
        dz.Turn(0.95, 1.45, "speaker_2"),
        dz.Turn(1.45, 3.0, "speaker_1"),
    ]
    assert [s["speaker_id"] for s in dz.label_segments([segment], lone)] == ["speaker_1"]


def test_segments_without_words_take_the_speaker_they_overlap_most():
    turns = [dz.Turn(0.0, 1.0, "speaker_1"), dz.Turn(1.2, 4.0, "speaker_2")]
    out = dz.label_segments(
        [{"text": "x", "start": 0.8, "end": 3.0}, {"text": "y", "start": 9.0, "end": 9.5}], turns
    )
    assert [s["speaker_id"] for s in out] == ["speaker_2", "speaker_2"]
    assert dz.label_segments([{"text": "x", "start": 0.0, "end": 1.0}], []) == [
        {"text": "x", "start": 0.0, "end": 1.0, "speaker_id": None}
    ]


def test_num_speakers_must_be_positive():
    with pytest.raises(voxnb.ParameterError, match="at least 1"):
        dz.diarize(np.zeros(16000, np.float32), num_speakers=0)


def test_silence_has_no_speakers():
    assert dz.diarize(np.zeros(16000, np.float32)) == []


def test_one_voice_is_one_speaker():
    audio = voxnb.data.audio("dialogue")
    pause = np.zeros(int(0.4 * audio.sr), np.float32)
    ada = [t for t in voxnb.data.reference("dialogue")["turns"] if t["speaker"] == "Ada"]
    samples = np.concatenate([piece for t in ada for piece in (audio.slice(t["start"], t["end"]).y, pause)])
    assert {t.speaker for t in dz.diarize(samples)} == {"speaker_1"}


def test_short_chunks_follow_the_clusters_they_resemble():
    a, b = np.eye(4)[0], np.eye(4)[1]
    emb = np.stack([a, a, b, b, 0.9 * b + 0.1 * a]) + 0.01
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = dz.cluster(emb, durations=np.array([2.0, 2.0, 2.0, 2.0, 0.3]))
    assert labels.tolist() == [0, 0, 1, 1, 1]


# --- real voices (tests/real_speech.py; provenance and licences in tests/data/real/NOTICE.txt) ---


@pytest.mark.parametrize(
    "speakers",
    [
        ["austen_reader", "jfk"],
        ["austen_reader", "jfk", "cards_speaker"],
        ["cards_speaker", "jfk", "austen_reader"],
    ],
)
def test_real_voices_joined_into_a_dialogue(speakers):
    # phrases of different real speakers in turn: no labelled real 3-speaker recording exists in the registries
    y, ref = rs.join_speakers(speakers, seed=len(speakers))
    turns = dz.diarize(y, progress=False)
    assert len({t.speaker for t in turns}) == len(speakers)
    assert rs.der(ref, turns) <= 0.12  # measured 0.04-0.05


@pytest.mark.parametrize("speaker", ["austen_reader", "jfk", "cards_speaker"])
def test_one_real_voice_is_one_speaker(speaker):
    y, ref = rs.one_speaker(speaker)
    turns = dz.diarize(y, progress=False)
    assert {t.speaker for t in turns} == {"speaker_1"}
    assert rs.der(ref, turns) <= 0.06


def test_real_telephone_call_has_two_speakers():
    # know.sph: a real two-speaker call with quick turns and overlaps (Debian's transcriber examples)
    y, ref = rs.know()
    turns = dz.diarize(y, progress=False)
    assert len({t.speaker for t in turns}) == 2
    # measured 0.215 against each speaker's own channel (0.31 before overlap detection and the 0.5 s
    # hop): short of the 0.20 aimed at, see README and benchmarks/diarize.py
    assert rs.der(ref, turns) <= 0.28


def test_progress_bar_over_audio_seconds_only_when_asked(capsys):
    y, _ = rs.join_speakers(["austen_reader", "jfk", "cards_speaker"])
    long = np.concatenate([y, y])  # over a minute: long enough for a bar
    dz.diarize(long, progress=False)
    assert "speakers" not in capsys.readouterr().err
    dz.diarize(long, progress=True)
    assert "speakers" in capsys.readouterr().err


def test_unknown_encoder_is_a_clear_error():
    with pytest.raises(voxnb.ParameterError, match="campplus, resemblyzer"):
        dz.diarize(np.zeros(16000, np.float32), encoder="xvector")
