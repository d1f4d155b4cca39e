"""A content-addressed cache of transcription responses: plain JSON files, written atomically.

The files live in a local folder or behind an fsspec URL (``s3://...``), so the workers of a Dask
cluster can share one cache. The key is the sha256 of the audio (or of its URL / file id) together with the backend, the
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

from voxnb.errors import ParameterError
from voxnb.storage import Location

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
        Where entries live: a folder (created on first write) or an fsspec URL such as
        ``s3://bucket/voxnb-cache`` that every worker of a cluster can reach.

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
        self.folder = Location(directory)
        #: the local folder (None for a URL)
        self.directory = None if self.folder.url else Path(self.folder.root)

    def __repr__(self) -> str:
        return f"TranscriptCache({self.folder.root!r})"

    @staticmethod
    def _name(key: str) -> str:
        return f"{key[:2]}/{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry (``{"response", "meta"}``), or None when absent or unusable."""
        name = self._name(key)
        try:
            entry = json.loads(self.folder.read(name).decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("cache entry %s is unreadable (%s); fetching it again", name, err)
            return None
        if (
            not isinstance(entry, dict)
            or entry.get("format") != _FORMAT
            or entry.get("key") != key
            or not isinstance(entry.get("response"), dict)
            or not isinstance(entry.get("meta"), dict)
        ):
            log.warning("cache entry %s is corrupt or foreign; fetching it again", name)
            return None
        return entry

    def put(self, key: str, response: dict[str, Any], meta: dict[str, Any]) -> Path | str:
        """Store one response atomically (a reader never sees half a file; writing it twice leaves one).

        Returns where it went: a path in a local folder, a URL elsewhere.
        """
        text = json.dumps(
            {"format": _FORMAT, "key": key, "meta": meta, "response": response}, ensure_ascii=False
        )
        written = self.folder.write(self._name(key), text.encode("utf-8"))
        return Path(written) if self.directory is not None else written

    def keys(self) -> list[str]:
        """The keys of the stored entries, sorted."""
        return list(self.sizes())

    def sizes(self) -> dict[str, int]:
        """Key → size in bytes of every stored entry."""
        return {
            name.rpartition("/")[2].removesuffix(".json"): size
            for name, size in self.folder.glob("??/*.json").items()  # batch-jobs/ beside them is no entry
        }

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
    ) -> Path | str:
        """Store the response of this request, with the request's description as the entry's meta."""
        key = cache_key(audio_sha256=audio_sha256, backend=backend, base_url=base_url, request=request)
        inputs = {"audio_sha256": audio_sha256, "backend": backend, "base_url": base_url, "request": request}
        return self.put(key, response, inputs)

    @property
    def jobs_directory(self) -> Path:
        """Where the handles of batch jobs submitted with this cache are kept (:mod:`voxnb.api.batch`)."""
        if self.directory is None:
            raise ParameterError(
                f"batch jobs keep their handles in a local cache folder; {self.folder} is not one: pass "
                "cache= a folder on this machine for mode='batch'",
                option="cache",
            )
        return self.directory / "batch-jobs"

    def __len__(self) -> int:
        return len(self.keys())


def open_cache(cache: Any) -> TranscriptCache | None:
    """``cache=`` as users give it: True (default directory), False/None, a path or URL, or a cache."""
    if cache is True:
        return TranscriptCache(default_cache_dir())
    if cache is False or cache is None:
        return None
    if isinstance(cache, TranscriptCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return TranscriptCache(cache)
    raise ParameterError(
        f"cache must be True, False, a directory path or an fsspec URL (s3://...); got {cache!r}"
    )
