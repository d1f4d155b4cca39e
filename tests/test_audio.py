"""voxnb.audio: decoding real files written by libsndfile, bad input, conversions, envelope."""

from __future__ import annotations

import io
import os
import struct
import types
import wave

import numpy as np
import pytest
import soundfile as sf

import voxnb
from voxnb.audio import SILENCE_PEAK, Audio, as_audio
from voxnb.errors import AudioError, ParameterError

SR = 16000


def tone(seconds: float = 1.0, sr: int = SR, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 1 s 440 Hz tone written in every format libsndfile encodes here."""
    root = tmp_path_factory.mktemp("audio")
    y = tone()
    paths = {}
    for ext, fmt in [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")]:
        if fmt not in sf.available_formats():
            continue
        path = root / f"tone.{ext}"
        sf.write(path, y, SR, format=fmt)
        paths[ext] = path
    return paths


def dominant_frequency(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[spectrum.argmax()])


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_load_each_format_decodes_the_tone(files, ext):
    audio = Audio.load(files[ext])
    assert audio.sr == SR and audio.y.dtype == np.float32 and audio.y.ndim == 1
    assert audio.duration == pytest.approx(1.0, abs=0.06)  # mp3 pads a little
    assert dominant_frequency(audio.y, audio.sr) == pytest.approx(440, abs=2)
    assert 0.45 < audio.peak < 0.56
    assert audio.source == str(files[ext])


def test_load_from_bytes_file_object_and_non_seekable_stream(files):
    data = files["flac"].read_bytes()
    from_path = Audio.load(files["flac"])
    assert Audio.load(data) == from_path
    with open(files["flac"], "rb") as fh:
        assert Audio.load(fh) == from_path

    class Pipe(io.RawIOBase):  # a socket-like stream: readable, not seekable
        def __init__(self, payload):
            self._inner = io.BytesIO(payload)

        def readable(self):
            return True

        def readinto(self, b):
            return self._inner.readinto(b)

    assert Audio.load(Pipe(data)) == from_path


def test_resampling_matches_librosa_and_keeps_channels(tmp_path):
    import librosa

    rng = np.random.default_rng(1)
    stereo = (rng.standard_normal((2, 44100 * 2)) * 0.1).astype(np.float32)
    stereo[1] *= 0.5
    path = tmp_path / "stereo44k.wav"
    sf.write(path, stereo.T, 44100, subtype="FLOAT")

    mono = Audio.load(path)
    expected, _ = librosa.load(path, sr=SR)
    assert mono.y.shape == expected.shape
    np.testing.assert_allclose(mono.y, expected, atol=1e-6)

    both = Audio.load(path, mono=False)
    expected2, _ = librosa.load(path, sr=SR, mono=False)
    assert both.channels == 2 and both.y.shape == expected2.shape
    np.testing.assert_allclose(both.y, expected2, atol=1e-6)

    native = Audio.load(path, sr=None, mono=False)
    assert native.sr == 44100
    np.testing.assert_array_equal(native.y, stereo)


def test_long_file_is_decoded_in_blocks_without_gaps(tmp_path, monkeypatch):
    import voxnb.audio as audio_module

    monkeypatch.setattr(audio_module, "_BLOCK_FRAMES", 1000)  # many blocks on a small file
    y = tone(2.3, sr=22050, freq=300.0)
    path = tmp_path / "long.wav"
    sf.write(path, y, 22050, subtype="FLOAT")
    blocked = Audio.load(path)
    monkeypatch.setattr(audio_module, "_BLOCK_FRAMES", 1 << 20)
    whole = Audio.load(path)
    assert blocked.y.shape == whole.y.shape
    np.testing.assert_allclose(blocked.y, whole.y, atol=1e-6)
    assert Audio.load(path, sr=None).y.size == y.size


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"this is not audio at all" * 20), "cannot decode"),
        (lambda p: sf.write(p, np.zeros(0, np.float32), SR), "no audio samples"),
    ],
    ids=["zero-bytes", "garbage", "header-only"],
)
def test_bad_files_raise_audio_error(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message):
        Audio.load(path)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        Audio.load(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="is a directory"):
        Audio.load(tmp_path)
    with pytest.raises(AudioError, match="empty"):
        Audio.load(b"")


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_truncated_files_raise_audio_error(files, tmp_path, ext):
    data = files[ext].read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        Audio.load(cut)


def test_truncated_wav_can_be_loaded_on_request(files, tmp_path):
    data = files["wav"].read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    partial = Audio.load(cut, allow_truncated=True)
    assert 0.4 < partial.duration < 0.6
    np.testing.assert_allclose(partial.y, Audio.load(files["wav"]).y[: partial.n_samples], atol=1e-4)


def wav_bytes(frames: bytes, *, bits=16, sr=8000, before=(), data_size=None, riff_size=None) -> bytes:
    """A mono PCM WAV built byte by byte: RIFF header, fmt chunk, the chunks *before*, data.

    ``data_size``/``riff_size`` override the sizes the header declares (streaming writers, files
    cut short); a chunk of odd size gets its pad byte, as RIFF requires.
    """
    block = bits // 8
    body = b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * block, block, bits)
    for name, payload in before:
        body += name + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    body += b"data" + struct.pack("<I", len(frames) if data_size is None else data_size) + frames
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


# 100 frames of 16-bit PCM: sample k is 300 * k, so 300 * k / 32768 once decoded
PCM_100 = (np.arange(100, dtype="<i2") * 300).tobytes()
PCM_100_DECODED = np.arange(100, dtype=np.float32) * 300 / 32768


@pytest.mark.parametrize(
    ("before", "data_size", "riff_size"),
    [
        ([], None, None),
        ([(b"LIST", b"abc")], None, None),  # an odd-sized chunk and its pad byte before the data
        ([], 0xFFFFFFFF, 0xFFFFFFFF),  # a streaming writer's "unknown" sizes: the data runs to the end
    ],
    ids=["plain", "odd-chunk-first", "streamed-sizes"],
)
def test_wav_built_byte_by_byte_loads_whole(tmp_path, before, data_size, riff_size):
    data = wav_bytes(PCM_100, before=before, data_size=data_size, riff_size=riff_size)
    path = tmp_path / "built.wav"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        audio = Audio.load(source, sr=None)
        assert audio.sr == 8000
        np.testing.assert_array_equal(audio.y, PCM_100_DECODED)


@pytest.mark.parametrize(
    ("frames", "before", "data_size"),
    [
        (PCM_100[:100], [], 200),  # half of what the header declares
        (PCM_100[:100], [(b"LIST", b"abc")], 200),  # the data chunk found past an odd-sized chunk
        (PCM_100[:100], [(b"LIST", b"abcde")], 200),  # 5 & 1 = 1 pad byte; 5 & 2 would be 0
        (PCM_100[:100], [(b"JUNK", bytes(70_000))], 200),  # the data chunk past the first 64 KiB
        (PCM_100, [], 0x8000_0000),  # 2 GiB declared: an unsigned size, not a negative one
        (b"", [], 200),  # cut right after the data chunk's header
        (PCM_100[:196], [], 200),  # 98 of 100 frames: more than the 1 % tolerated is missing
    ],
    ids=["half", "odd-chunk-first", "odd-chunk-of-5", "after-64KiB", "2GiB", "header-only", "98-of-100"],
)
def test_wav_shorter_than_its_header_declares_is_truncated(tmp_path, frames, before, data_size):
    data = wav_bytes(frames, before=before, data_size=data_size)
    path = tmp_path / "cut.wav"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):  # the header read from a path, bytes, a file object
        with pytest.raises(AudioError, match="truncated"):
            Audio.load(source, sr=None)
    if frames:
        partial = Audio.load(data, sr=None, allow_truncated=True)
        np.testing.assert_array_equal(partial.y, PCM_100_DECODED[: len(frames) // 2])


def test_wav_missing_one_percent_is_accepted():
    # 99 of 100 declared frames: read < 0.99 * declared is false, the file counts as whole
    audio = Audio.load(wav_bytes(PCM_100[:198], data_size=200), sr=None)
    np.testing.assert_array_equal(audio.y, PCM_100_DECODED[:99])


@pytest.mark.parametrize(
    ("fmt", "subtype", "channels"),
    [
        ("WAV", "PCM_U8", 1),
        ("WAV", "PCM_16", 2),
        ("WAV", "PCM_24", 1),
        ("WAV", "PCM_32", 1),
        ("WAV", "FLOAT", 1),
        ("WAV", "DOUBLE", 1),
        ("WAVEX", "PCM_16", 1),
    ],
)
def test_wav_subtypes_missing_two_frames_of_100_are_truncated_one_is_not(tmp_path, fmt, subtype, channels):
    path = tmp_path / "whole.wav"
    sf.write(path, np.zeros((100, channels), np.float32) + 0.25, 8000, format=fmt, subtype=subtype)
    data = path.read_bytes()
    frame = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}[subtype] * channels
    assert Audio.load(data, sr=None, mono=False).y.shape[-1] == 100
    assert Audio.load(data[:-frame], sr=None).n_samples == 99  # 1 % short: tolerated
    with pytest.raises(AudioError, match="truncated"):
        Audio.load(data[: -2 * frame], sr=None)


def test_load_refuses_flags_that_are_not_booleans(files):
    for flag in ("mono", "allow_truncated"):
        with pytest.raises(ParameterError) as caught:
            Audio.load(files["wav"], **{flag: 1})
        assert str(caught.value) == f"{flag}= is True or False; got 1" and caught.value.option == flag


def test_collect_grows_past_the_expected_size_and_trims_the_rest(monkeypatch):
    from voxnb import audio as audio_module

    # the decoder delivering more frames than the header said: the buffer grows, nothing is lost
    mono = audio_module._collect(
        iter([np.arange(3, dtype=np.float32), np.arange(3, 10, dtype=np.float32)]), 2, 1
    )
    assert mono.tolist() == list(range(10)) and mono.dtype == np.float32
    blocks = [np.array([[0, 10], [1, 11]], np.float32), np.array([[2, 12], [3, 13], [4, 14]], np.float32)]
    stereo = audio_module._collect(iter(blocks), 1, 2)
    assert stereo.tolist() == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]] and stereo.dtype == np.float32
    # fewer frames than expected: a view when the waste is small, a copy when it exceeds a block
    monkeypatch.setattr(audio_module, "_BLOCK_FRAMES", 4)
    few = audio_module._collect(iter([np.ones(3, np.float32)]), 7, 1)
    assert few.tolist() == [1, 1, 1] and few.base is not None  # 4 frames wasted: kept as a view
    fewer = audio_module._collect(iter([np.ones(3, np.float32)]), 8, 1)
    assert fewer.tolist() == [1, 1, 1] and fewer.base is None  # 5 wasted: copied out
    whole = audio_module._collect(iter([np.ones(3, np.float32)]), 3, 1)
    assert whole.base is None  # exactly the expected size: the buffer itself


def test_load_names_the_source_and_leaves_the_callers_file_open(files, tmp_path):
    data = files["wav"].read_bytes()
    with open(files["wav"], "rb") as fh:
        assert Audio.load(fh).source == str(files["wav"])
        assert not fh.closed  # the caller's file: the caller closes it
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav"):
        Audio.load(cut)
    # a data size of 2001 bytes holds 1000 whole frames: 990 of them are within the 1 % tolerance
    audio = Audio.load(wav_bytes(np.zeros(990, "<i2").tobytes(), data_size=2001), sr=None)
    assert audio.n_samples == 990


def test_load_from_a_bare_reader_and_an_unnamed_file(files):
    data = files["wav"].read_bytes()
    reference = Audio.load(data)

    class Reader:  # only read(): neither seekable() nor seek()
        def __init__(self):
            self._inner = io.BytesIO(data)

        def read(self, n=-1):
            return self._inner.read(n)

    assert Audio.load(Reader()) == reference
    import os

    with open(os.open(files["wav"], os.O_RDONLY), "rb") as fh:  # its name is a descriptor number
        audio = Audio.load(fh)
    assert audio == reference and audio.source is None


def test_open_source_messages(tmp_path):
    cases = [
        (b"", "the audio bytes are empty; pass the encoded file's content"),
        (io.StringIO("text"), "the file object was opened in text mode; open the audio file with mode 'rb'"),
        (42, "cannot read audio from a int; pass a path, URL, bytes or an open binary file"),
    ]
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    cases.append((empty, f"audio file {str(empty)!r} is empty (0 bytes); re-export or re-record it"))

    class EmptyPipe(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            return 0

    cases.append((EmptyPipe(), "the audio file object gave no bytes; is it at its end or empty?"))
    for source, message in cases:
        with pytest.raises(AudioError) as caught:
            Audio.load(source)
        assert str(caught.value) == message
    with pytest.raises(AudioError, match="could not download"):  # https:// is a URL, not a path
        Audio.load("https://127.0.0.1:1/tone.wav")


def test_wav_data_chunk_size_reads_the_riff_header_only():
    from voxnb.audio import _wav_data_chunk_size

    wav = wav_bytes(PCM_100, before=[(b"LIST", b"abc")])
    fh = io.BytesIO(wav)
    fh.seek(30)
    assert _wav_data_chunk_size(fh) == 200 and fh.tell() == 30  # where libsndfile had left it
    odd = wav_bytes(bytes([0, 128, 255]), bits=8)
    assert _wav_data_chunk_size(io.BytesIO(odd)) == 3
    one = wav_bytes(b"\x80", bits=8)
    assert _wav_data_chunk_size(io.BytesIO(one)) == 1
    for size in (0, 0xFFFFFFFF):  # streaming writers' "unknown"
        assert _wav_data_chunk_size(io.BytesIO(wav_bytes(PCM_100, data_size=size))) == 0
    no_data = wav[: wav.index(b"data")]
    assert _wav_data_chunk_size(io.BytesIO(no_data)) == 0
    avi = b"RIFF" + wav[4:8] + b"AVI " + wav[12:]  # a RIFF file that is not a WAVE
    assert _wav_data_chunk_size(io.BytesIO(avi)) == 0
    rifx = b"RIFX" + wav[4:]  # not RIFF (big-endian RIFX sizes would be misread)
    assert _wav_data_chunk_size(io.BytesIO(rifx)) == 0


# -- decoding pinned down on files built byte by byte (issue 16) --------------------------------------

TRUNCATED_TAIL = (
    " (the file was probably cut off while being written or copied); re-export it, or load what is "
    "there with Audio.load(..., allow_truncated=True)"
)


def riff_wav(samples: list[int], *, declared_bytes: int, sr: int = SR) -> bytes:
    """A mono 16-bit PCM WAV built field by field; the data chunk may declare more than it holds."""
    fmt = struct.pack("<HHIIHH", 1, 1, sr, sr * 2, 2, 16)
    data = struct.pack(f"<{len(samples)}h", *samples)
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", declared_bytes) + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wav_built_by_hand_decodes_to_its_samples_over_32768():
    audio = Audio.load(riff_wav([0, 16384, -32768, 32767], declared_bytes=8), sr=None)
    assert audio.sr == SR and audio.source is None
    np.testing.assert_array_equal(audio.y, np.array([0, 0.5, -1, 32767 / 32768], np.float32))


def test_truncation_threshold_is_one_percent_of_whole_declared_frames():
    # 200 bytes declared = 100 frames; 99 frames present is the 1 % tolerated, 98 is not
    assert Audio.load(riff_wav([1000] * 99, declared_bytes=200)).n_samples == 99
    with pytest.raises(AudioError) as refused:
        Audio.load(riff_wav([1000] * 98, declared_bytes=200))
    assert str(refused.value) == (
        "the audio is truncated: its header promises 0.01 s but only 0.01 s can be read" + TRUNCATED_TAIL
    )
    # an odd byte count declares 100.5 frames: only whole frames count, so 99 present still pass
    assert Audio.load(riff_wav([1000] * 99, declared_bytes=201)).n_samples == 99


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize(
    ("subtype", "width"),
    [("PCM_U8", 1), ("PCM_16", 2), ("PCM_24", 3), ("PCM_32", 4), ("FLOAT", 4), ("DOUBLE", 8)],
)
def test_truncated_wav_of_every_sample_width_says_how_long_it_should_be(tmp_path, fmt, subtype, width):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(), SR, format=fmt, subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - SR * width // 2])  # half of the data chunk (the last chunk) gone
    expected = (
        f"{str(path)!r} is truncated: its header promises 1.00 s but only 0.50 s can be read" + TRUNCATED_TAIL
    )
    with pytest.raises(AudioError) as refused:
        Audio.load(path)
    assert str(refused.value) == expected
    with pytest.raises(AudioError) as refused:
        Audio.load(path.read_bytes())
    assert str(refused.value) == expected.replace(repr(str(path)), "the audio")


def test_broken_and_undecodable_files_name_the_file_and_the_decoder(tmp_path, monkeypatch):
    import voxnb.audio as audio_module

    caf = io.BytesIO()
    sf.write(caf, tone(), SR, format="CAF", subtype="PCM_16")
    path = tmp_path / "cut.caf"
    path.write_bytes(caf.getvalue()[:1000])  # libsndfile: "Supported file format but file is malformed"
    with pytest.raises(AudioError) as refused:
        Audio.load(path)
    message = str(refused.value)
    assert message.startswith(f"{str(path)!r} looks like a supported format but is malformed or truncated (")
    assert message.endswith("file is malformed.); re-export or re-download it")

    flac = tmp_path / "cut.flac"
    sf.write(flac, tone(), SR, format="FLAC")
    flac.write_bytes(flac.read_bytes()[:3000])  # the header is whole, the frames stop mid-way
    with pytest.raises(AudioError) as refused:
        Audio.load(flac)
    message = str(refused.value)
    assert message.startswith(f"{str(flac)!r} is corrupt or truncated: decoding failed after the start (")
    assert message.endswith("); re-export or re-download it")

    monkeypatch.setattr(audio_module.shutil, "which", lambda name: None)
    garbage = tmp_path / "talk.m4a"
    garbage.write_bytes(b"not audio " * 30)
    with pytest.raises(sf.LibsndfileError) as libsndfile:
        sf.SoundFile(garbage)
    with pytest.raises(AudioError) as refused:
        Audio.load(garbage)
    assert str(refused.value) == (
        f"cannot decode {str(garbage)!r}: it is not a format libsndfile reads (wav, flac, ogg, mp3, ...) and "
        "ffmpeg, needed for m4a/webm/aac, is not installed. Install ffmpeg (apt-get install ffmpeg / conda "
        f"install ffmpeg) or convert the file to wav or flac. Decoder said: {libsndfile.value}"
    )


def test_a_path_that_says_malformed_is_not_libsndfiles_diagnosis(tmp_path, monkeypatch):
    import voxnb.audio as audio_module

    monkeypatch.setattr(audio_module.shutil, "which", lambda name: None)
    folder = tmp_path / "malformed uploads"  # libsndfile's message quotes the path
    folder.mkdir()
    m4a = folder / "talk.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 200)
    with pytest.raises(
        AudioError, match=r"^cannot decode .*ffmpeg, needed for m4a/webm/aac, is not installed"
    ):
        Audio.load(m4a)


@pytest.mark.parametrize(("flag", "value"), [("mono", 1), ("allow_truncated", "yes")])
def test_load_refuses_flags_that_are_not_bool_word_for_word(flag, value):
    with pytest.raises(ParameterError) as refused:
        Audio.load(riff_wav([1000] * 10, declared_bytes=20), **{flag: value})
    assert str(refused.value) == f"{flag}= is True or False; got {value!r}"
    assert refused.value.option == flag


def test_load_closes_its_own_copies_and_leaves_the_callers_file_open(tmp_path, monkeypatch):
    import voxnb.audio as audio_module

    made = []

    class RecordedBytesIO(io.BytesIO):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(
        audio_module, "io", types.SimpleNamespace(BytesIO=RecordedBytesIO, TextIOBase=io.TextIOBase)
    )
    data = riff_wav([1000] * 10, declared_bytes=20)
    Audio.load(data)
    assert len(made) == 1 and made[0].closed  # the copy of the bytes is released once decoded
    path = tmp_path / "ten.wav"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        assert Audio.load(fh).source == str(path)
        assert not fh.closed  # the caller's file is the caller's to close


def test_open_source_refusals_word_for_word(tmp_path):
    with pytest.raises(AudioError) as refused:
        Audio.load(b"")
    assert str(refused.value) == "the audio bytes are empty; pass the encoded file's content"
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError) as refused:
        Audio.load(empty)
    assert str(refused.value) == f"audio file {str(empty)!r} is empty (0 bytes); re-export or re-record it"
    with pytest.raises(AudioError) as refused:
        Audio.load(io.StringIO("RIFF"))
    assert str(refused.value) == "the file object was opened in text mode; open the audio file with mode 'rb'"

    class EmptyReader:  # read() only: neither seekable() nor a name
        def read(self):
            return b""

    with pytest.raises(AudioError) as refused:
        Audio.load(EmptyReader())
    assert str(refused.value) == "the audio file object gave no bytes; is it at its end or empty?"
    with pytest.raises(AudioError) as refused:
        Audio.load(12345)
    assert (
        str(refused.value) == "cannot read audio from a int; pass a path, URL, bytes or an open binary file"
    )


def test_https_urls_are_downloaded_not_taken_for_paths():
    # nothing listens on port 1 of the loopback: the download fails at once, without leaving the machine
    with pytest.raises(AudioError, match=r"^could not download audio from https://127\.0\.0\.1:1/a\.wav: "):
        Audio.load("https://127.0.0.1:1/a.wav")


def test_file_objects_are_read_whole_whatever_their_position_and_methods(tmp_path):
    data = riff_wav([100, -200, 300], declared_bytes=6)
    expected = np.array([100, -200, 300], np.float32) / 32768
    at_end = io.BytesIO(data)
    at_end.read()  # seekable: decoded from its start all the same
    loaded = Audio.load(at_end, sr=None)
    np.testing.assert_array_equal(loaded.y, expected)
    assert loaded.source is None  # a BytesIO has no name

    class Reader:  # read() only: no seekable(), so it is read into memory
        def read(self):
            return data

    np.testing.assert_array_equal(Audio.load(Reader(), sr=None).y, expected)
    path = tmp_path / "three.wav"
    path.write_bytes(data)
    with open(os.open(path, os.O_RDONLY), "rb") as by_descriptor:  # its name is the descriptor, an int
        assert Audio.load(by_descriptor, sr=None).source is None


def test_collect_fills_the_expected_size_and_owns_exactly_its_samples():
    from voxnb.audio import _collect

    mono = _collect(iter([np.array([1, 2], np.float32), np.array([3], np.float32)]), 3, 1)
    np.testing.assert_array_equal(mono, [1, 2, 3])
    assert mono.base is None and mono.nbytes == 3 * 4  # no slack buffer behind it
    one = _collect(iter([np.array([0.5], np.float32)]), 0, 1)  # a header promising nothing
    np.testing.assert_array_equal(one, [0.5])
    assert one.base is None
    stereo = _collect(iter([np.array([[0.5, -0.5]], np.float32)]), 1, 2)
    np.testing.assert_array_equal(stereo, [[0.5], [-0.5]])
    assert stereo.base is None


@pytest.mark.parametrize("channels", [1, 2])
def test_collect_grows_by_half_when_the_decoder_delivers_more(channels):
    from voxnb.audio import _collect

    def block(values):
        column = np.array(values, np.float32)
        return column if channels == 1 else np.stack([column, -column], axis=1)

    # 4 expected: 1 + 6 needs 7, more than 4 * 1.5 = 6; 7 + 2 then needs 9, under 7 * 1.5 = 10
    out = _collect(iter([block([1]), block([2, 3, 4, 5, 6, 7]), block([8, 9])]), 4, channels)
    expected = np.arange(1, 10, dtype=np.float32)
    np.testing.assert_array_equal(out, expected if channels == 1 else [expected, -expected])
    assert out.dtype == np.float32
    assert out.base is not None and out.base.shape[-1] == 10  # a view of the buffer grown by half
    # 4 expected: 3 + 2 needs 5, under 4 * 1.5 = 6: room for 6, of which 5 are used
    out = _collect(iter([block([1, 2, 3]), block([4, 5])]), 4, channels)
    assert out.shape[-1] == 5 and out.base is not None and out.base.shape[-1] == 6


def test_collect_copies_only_when_the_unused_tail_outweighs_a_block(monkeypatch):
    import voxnb.audio as audio_module

    monkeypatch.setattr(audio_module, "_BLOCK_FRAMES", 4)
    # 10 expected: 3 delivered leave 7 unused (> 4) -> a copy; 6 leave 4 (not > 4) and 8 leave 2 -> views
    for delivered, copied in [(3, True), (6, False), (8, False)]:
        out = audio_module._collect(iter([np.ones(delivered, np.float32)]), 10, 1)
        assert out.shape == (delivered,)
        assert (out.base is None) is copied, delivered


def test_undecodable_container_names_the_fix(tmp_path, monkeypatch):
    import voxnb.audio as audio_module

    monkeypatch.setattr(audio_module.shutil, "which", lambda name: None)
    m4a = tmp_path / "talk.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 200)
    with pytest.raises(AudioError, match="ffmpeg"):
        Audio.load(m4a)


def test_silence_loads_but_is_refused_for_transcription(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(SR, np.float32), SR)
    silent = Audio.load(path)
    assert silent.is_silent and silent.peak == 0.0
    with pytest.raises(AudioError, match="silent"):
        silent.check_audible()
    quiet_speech_level = Audio.from_array(tone(amp=SILENCE_PEAK * 20), SR)
    assert quiet_speech_level.check_audible() is quiet_speech_level


def test_from_array_converts_and_validates(monkeypatch):
    pcm = (tone() * 32767).astype(np.int16)
    audio = Audio.from_array(pcm, SR)
    assert audio.y.dtype == np.float32
    np.testing.assert_allclose(audio.y, tone(), atol=1e-4)

    soundfile_layout = np.stack([tone(), tone() * 0]).T  # (n, 2)
    assert Audio.from_array(soundfile_layout, SR).y.shape == (SR,)
    assert Audio.from_array(soundfile_layout, SR, mono=False).y.shape == (2, SR)
    np.testing.assert_allclose(Audio.from_array(soundfile_layout, SR).y, tone() / 2, atol=1e-7)

    with pytest.raises(AudioError, match="NaN"):
        Audio.from_array(np.array([0.0, np.nan]), SR)
    import voxnb.audio as audio_module

    monkeypatch.setattr(audio_module, "_BLOCK_FRAMES", 4)  # checked block by block: the last one too
    with pytest.raises(AudioError, match="NaN"):
        Audio.from_array(np.array([0.0] * 9 + [np.inf]), SR)
    monkeypatch.undo()
    with pytest.raises(AudioError, match="no audio samples"):
        Audio.from_array(np.zeros(0), SR)
    with pytest.raises(AudioError, match="1-D or 2-D"):
        Audio.from_array(np.zeros((2, 2, 2)), SR)
    with pytest.raises(ParameterError, match="positive integer"):
        Audio.from_array(tone(), 0)
    with pytest.raises(ParameterError, match="positive integer"):
        Audio.from_array(tone(), 16000.5)


def test_from_array_scales_unsigned_pcm_around_half_scale_and_keeps_float32_as_is():
    # unsigned PCM is centred on half scale: (v - 2**(bits-1)) / 2**(bits-1)
    u8 = Audio.from_array(np.array([0, 64, 128, 255], np.uint8), SR)
    assert u8.y.tolist() == [-1.0, -0.5, 0.0, 127 / 128]
    u16 = Audio.from_array(np.array([0, 32768, 65535], np.uint16), SR)
    assert u16.y.tolist() == [-1.0, 0.0, 32767 / 32768]
    y = tone(0.01)
    assert np.shares_memory(Audio.from_array(y, SR).y, y)  # float32 mono is used without a copy


def test_stereo_resampling_keeps_the_rate_ratio_exactly():
    import librosa

    rng = np.random.default_rng(5)
    stereo = (rng.standard_normal((2, 101)) * 0.1).astype(np.float32)
    up = Audio.from_array(stereo, 8000, mono=False).resample(16000)
    assert up.y.shape == (2, 202)  # twice the rate: twice the frames, no frame of flush padding
    expected = librosa.resample(stereo, orig_sr=8000, target_sr=16000, res_type="soxr_hq")
    np.testing.assert_allclose(up.y, expected, atol=1e-6)


def test_pcm16_and_wav_round_trip_exactly():
    y = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], dtype=np.float32)
    audio = Audio.from_array(y, SR)
    pcm = np.frombuffer(audio.to_pcm16(), dtype="<i2")
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768]

    with wave.open(io.BytesIO(audio.to_wav())) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)
        assert w.readframes(100) == audio.to_pcm16()

    stereo = Audio.from_array(np.stack([tone(0.01), -tone(0.01)]), SR, mono=False)
    frames = np.frombuffer(stereo.to_pcm16(), dtype="<i2").reshape(-1, 2)
    np.testing.assert_array_equal(frames[:, 0], -frames[:, 1])
    decoded = Audio.load(stereo.to_wav(), mono=False)
    np.testing.assert_allclose(decoded.y, stereo.y, atol=1 / 32768)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_save_and_reload(tmp_path, ext):
    audio = Audio.from_array(tone(), SR)
    path = audio.save(tmp_path / f"out.{ext}")
    back = Audio.load(path)
    assert back.n_samples == audio.n_samples
    tolerance = 1e-4 if ext != "ogg" else 0.1  # vorbis is lossy
    assert np.abs(back.y - audio.y).max() < tolerance
    with pytest.raises(AudioError, match="format"):
        audio.save(tmp_path / "out.xyz")


def test_slice_is_a_view_and_clips_at_the_edges():
    y = np.arange(SR * 2, dtype=np.float32) / (SR * 2)
    audio = Audio.from_array(y, SR)
    part = audio.slice(0.5, 1.0)
    assert part.n_samples == SR // 2 and part.y[0] == y[SR // 2]
    assert np.shares_memory(part.y, audio.y)
    assert audio.slice(1.5, 10).duration == pytest.approx(0.5)
    assert audio.slice(-1, 0.25).n_samples == SR // 4
    assert audio.slice().n_samples == audio.n_samples
    with pytest.raises(ParameterError, match="before"):
        audio.slice(1.0, 0.5)
    with pytest.raises(ParameterError, match="holds no audio"):
        audio.slice(5, 6)


def test_sha256_follows_the_signal_not_the_container(tmp_path):
    pcm = (tone() * 32767).astype(np.int16)  # the same 16-bit samples in two lossless containers
    sf.write(tmp_path / "a.wav", pcm, SR)
    sf.write(tmp_path / "a.flac", pcm, SR)
    wav, flac = Audio.load(tmp_path / "a.wav"), Audio.load(tmp_path / "a.flac")
    assert wav.sha256 == flac.sha256
    assert len(wav.sha256) == 64
    louder = Audio.from_array(wav.y * 0.5, SR)
    assert louder.sha256 != wav.sha256
    assert Audio.from_array(wav.y, 8000).sha256 != wav.sha256


def test_as_audio_accepts_every_input_kind(files):
    reference = Audio.load(files["wav"])
    assert as_audio(reference) is reference
    assert as_audio(files["wav"]) == reference
    assert as_audio(str(files["wav"])) == reference
    assert as_audio(files["wav"].read_bytes()) == reference
    with open(files["wav"], "rb") as fh:
        assert as_audio(fh) == reference
    at_8k = as_audio((reference.y, SR), sr=8000)
    assert at_8k.sr == 8000 and at_8k.n_samples == SR // 2
    assert as_audio(at_8k).sr == SR
    assert as_audio(at_8k, sr=None) is at_8k
    with pytest.raises(AudioError, match="sample rate"):
        as_audio(reference.y)
    with pytest.raises(AudioError, match="cannot use"):
        as_audio(42)


def test_play_returns_an_ipython_player_of_the_window():
    audio = Audio.from_array(tone(2.0), SR)
    player = audio.play(0.5, 1.0)
    with wave.open(io.BytesIO(player.data)) as w:
        assert w.getnframes() == SR // 2
    with pytest.raises(ParameterError, match="max_duration"):
        audio.play(max_duration=1.0)


def test_envelope_is_exact_against_numpy():
    rng = np.random.default_rng(7)
    for trial in range(20):
        m = int(rng.integers(1, 50_000))
        n = int(rng.integers(1, 3000))
        y = rng.standard_normal(m).astype(np.float32)
        audio = Audio.from_array(y, SR)
        edges, lo, hi = audio.envelope(n)
        k = min(n, m)
        assert lo.size == hi.size == k and edges.size == k + 1
        bounds = np.rint(edges * SR).astype(int)
        assert bounds[0] == 0 and bounds[-1] == m and np.all(np.diff(bounds) >= 1)
        for c in rng.integers(0, k, size=min(k, 50)):
            chunk = y[bounds[c] : bounds[c + 1]]
            assert lo[c] == chunk.min() and hi[c] == chunk.max(), (trial, c)
        assert lo.min() == y.min() and hi.max() == y.max()


def test_envelope_columns_hand_worked():
    a = Audio.from_array(np.arange(10, dtype=np.float32), 10)
    # 10 samples in 3 columns: edges at floor(k * 10 / 3) = 0, 3, 6, 10
    edges, lo, hi = a.envelope(3)
    assert edges.tolist() == [0.0, 0.3, 0.6, 1.0]
    assert lo.tolist() == [0.0, 3.0, 6.0] and hi.tolist() == [2.0, 5.0, 9.0]
    # a window: samples 2..7 (0.2 s to 0.8 s) in 4 columns: 2 + floor(k * 6 / 4) = 2, 3, 5, 6, 8
    edges, lo, hi = a.envelope(4, start=0.2, end=0.8)
    assert edges.tolist() == [0.2, 0.3, 0.5, 0.6, 0.8]
    assert lo.tolist() == [2.0, 3.0, 5.0, 6.0] and hi.tolist() == [2.0, 4.0, 5.0, 7.0]
    # more columns than samples: one column per sample
    edges, lo, hi = a.envelope(50, start=0.7)
    assert edges.tolist() == [0.7, 0.8, 0.9, 1.0] and lo.tolist() == hi.tolist() == [7.0, 8.0, 9.0]
    assert lo.dtype == hi.dtype == np.float32


def test_envelope_mixes_channels_and_refuses_no_columns():
    stereo = Audio.from_array(
        np.array([[1.0, -1.0, 0.5, 0.0], [0.0, 1.0, -0.5, -1.0]], np.float32), 4, mono=False
    )
    edges, lo, hi = stereo.envelope(2)
    assert lo.tolist() == [0.0, -0.5] and hi.tolist() == [0.5, 0.0]  # of the mean (0.5, 0, 0, -0.5)
    edges, lo, hi = stereo.envelope(2, start=0.5, end=0.5)  # an empty window: one edge, no column
    assert edges.tolist() == [0.5] and lo.size == hi.size == 0
    for n in (0, -3):
        with pytest.raises(ParameterError, match="positive number of columns"):
            stereo.envelope(n)


def test_envelope_of_windows_at_the_edges():
    y = np.random.default_rng(3).standard_normal(SR).astype(np.float32)
    audio = Audio.from_array(y, SR)
    edges, lo, hi = audio.envelope(10, start=-5, end=0.1)
    assert edges[0] == 0 and edges[-1] == pytest.approx(0.1)
    assert hi.max() == y[: SR // 10].max()
    edges, lo, hi = audio.envelope(10, start=0.95, end=99)
    assert edges[-1] == pytest.approx(1.0) and lo.min() == y[int(0.95 * SR) :].min()
    edges, lo, hi = audio.envelope(10, start=3, end=4)  # wholly past the end: nothing to draw
    assert lo.size == 0


def test_sample_range_hand_worked_and_clipped():
    audio = Audio.from_array(np.zeros(20, np.float32), 10)  # 2 s at 10 Hz
    assert audio.sample_range() == (0, 20)
    assert audio.sample_range(0.25, 1.04) == (2, 10)  # round(2.5) = 2 (to even), round(10.4) = 10
    assert audio.sample_range(5, 6) == (20, 20)  # past the end: both clipped to it
    assert audio.sample_range(-2, -1) == (0, 0)  # before the start: both clipped to 0
    assert audio.sample_range(None, 0) == (0, 0)
    assert audio.sample_range(None, 0.5) == (0, 5) and audio.sample_range(1.5, None) == (15, 20)


@pytest.mark.parametrize(
    ("start", "end", "option", "message"),
    [
        ("1", None, "start", "start= is a number of seconds (or None); got '1'"),
        (True, None, "start", "start= is a number of seconds (or None); got True"),
        (None, True, "end", "end= is a number of seconds (or None); got True"),
        (None, np.bool_(False), "end", "end= is a number of seconds (or None); got"),
        (None, [1.0], "end", "end= is a number of seconds (or None); got [1.0]"),
        (np.nan, None, "start", "start=nan is not a finite number of seconds"),
        (None, np.inf, "end", "end=inf is not a finite number of seconds"),
        (0.5, -np.inf, "end", "end=-inf is not a finite number of seconds"),
    ],
)
def test_sample_range_refuses_what_is_not_a_time(start, end, option, message):
    audio = Audio.from_array(np.zeros(20, np.float32), 10)
    with pytest.raises(ParameterError) as caught:
        audio.sample_range(start, end)
    assert str(caught.value).startswith(message) and caught.value.option == option


def test_envelope_of_one_column_one_sample_and_nothing():
    a = Audio.from_array(np.array([0.0, 3.0, -2.0, 1.0], np.float32), 4)
    edges, lo, hi = a.envelope(1)  # one column: the extremes of everything
    assert edges.tolist() == [0.0, 1.0] and lo.tolist() == [-2.0] and hi.tolist() == [3.0]
    edges, lo, hi = a.envelope(5, start=0.5, end=0.75)  # a window of one sample: one column
    assert edges.tolist() == [0.5, 0.75] and lo.tolist() == hi.tolist() == [-2.0]
    edges, lo, hi = a.envelope(5, start=0.5, end=0.5)
    assert edges.tolist() == [0.5] and lo.dtype == hi.dtype == np.float32
    for n in (True, np.bool_(True), 2.0, 2.5, "2"):
        with pytest.raises(ParameterError, match="positive number of columns"):
            a.envelope(n)


def test_stereo_is_mixed_down_once():
    stereo = Audio.from_array(np.array([[1.0, -1.0], [0.0, 1.0]], np.float32), 2, mono=False)
    mixed = stereo._mono()
    assert mixed.tolist() == [0.5, 0.0]
    assert stereo._mono() is mixed  # cached: redrawing a long stereo file does not average it again


def test_spectrogram_finds_the_tone_and_is_cached():
    audio = Audio.from_array(tone(4.0, freq=1000.0), SR)
    s_db, times, freqs = audio.spectrogram(kind="linear", n_frames=100)
    assert s_db.shape == (freqs.size - 1, times.size - 1) and times.size - 1 == 100
    peak_band = s_db.mean(axis=1).argmax()
    assert freqs[peak_band] <= 1000 <= freqs[peak_band + 1]
    assert audio.spectrogram(kind="linear", n_frames=100)[0] is s_db

    mel, times, freqs = audio.spectrogram(kind="mel", start=1.0, end=2.0, n_frames=50, n_mels=40)
    assert mel.shape == (40, 50) and times[0] == pytest.approx(1.0) and times[-1] == pytest.approx(2.0)
    with pytest.raises(ParameterError, match="kind"):
        audio.spectrogram(kind="chroma")
    with pytest.raises(ParameterError, match="n_mels"):
        audio.spectrogram(n_mels=0)
    with pytest.raises(ParameterError, match="n_fft"):
        audio.spectrogram(n_fft=0)


def test_exported_from_the_package():
    assert voxnb.Audio is Audio


@pytest.fixture
def http_folder(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_from_url(http_folder):
    folder, base = http_folder
    sf.write(folder / "tone.flac", tone(), SR)
    audio = Audio.load(f"{base}/tone.flac")
    assert audio.source == f"{base}/tone.flac"
    assert audio == Audio.load(folder / "tone.flac")
    with pytest.raises(AudioError, match="could not download"):
        Audio.load(f"{base}/missing.wav")
    with pytest.raises(AudioError, match="could not download"):
        Audio.load("http://[::1/tone.flac")  # httpx.InvalidURL, not an httpx.HTTPError


def test_notebook_display_embeds_a_player_only_for_short_audio():
    short = Audio.from_array(tone(2.0), SR)
    assert "<audio" in short._repr_html_() and "2.00 s" in short._repr_html_()
    long = Audio.from_array(np.zeros(SR * 61, np.float32), SR)
    assert "<audio" not in long._repr_html_() and ".play(start, end)" in long._repr_html_()


@pytest.mark.parametrize(("ext", "codec"), [("m4a", "aac"), ("webm", "libopus")])
def test_containers_libsndfile_cannot_read_go_through_ffmpeg(files, tmp_path, ext, codec):
    import shutil
    import subprocess

    assert shutil.which("ffmpeg"), "ffmpeg is not installed (as root, `make test` installs it)"
    path = tmp_path / f"tone.{ext}"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(files["wav"]), "-c:a", codec, str(path)], check=True
    )
    for audio in (Audio.load(path), Audio.load(path.read_bytes())):
        assert audio.sr == SR and audio.duration == pytest.approx(1.0, abs=0.1)
        assert dominant_frequency(audio.y, SR) == pytest.approx(440, abs=3)
