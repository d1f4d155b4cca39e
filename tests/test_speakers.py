"""Speakers by name: rename_speakers everywhere, known-speaker clips to the API, offline naming by voice.

The naming tests use real voices: the bundled two_voices dialogue (Ada: festival slt, Ben:
flite rms), named with clips of the same voices from *other* recordings (words_slt, and Ben's
turns in three_voices), embedded by the numpy speaker encoder.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from speaker_helpers import OracleDiarizer, ben_clip, references

import voxnb
from voxnb.backend import LocalTranscriber
from voxnb.errors import ParameterError
from voxnb.local.speaker_names import MIN_SIMILARITY, name_speakers
from voxnb.models import capabilities, openai_capabilities
from voxnb.plot import speaker_colors
from voxnb.request import SpeakerReference, TranscriptionRequest

VOXTRAL_3 = "voxtral-mini-transcribe-3"


@pytest.fixture
def diarized(mistral_diarized):
    return voxnb.Transcript.from_response(mistral_diarized, backend="mistral")


# -- rename_speakers ---------------------------------------------------------------------------


def test_renamed_speakers_reach_every_table_export_and_concat(diarized, tmp_path):
    named = diarized.rename_speakers({"speaker_1": "Ada", "speaker_2": "Ben"})
    assert diarized.segments["speaker"].tolist() == ["speaker_1", "speaker_1", "speaker_2"]  # unchanged
    assert named.segments["speaker"].tolist() == ["Ada", "Ada", "Ben"]
    assert set(named.words["speaker"]) == {"Ada", "Ben"}
    assert named.turns["speaker"].tolist() == ["Ada", "Ben"]
    assert named.speakers["speaker"].tolist() == ["Ada", "Ben"]
    assert list(named.segments["speaker"].cat.categories) == ["Ada", "Ben"]
    assert "<v Ada>" in named.to_vtt() and "[Ben]" in named.to_srt() and "speaker_" not in named.to_srt()
    assert [line.split()[7] for line in named.to_rttm().splitlines()] == ["Ada", "Ben"]
    assert {s["speaker"] for s in named.to_seglst()} == {"Ada", "Ben"}
    tiers = named.to_textgrid().tierNames
    assert any("Ada" in tier for tier in tiers) and not any("speaker_1" in tier for tier in tiers)
    both = voxnb.concat({"before": diarized, "after": named}, level="speakers")
    assert both.query("run == 'after'")["speaker"].tolist() == ["Ada", "Ben"]
    # saved and loaded: still named
    again = voxnb.load_transcript(named.save(tmp_path / "named.json"))
    assert (
        again.segments["speaker"].tolist() == ["Ada", "Ada", "Ben"]
        and again.speaker_names == named.speaker_names
    )
    assert json.loads((tmp_path / "named.json").read_text())["speaker_names"] == {
        "speaker_1": "Ada",
        "speaker_2": "Ben",
    }


def test_a_renamed_speaker_keeps_its_colour(diarized):
    # alphabetically Ada would come first; she was speaker_2, so she keeps speaker_2's colour
    named = diarized.rename_speakers({"speaker_1": "Zed", "speaker_2": "Ada"})
    before, after = speaker_colors(diarized), speaker_colors(named)
    assert after["Zed"] == before["speaker_1"] and after["Ada"] == before["speaker_2"]
    twice = named.rename_speakers({"Zed": "Zoe"})
    assert speaker_colors(twice)["Zoe"] == before["speaker_1"] and twice.speaker_names == {
        "speaker_1": "Zoe", "speaker_2": "Ada"
    }  # fmt: skip
    import matplotlib.pyplot as plt

    from voxnb.plot import lanes

    fig, ax = plt.subplots()
    lanes(named, ax=ax)
    drawn = {tuple(np.round(c, 3)) for coll in ax.collections for c in coll.get_facecolors()}
    plt.close(fig)
    from matplotlib.colors import to_rgba

    assert tuple(np.round(to_rgba(before["speaker_2"]), 3)) in drawn


def test_rename_refusals_say_what_to_do(diarized):
    with pytest.raises(ParameterError, match="its speakers are"):
        diarized.rename_speakers({"speaker_9": "Ada"})
    with pytest.raises(ParameterError, match="non-empty"):
        diarized.rename_speakers({"speaker_1": " "})
    with pytest.raises(ParameterError, match="merge=True"):
        diarized.rename_speakers({"speaker_1": "speaker_2"})
    merged = diarized.rename_speakers({"speaker_1": "Ada", "speaker_2": "Ada"}, merge=True)
    assert merged.speakers["speaker"].tolist() == ["Ada"] and merged.speakers["turns"].tolist() == [1]


def test_aligned_words_follow_the_rename(diarized):
    words = diarized.words.copy()
    words["timing"] = "aligned"
    aligned = diarized.with_words(words)
    named = aligned.rename_speakers({"speaker_2": "Ben"})
    assert set(named.words["speaker"].astype(str)) == {"speaker_1", "Ben"}
    assert (named.words["timing"] == "aligned").all()


# -- the request contract ----------------------------------------------------------------------


def test_speaker_references_are_checked_before_anything_is_sent(tmp_path):
    clip = voxnb.data.path("words_slt")
    with pytest.raises(ParameterError, match="needs diarize=True"):
        TranscriptionRequest.create(speaker_references={"Ada": clip})
    short = voxnb.data.audio("two_voices").slice(0.3, 2.3)
    with pytest.raises(ParameterError, match=r"lasts 2\.00 s; reference clips must last 3 to 15 seconds"):
        TranscriptionRequest.create(diarize=True, speaker_references={"Ada": short})
    with pytest.raises(ParameterError, match="At most 8 speaker references are supported, got 9"):
        TranscriptionRequest.create(diarize=True, speaker_references={f"s{k}": clip for k in range(9)})
    with pytest.raises(ParameterError, match="does not exist"):
        TranscriptionRequest.create(diarize=True, speaker_references={"Ada": tmp_path / "nope.wav"})
    with pytest.raises(ParameterError, match="names must be non-empty"):
        TranscriptionRequest.create(diarize=True, speaker_references={"": clip})
    request = TranscriptionRequest.create(diarize=True, speaker_references={"Ada": clip})
    with pytest.raises(ParameterError, match="cannot name speakers") as info:
        request.resolve(capabilities("voxtral-mini-latest"))
    assert info.value.option == "speaker_references" and info.value.unsupported
    with pytest.raises(ParameterError):
        request.resolve(openai_capabilities("mistralai/Voxtral-Mini-3B-2507"))
    record = request.resolve(capabilities(VOXTRAL_3)).record()
    assert record["speaker_references"] == {"Ada": request.speaker_references[0].sha256}
    assert len(json.dumps(record)) < 1000  # the hash, never the audio


def test_speaker_references_go_as_one_json_part_as_the_sdk_sends_them():
    from mistralai.client.models import AudioTranscriptionRequest
    from mistralai.client.utils.forms import serialize_multipart_form

    ref = SpeakerReference.from_clip("Ada", voxnb.data.path("words_slt"))
    request = TranscriptionRequest.create(diarize=True, speaker_references={"Ada": ref}).resolve(
        capabilities(VOXTRAL_3)
    )
    sdk = AudioTranscriptionRequest(model=VOXTRAL_3, file_id="f", diarize=True, timestamp_granularities=["segment"],
                                    speaker_references={"Ada": ref.base64})  # fmt: skip
    _, _, sdk_files = serialize_multipart_form("multipart/form-data", sdk)
    [sdk_part] = [f for f in sdk_files if f[0] == "speaker_references"]
    [ours] = request.json_parts()
    assert ours[0] == sdk_part[0] and ours[1][0] is None and ours[1][2] == "application/json"
    assert json.loads(ours[1][1]) == json.loads(sdk_part[1][1]) == {"Ada": ref.base64}
    assert request.json_body()["speaker_references"] == {"Ada": ref.base64}


# -- naming by voice ---------------------------------------------------------------------------


def _true_segments():
    return [
        {"start": t.start, "end": t.end, "speaker_id": "speaker_1" if t.speaker == "Ada" else "speaker_2"}
        for t in voxnb.data.turns("two_voices").itertuples()
    ]


def test_clusters_are_named_by_the_nearest_reference_voice():
    audio = voxnb.data.audio("two_voices")
    refs = [SpeakerReference.from_clip(name, clip) for name, clip in references().items()]
    found = name_speakers(audio.y, _true_segments(), refs)
    assert found.names == {"speaker_1": "Ada", "speaker_2": "Ben"}
    assert min(found.similarity.values()) > MIN_SIMILARITY
    assert (
        found.scores[("speaker_1", "Ben")] < MIN_SIMILARITY
        and found.scores[("speaker_2", "Ada")] < MIN_SIMILARITY
    )
    # a clip of a voice that is not in the recording names nobody
    stranger = SpeakerReference.from_clip("Kal", voxnb.data.path("words"))
    assert name_speakers(audio.y, _true_segments(), [stranger]).names == {}
    # one reference: the other speaker keeps its label
    assert name_speakers(audio.y, _true_segments(), refs[1:]).names == {"speaker_2": "Ben"}


def test_offline_transcripts_name_speakers_with_the_similarity_in_the_speakers_table():
    local = LocalTranscriber(OracleDiarizer())
    t = local.transcribe(voxnb.data.audio("two_voices"), diarize=True, speaker_references=references())
    table = t.speakers.set_index("speaker")
    assert list(table.index) == ["Ada", "Ben"] and (table["similarity"] > MIN_SIMILARITY).all()
    assert t.segments["speaker"].tolist() == ["Ada", "Ben", "Ada", "Ben", "Ada"]
    assert set(t.request["speaker_references"]) == {"Ada", "Ben"}
    assert (
        voxnb.Transcript.from_dict(t.to_dict()).speakers["similarity"].round(4).tolist()
        == table["similarity"].round(4).tolist()
    )


def test_voxnb_serve_names_speakers_sent_by_the_client(start_voxnb_server, tmp_path):
    server = start_voxnb_server(engine=OracleDiarizer())
    client = voxnb.Client(base_url=server.url)
    audio = voxnb.data.audio("two_voices")
    t = client.transcribe(audio, model=VOXTRAL_3, diarize=True, speaker_references=references())
    assert t.segments["speaker"].tolist() == ["Ada", "Ben", "Ada", "Ben", "Ada"]
    [recorded] = server.recorder.matching("/v1/audio/transcriptions")
    [part] = recorded.field_values("speaker_references")
    assert set(json.loads(part)) == {"Ada", "Ben"}  # one field: JSON of name -> base64 clip
    # through a batch job: the clips ride in the JSON body of the line
    result = client.transcribe_many({"dialogue": audio}, mode="batch", model=VOXTRAL_3, diarize=True,
                                    speaker_references=references(), cache=tmp_path, progress=False,
                                    poll_interval=0.05)  # fmt: skip
    assert result["dialogue"].segments["speaker"].tolist() == ["Ada", "Ben", "Ada", "Ben", "Ada"]


@pytest.mark.slow
def test_the_offline_engine_names_its_own_clusters(offline_engine):
    t = voxnb.transcribe(
        voxnb.data.audio("two_voices"), backend="local", diarize=True, num_speakers=2,
        speaker_references={"Ada": voxnb.data.path("words_slt"), "Ben": ben_clip()}, quiet=True,
    )  # fmt: skip
    assert set(t.speakers["speaker"]) == {"Ada", "Ben"}
    truth = voxnb.data.turns("two_voices")
    # most of each true turn's time is labelled with the right name
    for turn in truth.itertuples():
        inside = t.segments[(t.segments["start"] < turn.end) & (t.segments["end"] > turn.start)]
        assert turn.speaker in set(inside["speaker"].astype(str)), turn
