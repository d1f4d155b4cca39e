"""Backend and key, decided once: the precedence, the key's reach, the dialect found on the server."""

from __future__ import annotations

import pickle

import pytest

import voxnb
from voxnb.backend import Backend, resolve_backend
from voxnb.credentials import MISTRAL_BASE_URL, Secret, api_key_for, clean_base_url
from voxnb.errors import ParameterError

SERVER = "http://127.0.0.1:9"


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)


@pytest.fixture
def env_key(monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key-123")


def test_without_anything_the_offline_engine_answers(no_key):
    chosen = resolve_backend()
    assert chosen.name == "local" and "no MISTRAL_API_KEY" in chosen.reason and not chosen.key


def test_a_key_in_the_environment_means_mistral(env_key):
    chosen = resolve_backend()
    assert (chosen.name, chosen.base_url, chosen.dialect) == ("mistral", MISTRAL_BASE_URL, "mistral")
    assert chosen.key.reveal() == "env-key-123" and "MISTRAL_API_KEY is set" in chosen.reason


def test_base_url_beats_the_environment_key_which_stays_with_mistral(env_key):
    chosen = resolve_backend(base_url=SERVER)
    assert chosen.name == "server" and chosen.dialect is None  # asked of the server on first use
    assert not chosen.key  # $MISTRAL_API_KEY is never sent to another server
    assert resolve_backend(base_url=SERVER, api_key="serve-key").key.reveal() == "serve-key"


def test_explicit_backend_and_engine_come_first(env_key):
    assert resolve_backend("local").name == "local"
    assert resolve_backend("vllm", base_url=SERVER).dialect == "openai"
    engine = object()
    assert resolve_backend(engine=engine).engine is engine
    with pytest.raises(ParameterError, match="needs base_url"):
        resolve_backend("openai-compatible")
    with pytest.raises(ParameterError, match="not both"):
        resolve_backend(engine=engine, base_url=SERVER)
    with pytest.raises(ParameterError, match="backend must be one of"):
        resolve_backend("whisper")
    with pytest.raises(ParameterError, match="disagree"):
        resolve_backend("mistral", dialect="openai")


def test_a_resolved_backend_passes_through_unchanged(no_key):
    chosen = resolve_backend(base_url=SERVER, dialect="mistral", api_key="k")
    assert resolve_backend(chosen) is chosen


def test_the_key_is_never_shown(no_key):
    chosen = resolve_backend(api_key="sk-secret-value")
    for text in (repr(chosen), str(chosen), repr(chosen.key), str(chosen.key)):
        assert "sk-secret-value" not in text
    with pytest.raises(TypeError):
        pickle.dumps(chosen.key)
    client = voxnb.Client(api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(client)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (123, "must be a string"),
        ("key with space", "whitespace"),
        (" padded", "whitespace"),
        ("a\nb", "whitespace"),
    ],
)
def test_a_malformed_key_is_refused_at_once(value, pattern):
    with pytest.raises(ParameterError, match=pattern):
        Secret(value)
    with pytest.raises(ParameterError, match=pattern):
        voxnb.Client(api_key=value)


def test_a_refused_base_url_never_echoes_its_credentials():
    with pytest.raises(ParameterError) as info:
        clean_base_url("ftp://user:sk-in-url@host/v1")
    assert "sk-in-url" not in str(info.value) and "ftp://host/v1" in str(info.value)
    assert clean_base_url("http://user:pw@127.0.0.1:8000/v1/") == "http://127.0.0.1:8000"


def test_api_key_for_reads_the_environment_only_for_mistral(env_key):
    assert api_key_for(MISTRAL_BASE_URL).reveal() == "env-key-123"
    assert api_key_for(None).reveal() == "env-key-123"
    assert not api_key_for(SERVER)


def test_backend_repr_says_where_and_which_dialect(no_key):
    assert repr(Backend("local", "why")) == "Backend('local', in process, dialect=None)"
    assert "key set" in repr(resolve_backend(base_url=SERVER, api_key="k", dialect="vllm"))


def test_transcribe_many_offline_uses_the_same_runner_and_cache(no_key, tmp_path, capsys):
    from voxnb.local.fake import FakeEngine

    items = {"a": voxnb.data.path("two_voices"), "b": voxnb.data.path("three_voices")}
    engine = FakeEngine()
    first = voxnb.transcribe_many(items, engine=engine, cache=tmp_path, progress=False, timestamps="segment")
    assert len(first) == 2 and first.requests == 2 and not first.errors
    assert "voxnb.transcribe_many: backend=local (engine= given)" in capsys.readouterr().err
    again = voxnb.transcribe_many(items, engine=engine, cache=tmp_path, progress=False, timestamps="segment")
    assert again.requests == 0 and again.from_cache == ["a", "b"]
    assert again["a"].request == first["a"].request and again["a"].text == first["a"].text
