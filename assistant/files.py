"""Reading files named from outside (digests, configuration) with bounds: only regular files, and
never more than a limit, however the file presents itself."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class FileRefused(Exception):
    """A path that is not read: not a regular file, or over the size limit. The message is the reason."""


_READ_BLOCK = 1 << 20


def read_bounded(path: Path, max_bytes: int, what: str = "file", hint: str = "") -> bytes:
    """The bytes of `path`, which must be a regular file of at most `max_bytes`.

    Checked on the open file, not the path (a device or a FIFO reports size 0, and a path can be
    swapped between a check and the open): opened non-blocking, so a FIFO never waits for a
    writer, then `fstat` must say regular file, and the size is enforced while reading, so a file
    that grows (or lies) is never read past the limit."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on some systems
            raise FileRefused("a socket or pipe, not a regular file; only regular files are read") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "a directory" if stat.S_ISDIR(mode) else "a special file")
            raise FileRefused(f"{kind}, not a regular file; only regular files are read")
        os.set_blocking(fd, True)
        blocks, total = [], 0
        while True:
            block = os.read(fd, min(_READ_BLOCK, max_bytes + 1 - total))
            if not block:
                break
            blocks.append(block)
            total += len(block)
            if total > max_bytes:
                raise FileRefused(f"{what} is larger than the {max_bytes / 1e6:g} MB limit{hint}")
        return b"".join(blocks)
    finally:
        os.close(fd)
