# Where each message's file is, per Maildir folder: a hint, checked on every use.
#
# A message's file name changes whenever its flags do (cur/<id>:2,FS), so finding it by
# id means looking in new/ and cur/. Scanning cur/ for every RETR or FETCH costs a
# listing per message, quadratic over a mailbox read whole. The index remembers the
# file each message was last seen in (from a folder listing, or from our own renames);
# a hint is trusted only if that file still exists (one stat), else the folder is
# scanned once and the whole index of that folder refreshed. File names are unique
# (maildir_layout), so an existing hinted file is the message, whatever else changed:
# another process renaming it only costs a rescan. Callers hold the folder's lock.
# Hints are kept as path strings: a listing of a large folder makes no Path per file.
from __future__ import annotations

import os
import threading
from pathlib import Path

from roles.mailserver.maildir_layout import message_entries

READ_CHUNK = 65536


class MessageFileIndex:
    """Message id -> the file last seen holding it, per folder path."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[str, str]] = {}
        self._lock = threading.Lock()

    def remember(self, folder: Path, files: dict[str, str]) -> None:
        """A fresh listing of `folder`: each message's file path."""
        with self._lock:
            self._folders[folder] = dict(files)

    def moved(self, folder: Path, message_id: str, file: str) -> None:
        """`message_id` is now in `file` (our own rename)."""
        with self._lock:
            self._folders.setdefault(folder, {})[message_id] = file

    def forget(self, folder: Path, message_id: str) -> None:
        """`message_id` is gone from `folder`."""
        with self._lock:
            self._folders.get(folder, {}).pop(message_id, None)

    def find(self, folder: Path, message_id: str) -> str:
        """The path of the file holding `message_id` in `folder`; KeyError when none."""
        hint = self._hint(folder, message_id)
        if hint is not None and os.path.isfile(hint):
            return hint
        return self._rescanned(folder, message_id)

    def read(self, folder: Path, message_id: str) -> bytes:
        """The bytes of the file holding `message_id` (opened straight from the hint: no
        stat first); KeyError when there is no such message."""
        hint = self._hint(folder, message_id)
        if hint is not None:
            try:
                return read_whole(hint)
            except FileNotFoundError:
                pass
        return read_whole(self._rescanned(folder, message_id))

    def _hint(self, folder: Path, message_id: str) -> str | None:
        with self._lock:
            return self._folders.get(folder, {}).get(message_id)

    def _rescanned(self, folder: Path, message_id: str) -> str:
        files = {name: entry.path for name, entry in message_entries(folder).items()}
        self.remember(folder, files)
        try:
            return files[message_id]
        except KeyError:
            raise KeyError(f"no message {message_id}") from None


def read_whole(path: str) -> bytes:
    """A file's bytes, read to its end with plain system calls (no file object: no fstat
    or isatty check per message). A message file is a regular file, whose read comes
    back short only at its end: a message below READ_CHUNK costs one read, not two."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunk = os.read(fd, READ_CHUNK)
        if len(chunk) < READ_CHUNK:
            return chunk
        chunks = [chunk]
        while chunk := os.read(fd, READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
