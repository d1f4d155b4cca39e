"""Corpus tables (pandas and dask.dataframe), Parquet partitioned by recording, and folders behind
fsspec URLs (the transcription cache included)."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

import voxnb
from voxnb.cache import TranscriptCache, cache_key
from voxnb.corpus import KINDS, read_parquet, tables
from voxnb.errors import ParameterError
from voxnb.storage import Location


def _diarized(sample: str) -> voxnb.Transcript:
    """A transcript of a bundled sample from its reference turns (speakers, segment times)."""
    ref = voxnb.data.reference(sample)
    segments = [
        {"text": t["text"], "start": t["start"], "end": t["end"], "speaker_id": t["speaker"]}
        for t in ref["turns"]
    ]
    return voxnb.Transcript.from_response({"text": ref["text"], "segments": segments, "language": "en"})


@pytest.fixture(scope="module")
def transcripts() -> dict[str, voxnb.Transcript]:
    words = _diarized("words")
    aligned = words.with_words(words.words.assign(start=words.words["start"] + 0.01, timing="aligned"))
    return {"two voices": _diarized("two_voices"), "three/voices": _diarized("three_voices"), "w": aligned}


def _concatenated(transcripts: dict[str, voxnb.Transcript], kind: str) -> pd.DataFrame:
    """What a corpus table must be: the per-transcript tables stacked, with a recording column."""
    parts = [getattr(t, kind) for t in transcripts.values()]
    out = pd.concat(parts, ignore_index=True)
    speakers = list(dict.fromkeys(s for p in parts for s in p["speaker"].cat.categories))
    out["speaker"] = pd.Categorical(out["speaker"].astype(object), categories=speakers)
    names = [n for n, p in zip(transcripts, parts) for _ in range(len(p))]
    out.insert(0, "recording", pd.Categorical(names, categories=list(transcripts)))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_tables_are_the_concatenation_with_the_contract_dtypes(transcripts, kind):
    corpus = tables(transcripts)
    assert not corpus.lazy and corpus.recordings == list(transcripts)
    expected = _concatenated(transcripts, kind)
    pd.testing.assert_frame_equal(corpus.table(kind), expected)
    assert list(expected["speaker"].cat.categories) == ["Ada", "Ben", "Dan"]
    lazy = tables(transcripts, lazy=True)
    computed = lazy.table(kind).compute(scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(computed, expected)


def test_code_for_one_transcript_works_on_the_corpus(transcripts):
    corpus = tables(transcripts)
    talk = corpus.speakers.groupby("speaker", observed=True)["talk_time"].sum()
    expected: dict[str, float] = {}
    for t in transcripts.values():
        for speaker, seconds in t.speakers.groupby("speaker", observed=True)["talk_time"].sum().items():
            expected[speaker] = expected.get(speaker, 0.0) + seconds
    assert talk.to_dict() == pytest.approx(expected) and list(talk.index) == ["Ada", "Ben", "Dan"]
    assert set(corpus.words.query("recording == 'w'")["timing"]) == {"aligned"}


def test_saved_transcripts_in_a_folder(transcripts, tmp_path):
    for name, t in transcripts.items():
        t.save(tmp_path / f"{name}.voxnb.json")
    (tmp_path / "notes.json").write_text("{}")  # not a saved transcript: ignored
    corpus = tables(tmp_path)
    assert corpus.recordings == sorted(transcripts)  # by path; "three/voices" lives in a sub-folder
    expected = _concatenated({n: transcripts[n] for n in sorted(transcripts)}, "words")
    pd.testing.assert_frame_equal(corpus.words, expected)  # aligned word times survive saving


def test_a_large_source_becomes_lazy_and_partitions_by_size(transcripts, tmp_path, monkeypatch):
    for name, t in transcripts.items():
        t.save(tmp_path / f"{name}.voxnb.json")
    monkeypatch.setattr("voxnb.corpus.EAGER_LIMIT", 1000)
    monkeypatch.setattr("voxnb.corpus.PARTITION_BYTES", 1)
    corpus = tables(tmp_path)
    assert corpus.lazy and corpus.segments.npartitions == 3 and "3 partitions" in repr(corpus)
    assert not tables(tmp_path, lazy=False).lazy


def test_cache_entries_become_transcripts_as_their_backend_built_them(mistral_diarized, tmp_path):
    cache = TranscriptCache(tmp_path / "cache")
    words_only = {
        "text": "Hi there.",
        "segments": [
            {"text": "Hi", "start": 0.1, "end": 0.3, "type": "transcription_segment"},
            {"text": "there.", "start": 0.35, "end": 0.7, "type": "transcription_segment"},
        ],
    }
    inputs = []
    for response, grains in ((mistral_diarized, ["segment"]), (words_only, ["word"])):
        request = {"model": "voxtral-mini-latest", "timestamp_granularities": grains, "diarize": False}
        entry = {
            "audio_sha256": uuid.uuid4().hex * 2,
            "backend": "mistral",
            "base_url": "https://api.mistral.ai",
        }
        cache.remember(response, **entry, request=request)
        inputs.append(cache_key(**entry, request=request))
    corpus = tables(tmp_path / "cache")  # a folder of cache entries
    names = [k[:16] for k in sorted(inputs)]
    assert corpus.recordings == names
    words = corpus.words.set_index("recording", drop=False)
    one_word_each = words.loc[inputs[1][:16]]
    assert one_word_each["text"].tolist() == ["Hi", "there."] and set(one_word_each["timing"]) == {"api"}
    assert corpus.segments.query("recording == @names[0] or recording == @names[1]")["speaker"].notna().any()


def test_parquet_partitioned_by_recording_behind_an_fsspec_url(transcripts):
    url = f"memory://voxnb-test-{uuid.uuid4().hex}/corpus"
    corpus = tables(transcripts)
    assert corpus.to_parquet(url) == url
    folder = Location(url)
    files = folder.glob("words/recording=*/part-0.parquet")
    assert sorted(files) == [
        "words/recording=three%2Fvoices/part-0.parquet",
        "words/recording=two%20voices/part-0.parquet",
        "words/recording=w/part-0.parquet",
    ]
    corpus.to_parquet(url)  # again: each recording's file replaced, none added
    assert folder.glob("words/recording=*/*") == files
    for kind in KINDS:
        back = read_parquet(url, kind)
        table = corpus.table(kind)
        assert list(back.columns) == list(table.columns)
        assert back.dtypes.astype(str).tolist() == table.dtypes.astype(str).tolist()
        order = ["recording", back.columns[1]]
        pd.testing.assert_frame_equal(
            back.astype({"recording": str}).sort_values(order).reset_index(drop=True),
            table.astype({"recording": str}).sort_values(order).reset_index(drop=True),
            check_categorical=False,
        )


def test_lazy_parquet_round_trip(transcripts, tmp_path):
    tables(transcripts, lazy=True).to_parquet(tmp_path)
    back = read_parquet(tmp_path, "segments", lazy=True).compute(scheduler="sync")
    assert sorted(back["recording"].unique()) == sorted(transcripts)
    assert back["text"].dtype == "string" and back["speaker"].dtype == "category"


def test_bad_sources_say_what_to_do(tmp_path):
    with pytest.raises(ParameterError, match=r"no \*\.voxnb\.json transcripts"):
        tables(tmp_path)
    with pytest.raises(ParameterError, match="mapping name → Transcript"):
        tables({"a": {"text": "hi"}})
    with pytest.raises(ParameterError, match="empty"):
        tables({})
    with pytest.raises(ParameterError, match="kind must be one of"):
        tables({"a": voxnb.Transcript.from_response({"text": "hi"})}).table("sentences")
    with pytest.raises(ParameterError, match="no words table"):
        read_parquet(tmp_path, "words")
    with pytest.raises(ParameterError, match="TranscriptCache"):
        tables(42)


def test_tuple_keys_name_recordings_by_joining(transcripts):
    corpus = tables({("b01", "none"): transcripts["w"], ("b01", "oracle"): transcripts["w"]})
    assert corpus.recordings == ["b01/none", "b01/oracle"]


def test_a_cache_behind_a_url_is_written_atomically_once(tmp_path):
    url = f"memory://voxnb-cache-{uuid.uuid4().hex}"
    cache = TranscriptCache(url)
    request = {"audio_sha256": "ab" * 32, "backend": "local", "base_url": "", "request": {"model": "m"}}
    cache.remember({"text": "one"}, **request)
    cache.remember({"text": "one"}, **request)  # a re-run writes the same entry
    assert len(cache) == 1 and cache.lookup(**request) == {"text": "one"}
    folder = Location(url)
    assert list(folder.glob("**/*")) == [f"{cache_key(**request)[:2]}/{cache_key(**request)}.json"]
    assert json.loads(folder.read(next(iter(folder.glob("*/*.json")))))["response"] == {"text": "one"}
    assert repr(cache) == f"TranscriptCache({url!r})" and cache.directory is None
