"""The LibriSpeech biasing TSV loader and the bundled TTS set."""

from __future__ import annotations

import json

import pytest

from voxnb import Audio, bias
from voxnb.bias.data import BUNDLED_DIR
from voxnb.errors import ParameterError


def _write_tsv(path, rows):
    path.write_text("".join("\t".join([u, r, json.dumps(a), json.dumps(b)]) + "\n" for u, r, a, b in rows))
    return path


def test_read_biasing_tsv_columns_audio_paths_and_blocks(tmp_path):
    tsv = _write_tsv(tmp_path / "test-clean.biasing_100.tsv", [
        ("1089-134686-0000", "he hoped there would be stew", ["stew"], ["stew", "quillara", "abernethy"]),
        ("121-121726-0001", "mister quilter is the apostle", ["quilter"], ["quilter", "zanzibar"]),
    ])  # fmt: skip
    items = bias.read_biasing_tsv(tsv, audio_dir=tmp_path / "LibriSpeech" / "test-clean")
    assert [it.name for it in items] == ["1089-134686-0000", "121-121726-0001"]
    assert items[0].rare_words == ("stew",) and items[0].biasing_list == ("stew", "quillara", "abernethy")
    assert items[1].block == "121"
    assert (
        items[0].audio
        == tmp_path / "LibriSpeech" / "test-clean" / "1089" / "134686" / "1089-134686-0000.flac"
    )
    assert bias.read_biasing_tsv(tsv)[0].audio is None
    # the benchmark's two conventions from the file's own columns
    res = bias.score([it.reference for it in items], ["he hoped there would be stu quillara",
                                                       "mister quilter is the apostle"],
                     [it.biasing_list for it in items], normalizer=None)  # fmt: skip
    assert (res.b_sub, res.b_ins, res.u_ins) == (1, 0, 1)


def test_read_biasing_tsv_rejects_malformed_files(tmp_path):
    with pytest.raises(ParameterError, match="no biasing TSV"):
        bias.read_biasing_tsv(tmp_path / "absent.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("u1\tsome text\n")
    with pytest.raises(ParameterError, match="4 tab-separated columns"):
        bias.read_biasing_tsv(bad)
    bad.write_text("u1\tsome text\t[stew\t[]\n")
    with pytest.raises(ParameterError, match="JSON lists"):
        bias.read_biasing_tsv(bad)
    bad.write_text('u1\tsome text\t["stew"]\t5\n')  # valid JSON, but not a list
    with pytest.raises(ParameterError, match=r"bad.tsv:1: the word lists must be a list of strings"):
        bias.read_biasing_tsv(bad)
    with pytest.raises(ParameterError, match="item 0: rare_words / biasing_list must be a list of strings"):
        bias.BiasItem.coerce({"audio": "a.ogg", "reference": "hi", "rare_words": 5}, 0)
    assert bias.BiasItem.coerce(
        {"audio": "a.ogg", "reference": "hi", "rare_words": {"Oban"}}, 0
    ).rare_words == ("Oban",)


def test_bundled_set_is_small_decodable_and_consistent():
    items = bias.load_bundled()
    pool = bias.bundled_distractors()
    assert len(items) == 20 and len(pool) >= 60
    total = sum(p.stat().st_size for p in (BUNDLED_DIR / "audio").glob("*.ogg"))
    assert total < 400 * 1024
    assert len({it.block for it in items}) >= 6  # several TTS voices
    refs = " ".join(bias.normalize(it.reference) for it in items)
    for it in items:
        ref = f" {bias.normalize(it.reference)} "
        for term in it.rare_words:
            assert f" {bias.normalize_term(term)} " in ref, (it.name, term)
    for term in pool:
        assert f" {bias.normalize_term(term)} " not in f" {refs} ", term
    audio = Audio.load(items[0].audio)
    assert audio.sr == 16000 and audio.y.ndim == 1 and 2.0 < audio.duration < 10.0
    assert (BUNDLED_DIR / "make_bias_set.py").is_file()


def test_importing_the_lab_loads_no_heavy_library():
    import subprocess
    import sys

    code = ("import sys, voxnb, voxnb.bias; dir(voxnb.bias); "
            "print(sorted(m for m in ('numpy', 'pandas', 'matplotlib', 'whisper_normalizer', 'jiwer') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
