"""Files in a local folder or behind an fsspec URL, every write atomic.

The transcription cache and the corpus Parquet files live where every Dask worker can reach
them: a local (or shared, NFS) folder, or an fsspec URL such as ``s3://bucket/voxnb`` or
``gs://...``. A write goes to a temporary name in the same folder and is then moved over the
final name, so a reader never sees half a file and a task that runs twice (a worker died and
its task was re-run) leaves one file, not two.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["Location", "is_url"]


def is_url(location: Any) -> bool:
    """Whether *location* names an fsspec filesystem (``scheme://...``) rather than a local path.

    Examples
    --------
    >>> is_url("s3://bucket/cache"), is_url("/tmp/cache"), is_url(Path("c:/cache"))
    (True, False, False)
    """
    return isinstance(location, str) and "://" in location


class Location:
    """A folder: a local path, or an fsspec URL (``memory://``, ``s3://``, ``file://``, ...).

    Parameters
    ----------
    location : str or os.PathLike
        The folder. URLs need ``fsspec`` (and the filesystem's own package, e.g. ``s3fs``).

    Examples
    --------
    >>> folder = Location("memory://voxnb-doc")
    >>> folder.write("ab/x.json", b"{}")
    'memory://voxnb-doc/ab/x.json'
    >>> folder.read("ab/x.json"), folder.glob("*/*.json")
    (b'{}', {'ab/x.json': 2})
    """

    def __init__(self, location: str | os.PathLike):
        if not isinstance(location, (str, os.PathLike)):
            raise ParameterError(f"a folder is a path or an fsspec URL; got {type(location).__name__}")
        self.url = is_url(location)
        self.root = str(location).rstrip("/") if self.url else str(Path(location).expanduser())

    def __repr__(self) -> str:
        return f"Location({self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of a URL (created on first use, not pickled)."""
        fs = self.__dict__.get("_fs")
        if fs is None:
            try:
                import fsspec
            except ImportError:
                raise MissingDependencyError("fsspec", "cluster", f"the folder {self.root}") from None
            fs, _ = fsspec.core.url_to_fs(self.root)
            self.__dict__["_fs"] = fs
        return fs

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "root": self.root}  # a filesystem object holds connections

    def path(self, relative: str) -> str:
        """The full path (or URL) of *relative* inside this folder."""
        return f"{self.root}/{relative}" if self.url else str(Path(self.root, relative))

    def read(self, relative: str) -> bytes:
        """The bytes of a file; :class:`FileNotFoundError` when there is none."""
        if not self.url:
            return Path(self.root, relative).read_bytes()
        return self.fs.cat_file(self.path(relative))

    def write(self, relative: str, data: bytes) -> str:
        """Write *data* atomically: to a temporary name beside the file, then moved over it."""
        target = self.path(relative)
        if not self.url:
            from voxnb._atomic import write_atomic

            # not fsynced: a torn entry after a power cut reads as corrupt and is fetched again
            write_atomic(target, data, durable=False)
            return target
        parent, _, name = target.rpartition("/")
        tmp = f"{parent}/.{name[:16]}-{uuid.uuid4().hex}.tmp"
        fs = self.fs
        fs.makedirs(parent, exist_ok=True)
        try:
            fs.pipe_file(tmp, data)
            fs.mv(tmp, target)  # a rename on file systems; on object stores the copy appears whole
        except BaseException:
            if fs.exists(tmp):
                fs.rm_file(tmp)
            raise
        return target

    def glob(self, pattern: str) -> dict[str, int]:
        """Relative path → size in bytes of the files matching *pattern* (``*/*.json``), sorted.

        Temporary files (names starting with a dot) are left out.
        """
        if not self.url:
            root = Path(self.root)
            found = {p.relative_to(root).as_posix(): p for p in root.glob(pattern)} if root.exists() else {}
            sizes = {name: path.stat().st_size for name, path in found.items() if path.is_file()}
        else:
            fs = self.fs
            base = fs._strip_protocol(self.root).rstrip("/")
            details = fs.glob(f"{base}/{pattern}", detail=True)
            sizes = {
                path[len(base) + 1 :]: int(info.get("size") or 0)
                for path, info in details.items()
                if info.get("type", "file") == "file"
            }
        return {name: sizes[name] for name in sorted(sizes) if not name.rpartition("/")[2].startswith(".")}
