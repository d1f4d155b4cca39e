"""What the user passed as audio → what goes on the wire (a file part, ``file_url`` or ``file_id``).

Checks happen here, before any byte is sent: missing, empty, oversized, unrecognisable,
truncated and silent files (and float files holding NaN) raise :class:`~voxnb.errors.AudioError`.
A file is not decoded whole for that: its header, one read near the end it promises, and its
samples up to the first audible one are enough, so a batch of long recordings is not decoded twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxnb.errors import AudioError, ParameterError

__all__ = ["MAX_UPLOAD_BYTES", "AudioSource", "resolve_audio"]

#: The Files API's documented per-file limit (spec §1, §6); the transcription endpoint's is 500 MB.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024

_FILE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# container signatures: (offset, magic, extension, MIME type)
_SIGNATURES = (
    (0, b"RIFF", "wav", "audio/wav"),
    (0, b"fLaC", "flac", "audio/flac"),
    (0, b"OggS", "ogg", "audio/ogg"),
    (0, b"ID3", "mp3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "webm", "audio/webm"),
    (4, b"ftyp", "m4a", "audio/mp4"),
    (0, b"FORM", "aiff", "audio/aiff"),
)


@dataclass(frozen=True)
class AudioSource:
    """One audio input, ready to send.

    Exactly one of ``data`` (uploaded as the ``file`` part), ``file_url`` or ``file_id`` is set.
    ``sha256`` identifies the content (of the bytes sent, or of the URL / file id string) for
    the cache and for :attr:`voxnb.Transcript.audio_sha256`.
    """

    sha256: str
    data: bytes | None = None
    filename: str | None = None
    content_type: str | None = None
    file_url: str | None = None
    file_id: str | None = None
    audio: Any = None  # the voxnb.Audio given by the user, kept on the Transcript

    @property
    def kind(self) -> str:
        return "file" if self.data is not None else ("file_url" if self.file_url else "file_id")

    def form_fields(self) -> dict[str, str]:
        if self.file_url:
            return {"file_url": self.file_url}
        if self.file_id:
            return {"file_id": self.file_id}
        return {}

    def file_part(self) -> tuple[str, bytes, str] | None:
        if self.data is None:
            return None
        return (self.filename or "audio", self.data, self.content_type or "application/octet-stream")


def _sniff(data: bytes) -> tuple[str, str] | None:
    for offset, magic, ext, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return ext, mime
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0:
        return "mp3", "audio/mpeg"  # a bare MPEG / ADTS frame sync
    return None


def _check_content(data: bytes, label: str, ext: str) -> None:
    """What :meth:`voxnb.Audio.load` would refuse, and silence, caught before the upload.

    Cheap (the header, one read near the promised end, the first audible samples: see
    :func:`voxnb.audio.check_encoded`). MP3 is checked when libsndfile reads it; m4a and webm are
    left to the server.
    """
    if ext not in ("wav", "flac", "ogg", "aiff", "mp3"):
        return
    from voxnb.audio import check_encoded

    if ext == "mp3":
        import soundfile as sf

        try:
            sf.info(io.BytesIO(data))
        except Exception:  # an older libsndfile without MP3: the server decides
            return
    check_encoded(data, label)


def _check_upload_size(size: int, label: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise AudioError(
            f"{label} is {size / 2**20:.0f} MB; the API accepts at most {MAX_UPLOAD_BYTES // 2**20} MB per "
            "file. Split it (voxnb.Audio.load(...).slice(start, end)) or re-encode it compressed (FLAC, MP3)"
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _from_bytes(data: bytes, label: str, filename: str | None) -> AudioSource:
    if len(data) == 0:
        raise AudioError(f"{label} is empty (0 bytes); pass the encoded audio file's content")
    _check_upload_size(len(data), label)
    sniffed = _sniff(data)
    if sniffed is None:
        raise AudioError(
            f"{label} is not a recognised audio file (WAV, FLAC, MP3, OGG, WEBM or M4A expected); "
            "convert it, or pass voxnb.Audio.load(path) if ffmpeg can read it"
        )
    ext, mime = sniffed
    _check_content(data, label, ext)
    name = filename or f"audio.{ext}"
    return AudioSource(sha256=_sha256(data), data=data, filename=name, content_type=mime)


def _encode_signal(audio: Any) -> AudioSource:
    audio.check_audible()
    wav = audio.to_wav()
    if len(wav) > MAX_UPLOAD_BYTES:
        raise AudioError(
            f"the audio is {audio.duration / 60:.0f} min long, {len(wav) / 2**20:.0f} MB as WAV, over the "
            f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit; transcribe it in slices with audio.slice(start, end)"
        )
    return AudioSource(
        sha256=_sha256(wav),
        data=wav,
        filename="audio.wav",
        content_type="audio/wav",
        audio=audio,
    )


def resolve_audio(audio: Any, *, sr: int | None = None, allow_remote: bool = True) -> AudioSource:
    """Turn any supported audio input into an :class:`AudioSource`.

    Parameters
    ----------
    audio : str, os.PathLike, bytes, file object, voxnb.Audio or numpy array
        A path; an ``https://`` URL (sent as ``file_url``); the id of a file uploaded with
        :meth:`voxnb.Client.upload` (sent as ``file_id``); encoded bytes or an open binary file;
        a :class:`voxnb.Audio`; or samples (with ``sr=``), encoded losslessly as WAV.
    sr : int, optional
        The sample rate of a numpy array given as *audio*.
    allow_remote : bool
        Whether URLs and file ids may be passed through (vLLM's endpoint only takes uploads).

    Raises
    ------
    AudioError
        Missing, empty, oversized or unrecognisable audio.
    ParameterError
        A URL or file id where the server only takes uploads, or an array without ``sr=``.

    Examples
    --------
    >>> source = resolve_audio("https://example.org/talk.mp3")
    >>> source.kind, source.file_url
    ('file_url', 'https://example.org/talk.mp3')
    """
    from voxnb.audio import Audio, existing_file

    if isinstance(audio, Audio):
        return _encode_signal(audio)
    if hasattr(audio, "__array__") and not isinstance(audio, (bytes, bytearray, memoryview, str)):
        if sr is None:
            raise ParameterError(
                "a numpy array has no sample rate: pass sr= (e.g. transcribe(y, sr=16000)) or "
                "voxnb.Audio.from_array(y, sr)"
            )
        return _encode_signal(Audio.from_array(audio, sr))
    if isinstance(audio, str) and (audio.startswith(("https://", "http://")) or _FILE_ID.match(audio)):
        if not allow_remote:
            raise ParameterError(
                f"this server (openai dialect) only accepts uploaded audio, not {audio!r}; download the "
                "file and pass its path"
            )
        if audio.startswith("http"):
            if len(audio) > 2083:
                raise ParameterError("file_url is longer than the API's 2083 characters; shorten it")
            return AudioSource(sha256=_sha256(audio.encode()), file_url=audio)
        if not Path(audio).exists():
            return AudioSource(sha256=_sha256(audio.encode()), file_id=audio)
    if isinstance(audio, (str, os.PathLike)):
        path = existing_file(audio)
        _check_upload_size(path.stat().st_size, f"audio file {str(path)!r}")  # before reading it all
        try:
            data = path.read_bytes()
        except OSError as err:
            raise AudioError(f"cannot read audio file {str(path)!r}: {err}") from err
        return _from_bytes(data, f"audio file {str(path)!r}", path.name)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(audio), "the audio data", None)
    if hasattr(audio, "read"):
        if isinstance(audio, io.TextIOBase):
            raise AudioError("the file object gave text, not bytes; open the audio file with mode 'rb'")
        name = getattr(audio, "name", None)
        data = audio.read()
        if not isinstance(data, bytes):
            raise AudioError("the file object gave text, not bytes; open the audio file with mode 'rb'")
        filename = Path(name).name if isinstance(name, str) else None
        return _from_bytes(data, f"audio file object {filename or ''}".strip(), filename)
    raise AudioError(
        f"cannot transcribe a {type(audio).__name__}; pass a path, an https:// URL, an uploaded file id, "
        "bytes, an open binary file, a voxnb.Audio, or a numpy array with sr="
    )
