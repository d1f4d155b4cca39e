"""Offline speaker labels: the numpy speaker encoder, clustering, DER on two and three TTS voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation, Segment
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
