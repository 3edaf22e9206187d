# Writing files so that they survive a crash: data fsync, atomic rename, directory fsync.
#
# Used by the disk queue and the Maildir store before the server answers 250.
from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (creations, renames, unlinks) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_synced(path: Path, data: bytes) -> None:
    """Create `path` (which must not exist) with `data` and fsync the file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(temporary: Path, final: Path, data: bytes) -> None:
    """Write `data` to `temporary`, fsync it, rename it to `final`, fsync the folder(s)."""
    write_file_synced(temporary, data)
    os.replace(temporary, final)
    fsync_directory(final.parent)
    if temporary.parent != final.parent:
        fsync_directory(temporary.parent)


def remove_durably(path: Path) -> None:
    """Unlink `path` and fsync its folder."""
    path.unlink()
    fsync_directory(path.parent)
