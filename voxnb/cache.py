"""A content-addressed cache of transcription responses: plain JSON files, written atomically.

The key is the sha256 of the audio (or of its URL / file id) together with the backend, the
base URL, the model and the canonical request parameters, so a different model or option never
reuses a result. Entries hold the raw response and those inputs — never the API key. A corrupt
or foreign entry is treated as missing and fetched again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from voxnb._atomic import write_atomic
from voxnb.errors import ParameterError

__all__ = ["TranscriptCache", "cache_key", "default_cache_dir", "open_cache"]

log = logging.getLogger("voxnb")

_FORMAT = "voxnb.transcription-cache/1"


def default_cache_dir() -> Path:
    """``$VOXNB_CACHE_DIR``, or ``transcriptions`` in the user cache directory (platformdirs)."""
    env = os.environ.get("VOXNB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("voxnb")) / "transcriptions"


def cache_key(*, audio_sha256: str, backend: str, base_url: str, request: dict[str, Any]) -> str:
    """The entry name for one request: sha256 of its canonical JSON description.

    Examples
    --------
    >>> key = cache_key(audio_sha256="ab" * 32, backend="mistral", base_url="https://api.mistral.ai",
    ...                 request={"model": "voxtral-mini-latest", "context_bias": []})
    >>> len(key), key == cache_key(audio_sha256="ab" * 32, backend="mistral", base_url="https://api.mistral.ai",
    ...                            request={"context_bias": [], "model": "voxtral-mini-latest"})
    (64, True)
    """
    canonical = json.dumps(
        {"audio_sha256": audio_sha256, "backend": backend, "base_url": base_url, "request": request},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class TranscriptCache:
    """Transcription responses stored as ``<dir>/<key[:2]>/<key>.json``.

    Parameters
    ----------
    directory : str or os.PathLike
        Where entries live; created on first write.

    Examples
    --------
    >>> import tempfile
    >>> cache = TranscriptCache(tempfile.mkdtemp())
    >>> path = cache.put("ab" * 32, {"text": " hello"}, {"backend": "mistral"})
    >>> cache.get("ab" * 32)["response"], len(cache)
    ({'text': ' hello'}, 1)
    >>> request = {"audio_sha256": "cd" * 32, "backend": "local", "base_url": "", "request": {"model": "m"}}
    >>> path = cache.remember({"text": " hi"}, **request)
    >>> cache.lookup(**request), cache.lookup(**{**request, "request": {"model": "other"}})
    ({'text': ' hi'}, None)
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).expanduser()

    def __repr__(self) -> str:
        return f"TranscriptCache({str(self.directory)!r})"

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry (``{"response", "meta"}``), or None when absent or unusable."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("cache entry %s is unreadable (%s); fetching it again", path.name, err)
            return None
        if (
            not isinstance(entry, dict)
            or entry.get("format") != _FORMAT
            or entry.get("key") != key
            or not isinstance(entry.get("response"), dict)
            or not isinstance(entry.get("meta"), dict)
        ):
            log.warning("cache entry %s is corrupt or foreign; fetching it again", path.name)
            return None
        return entry

    def put(self, key: str, response: dict[str, Any], meta: dict[str, Any]) -> Path:
        """Store one response atomically (a reader never sees half a file)."""
        path = self._path(key)
        text = json.dumps(
            {"format": _FORMAT, "key": key, "meta": meta, "response": response}, ensure_ascii=False
        )
        # not fsynced: a torn entry after a power cut is read as corrupt and fetched again
        return write_atomic(path, text, durable=False)

    def lookup(
        self, *, audio_sha256: str, backend: str, base_url: str, request: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The stored response of this request, or None (the key is :func:`cache_key` of the arguments)."""
        entry = self.get(
            cache_key(audio_sha256=audio_sha256, backend=backend, base_url=base_url, request=request)
        )
        return None if entry is None else entry["response"]

    def remember(
        self,
        response: dict[str, Any],
        *,
        audio_sha256: str,
        backend: str,
        base_url: str,
        request: dict[str, Any],
    ) -> Path:
        """Store the response of this request, with the request's description as the entry's meta."""
        key = cache_key(audio_sha256=audio_sha256, backend=backend, base_url=base_url, request=request)
        inputs = {"audio_sha256": audio_sha256, "backend": backend, "base_url": base_url, "request": request}
        return self.put(key, response, inputs)

    @property
    def jobs_directory(self) -> Path:
        """Where the handles of batch jobs submitted with this cache are kept (:mod:`voxnb.api.batch`)."""
        return self.directory / "batch-jobs"

    def __len__(self) -> int:
        # entries live in two-character folders; batch-jobs/ beside them is not an entry
        return sum(1 for _ in self.directory.glob("??/*.json")) if self.directory.exists() else 0


def open_cache(cache: Any) -> TranscriptCache | None:
    """``cache=`` as users give it: True (default directory), False/None, a path, or a cache."""
    if cache is True:
        return TranscriptCache(default_cache_dir())
    if cache is False or cache is None:
        return None
    if isinstance(cache, TranscriptCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return TranscriptCache(cache)
    raise ParameterError(f"cache must be True, False or a directory path; got {cache!r}")
