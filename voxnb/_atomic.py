"""Write a file whole or not at all: a temporary file in the same folder, then ``os.replace``.

A reader (or a crash) never sees half a file; the command line and the lab's exports write
through :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_atomic"]


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write *data* (text as UTF-8) to *path* atomically, creating its folder; return the path.

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_atomic(os.path.join(tempfile.mkdtemp(), "out", "a.txt"), "hello")
    >>> p.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside *path* for a writer that wants a file name; moved into place on success.

    Examples
    --------
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "grid.TextGrid")
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("File type")
    >>> open(target).read()
    'File type'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
