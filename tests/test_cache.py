"""voxnb.cache: what separates two cache entries, and what makes an entry unusable."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

import pytest

import voxnb
from voxnb.cache import TranscriptCache, cache_key, default_cache_dir, open_cache

INPUTS = {
    "audio_sha256": "ab" * 32,
    "backend": "mistral",
    "base_url": "https://api.mistral.ai",
    "request": {"model": "voxtral-mini-latest", "context_bias": ["Chicago"]},
}


def test_the_key_is_the_sha256_of_the_sorted_compact_json_of_the_inputs():
    canonical = (
        '{"audio_sha256":"' + "ab" * 32 + '","backend":"mistral","base_url":"https://api.mistral.ai",'
        '"request":{"context_bias":["Chicago"],"model":"voxtral-mini-latest"}}'
    )
    assert cache_key(**INPUTS) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("audio_sha256", "cd" * 32),
        ("backend", "openai-compatible"),
        ("base_url", "http://127.0.0.1:8000"),  # another server never serves this one's result
        ("request", {"model": "voxtral-mini-latest", "context_bias": []}),
        ("request", {"model": "voxtral-small-latest", "context_bias": ["Chicago"]}),
    ],
)
def test_every_input_separates_entries(field, other):
    assert cache_key(**{**INPUTS, field: other}) != cache_key(**INPUTS)


def test_two_servers_sharing_one_cache_each_answer_their_own_requests(start_voxnb_server, tiny_wav, tmp_path):
    first, second = start_voxnb_server(), start_voxnb_server()
    items = {"a": tiny_wav(1)}
    with voxnb.Client(base_url=first.url) as client:
        assert client.transcribe_many(items, cache=tmp_path, progress=False).requests == 1
        assert client.transcribe_many(items, cache=tmp_path, progress=False).requests == 0
    with voxnb.Client(base_url=second.url) as client:
        result = client.transcribe_many(items, cache=tmp_path, progress=False)
    assert result.requests == 1 and result.from_cache == []
    assert len(first.recorder.matching("/v1/audio/transcriptions")) == 1
    assert len(second.recorder.matching("/v1/audio/transcriptions")) == 1
    assert len(TranscriptCache(tmp_path)) == 2


def test_put_then_get_round_trips_and_lays_entries_out_by_key_prefix(tmp_path):
    cache = TranscriptCache(tmp_path / "new")
    assert len(cache) == 0 and cache.get("ef" * 32) is None  # no directory yet: empty
    path = cache.put("ef" * 32, {"text": " é"}, {"backend": "local"})
    assert path == tmp_path / "new" / "ef" / f"{'ef' * 32}.json"
    entry = json.loads(path.read_text(encoding="utf-8"))
    assert entry == {
        "format": "voxnb.transcription-cache/1",
        "key": "ef" * 32,
        "meta": {"backend": "local"},
        "response": {"text": " é"},
    }
    assert " é" in path.read_text(encoding="utf-8")  # stored as UTF-8 text, not \\u escapes
    assert cache.get("ef" * 32) == entry
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # the temporary file is gone
    assert len(cache) == 1 and repr(cache) == f"TranscriptCache({str(tmp_path / 'new')!r})"


def test_remember_stores_the_inputs_as_meta_and_lookup_finds_them(tmp_path):
    cache = TranscriptCache(tmp_path)
    path = cache.remember({"text": " hi"}, **INPUTS)
    assert path.stem == cache_key(**INPUTS)
    assert json.loads(path.read_text())["meta"] == INPUTS
    assert cache.lookup(**INPUTS) == {"text": " hi"}
    assert cache.lookup(**{**INPUTS, "base_url": "http://127.0.0.1:1"}) is None


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"format": "voxnb.transcription-cache/0", "key": "KEY", "meta": {}, "response": {}}',
        '{"format": "voxnb.transcription-cache/1", "key": "other", "meta": {}, "response": {}}',
        '{"format": "voxnb.transcription-cache/1", "key": "KEY", "meta": {}, "response": "text"}',
        '{"format": "voxnb.transcription-cache/1", "key": "KEY", "meta": null, "response": {}}',
        '{"format": "voxnb.transcription-cache/1", "key": "KEY", "response": {}}',
    ],
)
def test_a_corrupt_or_foreign_entry_is_missing_and_logged(tmp_path, caplog, content):
    key = "12" * 32
    cache = TranscriptCache(tmp_path)
    path = cache.put(key, {"text": "x"}, {})
    path.write_text(content.replace("KEY", key))
    with caplog.at_level(logging.WARNING, logger="voxnb"):
        assert cache.get(key) is None
    name = f"12/{key}.json"
    try:
        json.loads(content)
    except ValueError as err:  # the json module's own words for what is wrong
        expected = f"cache entry {name} is unreadable ({err}); fetching it again"
    else:
        expected = f"cache entry {name} is corrupt or foreign; fetching it again"
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [("voxnb", "WARNING", expected)]


def test_keys_and_sizes_name_each_entry_by_its_key(tmp_path):
    cache = TranscriptCache(tmp_path)
    first, second = "9f" * 32, "0a" * 32
    paths = {first: cache.put(first, {"text": "one"}, {}), second: cache.put(second, {"text": "two"}, {})}
    (tmp_path / "batch-jobs").mkdir()
    (tmp_path / "batch-jobs" / "job.json").write_text("{}")  # a job handle, not an entry
    assert cache.keys() == [second, first]  # sorted: "0a..." before "9f..."
    assert cache.sizes() == {key: len(path.read_bytes()) for key, path in paths.items()}
    assert len(cache) == 2


def test_a_cache_behind_a_url_has_no_local_folder(tmp_path):
    url = f"memory://voxnb-cache-{uuid.uuid4().hex}"
    cache = TranscriptCache(url)
    assert cache.directory is None
    written = cache.put("5e" * 32, {"text": "x"}, {})
    assert isinstance(written, str) and written.endswith(f"/5e/{'5e' * 32}.json")
    assert cache.keys() == ["5e" * 32]
    with pytest.raises(voxnb.ParameterError, match="batch jobs keep their handles in a local cache folder"):
        cache.jobs_directory  # noqa: B018 (the property is what refuses)
    assert TranscriptCache(tmp_path).jobs_directory == tmp_path / "batch-jobs"


def test_a_well_formed_entry_needs_every_field(tmp_path):
    key = "34" * 32
    cache = TranscriptCache(tmp_path)
    path = cache.put(key, {"text": "x"}, {})
    path.write_text(
        json.dumps({"format": "voxnb.transcription-cache/1", "key": key, "meta": {}, "response": {}})
    )
    assert cache.get(key) == {"format": "voxnb.transcription-cache/1", "key": key, "meta": {}, "response": {}}


def test_open_cache_accepts_what_users_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXNB_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert open_cache(True).directory == tmp_path / "env"
    assert open_cache(False) is None and open_cache(None) is None
    assert open_cache(str(tmp_path)).directory == tmp_path and open_cache(tmp_path).directory == tmp_path
    mine = TranscriptCache(tmp_path)
    assert open_cache(mine) is mine
    with pytest.raises(
        voxnb.ParameterError, match="cache must be True, False, a directory path or an fsspec URL"
    ):
        open_cache(3)


def test_default_directory_without_the_variable_is_the_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("VOXNB_CACHE_DIR", raising=False)
    assert default_cache_dir() == platformdirs.user_cache_path("voxnb") / "transcriptions"
    monkeypatch.setenv("VOXNB_CACHE_DIR", "~/elsewhere")
    assert "~" not in str(default_cache_dir())
