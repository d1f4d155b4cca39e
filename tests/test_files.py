"""Every file voxnb writes is written whole or not at all (voxnb/_atomic.py and its users).

A write that fails half-way — a full disk, Ctrl-C, text no file can hold — leaves the file that
was there byte for byte, and no temporary file beside it.
"""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

import voxnb
from voxnb._atomic import atomic_path, write_atomic
from voxnb.errors import ParameterError

OLD = "the old content\n"


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "out" / "file.srt"
    path.parent.mkdir()
    path.write_text(OLD)
    return path


def only(path):
    """The names in *path*'s folder (no temporary file may be left)."""
    return sorted(p.name for p in path.parent.iterdir())


@pytest.fixture
def transcript():
    return voxnb.Transcript.from_response(
        {
            "text": "Hi there.",
            "segments": [{"text": "Hi there.", "start": 0.0, "end": 1.0, "speaker_id": "a"}],
        }
    )


def test_write_replaces_the_file_whole(old_file):
    write_atomic(old_file, "new\n")
    assert old_file.read_text() == "new\n" and only(old_file) == ["file.srt"]


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    "writer",
    [
        lambda t, p: t.to_srt(p),
        lambda t, p: t.to_vtt(p),
        lambda t, p: t.to_rttm(p),
        lambda t, p: t.to_seglst(p),
        lambda t, p: t.save(p),
        lambda t, p: write_atomic(p, b"bytes"),
    ],
    ids=["srt", "vtt", "rttm", "seglst", "save", "bytes"],
)
def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(writer, transcript, old_file, monkeypatch):
    monkeypatch.setattr(os, "fsync", full_disk)  # the data cannot reach the disk
    with pytest.raises(ParameterError, match=r"No space left on device.*unchanged"):
        writer(transcript, old_file)
    assert old_file.read_text() == OLD and only(old_file) == ["file.srt"]


@pytest.mark.parametrize("suffix", [".TextGrid", ".wav"])
def test_writers_with_their_own_file_handling_keep_the_old_file_on_interrupt(
    suffix, transcript, old_file, monkeypatch
):
    """praatio and libsndfile write to the temporary path; an interruption mid-write loses nothing."""
    target = old_file.with_suffix(suffix)
    target.write_text(OLD)
    real_replace = os.replace

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        if suffix == ".wav":
            voxnb.Audio.from_array(np.full(1600, 0.1, "float32"), 16000).save(target)
        else:
            transcript.to_textgrid(target)
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_text() == OLD and only(target) == sorted(["file.srt", target.name])


def test_text_no_file_can_hold_is_refused_before_anything_is_touched(old_file):
    with pytest.raises(ParameterError, match="lone surrogate"):
        write_atomic(old_file, "caf\ud800")
    assert old_file.read_text() == OLD and only(old_file) == ["file.srt"]


def test_an_interrupted_block_removes_its_temporary_file(old_file):
    with pytest.raises(KeyboardInterrupt), atomic_path(old_file) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert old_file.read_text() == OLD and only(old_file) == ["file.srt"]


def test_permissions_follow_the_old_file_and_the_umask(tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o640)
    write_atomic(kept, "y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    fresh = write_atomic(tmp_path / "fresh.txt", "z")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # as open(..., "w") would make it


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_cache_entries_are_written_atomically(tmp_path, monkeypatch):
    from voxnb.cache import TranscriptCache

    cache = TranscriptCache(tmp_path)
    first = cache.put("ab" * 32, {"text": "one"}, {})
    monkeypatch.setattr(
        os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error"))
    )
    with pytest.raises(ParameterError, match="I/O error"):
        cache.put("ab" * 32, {"text": "two"}, {})
    assert cache.get("ab" * 32)["response"] == {"text": "one"} and only(first) == [first.name]


def test_save_writes_what_load_reads_back_exactly(transcript, tmp_path):
    aligned = transcript.with_words(transcript.words.assign(timing="aligned"))
    path = aligned.save(tmp_path / "t.json")
    back = voxnb.load_transcript(path)
    for table in ("segments", "words", "turns", "speakers"):
        assert getattr(back, table).equals(getattr(aligned, table))
    assert back.raw == aligned.raw and back.request == aligned.request
