"""Writing a file so that a failure never destroys what was there: ``atomic_write``.

A saved model, a drawing, an animation: a user cares about the file, and a plain ``open(path, "w")``
empties it first, so a full disk, a quota or an interrupted write leaves neither the old file nor the
new one. ``atomic_write`` writes the new content to a temporary file in the same folder, flushes it
and fsyncs it to the disk, then renames it over the target with ``os.replace`` (atomic on POSIX and
Windows): the target is the old file until the rename and the whole new one after it. On a failure
the temporary file is removed and the old file is untouched.

A target that exists and is not a regular file (a device such as ``/dev/stdout`` or ``/dev/null``, a
named pipe) is written in place: renaming a file over it would replace the device with a file, and
the point of writing there is the device. A symbolic link is followed: the file it points to is
replaced, and the link stays a link.

Used by ``nn.save`` (and so ``chainrule train --save``), ``nn.plot_history`` and
``nn.plot_decision_regions``, and the drawings' and animations' ``save``. ``autograd`` never imports
``nn``; ``nn`` imports this module.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Union

__all__ = ["atomic_write"]

# The temporary file's name keeps a short piece of the target's, so that a stray one (after a crash
# of the machine between creating and renaming it) says what it was, without passing the file system's
# limit on a name's length (255 bytes) for a long target name.
_NAME_PIECE = 40


def atomic_write(path: Union[str, os.PathLike], data: Union[bytes, str], *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of ``data``.

    Args:
        path: the file to write (created, or replaced whole). A device or pipe is written in place.
        data: bytes, or a str (encoded with ``encoding``).
        encoding: the encoding of a str ``data``.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OSError: the file cannot be written (no such folder, no permission, the disk is full, the name
            is too long, ...). Nothing is left behind, and an existing file keeps its old content.
        TypeError: ``data`` is neither bytes nor str.
    """
    if isinstance(data, str):
        payload = data.encode(encoding)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        payload = bytes(data)
    else:
        raise TypeError(f"atomic_write() writes bytes or a str, got {type(data).__name__}")
    target = Path(path)
    try:
        status = os.stat(target)  # follows a symbolic link to what it points to
    except FileNotFoundError:
        status = None
    if status is not None and not stat.S_ISREG(status.st_mode):
        _write_in_place(target, payload)
        return target
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    temporary = _write_temporary(real, payload, None if status is None else stat.S_IMODE(status.st_mode))
    try:
        os.replace(temporary, real)
    except BaseException:
        _remove(temporary)
        raise
    _sync_folder(real.parent)
    return target


def _write_in_place(target: Path, payload: bytes) -> None:
    """A device or a pipe: open it for writing and write, as any program would; nothing to replace."""
    with open(target, "wb") as stream:
        stream.write(payload)
        stream.flush()


def _write_temporary(real: Path, payload: bytes, mode: int | None) -> Path:
    """A new file beside ``real`` holding ``payload``, flushed and fsynced; removed again on failure.

    It gets ``mode`` (the replaced file's permissions) or, for a new file, what ``open`` would give
    (0o666 less the umask, applied by the system).
    """
    folder = real.parent
    for _ in range(100):
        temporary = folder / f".{real.name[:_NAME_PIECE]}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - a hundred random names taken
        raise FileExistsError(f"cannot make a temporary file in {str(folder)!r}")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the system allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
