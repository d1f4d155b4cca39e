"""Every file voxnb writes is written whole or not at all.

:func:`atomic_path` hands out a temporary name in the destination's own folder; whatever is
written there replaces the destination with :func:`os.replace` only once it is complete. On any
failure (an encoding error, a full disk, Ctrl-C) the temporary file is removed and the file that
was there before is left exactly as it was. :func:`write_atomic` does that for text and bytes;
writers that insist on a path of their own (libsndfile, praatio, matplotlib) write to the
temporary path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from voxnb.errors import ParameterError

__all__ = ["atomic_path", "write_atomic"]


def _destination(path: str | os.PathLike) -> Path:
    """*path* checked as a place to write a file: not a folder, under a folder that can exist."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise ParameterError(
            f"path must be a file path (str or pathlib.Path); got a {type(path).__name__}", option="path"
        )
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip() or "\0" in text:
        raise ParameterError(f"path {text!r} is not a usable file name; pass e.g. 'talk.srt'", option="path")
    dest = Path(text).expanduser()
    if dest.is_symlink():  # write through the link, as a plain open() would, instead of replacing it
        dest = Path(os.path.realpath(dest))
    if dest.is_dir():
        raise ParameterError(
            f"{str(dest)!r} is a folder; pass the path of a file inside it, e.g. {str(dest / 'out')!r}",
            option="path",
        )
    for parent in dest.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ParameterError(
                    f"cannot write {str(dest)!r}: {str(parent)!r} is a file, not a folder", option="path"
                )
            break
    return dest


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """A temporary path next to *path* that replaces it when the block ends without error.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (its folder is created when missing).
    suffix : str
        Ending of the temporary name, for writers that choose the format from the extension.

    Yields
    ------
    pathlib.Path
        Write the complete file there; it becomes *path* after the block.

    Raises
    ------
    ParameterError
        *path* is a folder, lies under a file, or cannot be written (permissions, disk full).

    Examples
    --------
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("complete")
    >>> open(target).read()
    'complete'
    """
    dest = _destination(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name[:40]}.{secrets.token_hex(4)}.tmp{suffix}")
        # created empty with the default mode (umask applies), so the result has the permissions a
        # plain write would give it; an existing file keeps its own
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        if dest.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, dest.stat().st_mode & 0o7777)
    except OSError as err:
        raise ParameterError(
            f"cannot write {str(dest)!r}: {err.strerror or err}; choose a folder you can write to",
            option="path",
        ) from None
    try:
        yield tmp
        os.replace(tmp, dest)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ParameterError(
            f"cannot write {str(dest)!r}: {err.strerror or err}; the file that was there is unchanged. "
            "Free some space or choose another folder",
            option="path",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes, *, durable: bool = True) -> Path:
    """Write *data* (text as UTF-8, or bytes) to *path* all at once: whole, or not at all.

    Text is encoded before anything is touched, so text that cannot be written (a lone surrogate
    from a broken decoder) is refused with the old file left in place.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    data : str or bytes
        The content.
    durable : bool
        Flush the content to the disk before the rename (survives a power cut as well as a crash).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        Text that is not encodable as UTF-8, or a path that cannot be written.

    Examples
    --------
    >>> import tempfile, os
    >>> write_atomic(os.path.join(tempfile.mkdtemp(), "a.txt"), "hello").read_text()
    'hello'
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as err:
            bad = err.object[err.start : err.end]
            raise ParameterError(
                f"cannot write {os.fspath(path)!r}: the text holds {bad!r} at character {err.start} "
                "(a lone surrogate, left by a broken decoder), which no UTF-8 file can hold; clean the "
                "text first (e.g. s.encode('utf-8', 'replace').decode()). Nothing was written",
                option="path",
            ) from None
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError(f"write_atomic writes str or bytes, not {type(data).__name__}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    return Path(os.fspath(path))
