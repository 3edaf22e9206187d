# IMAP-style UIDs per folder, kept in a sidecar file next to the messages.
#
# Each folder's Maildir holds `maillab-uidlist`, in the spirit of dovecot-uidlist:
#
#   3 V1764230000 N4          version, UIDVALIDITY, next UID to give
#   1 :1764230000123.M0P1R0a  one line per message: UID, ':', unique name
#
# A delivered message (or a file another tool drops into new/) gets the next UID when
# a scan first sees it: every reader (listing, UIDNEXT, POP3 login, IMAP SELECT) scans
# the folder under its lock and records new UIDs durably before it shows them, so
# delivery itself never touches the sidecar (as dovecot, whose UIDs are given when a
# reader first sees the folder). APPEND, COPY and MOVE, which must answer with the
# UIDs, scan and give them at once (uidlist_with). UIDs only grow
# and are never reused while UIDVALIDITY stays the same. The file is rewritten whole
# (temporary file, fsync, rename), always under the folder's lock: an exclusive flock
# on `maillab-uidlist.lock`, taken by every change to the folder, from any thread or
# process. A sidecar that does not parse is replaced with a new UIDVALIDITY, which
# tells IMAP clients to forget the old UIDs; the messages themselves are untouched.
from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from roles.mailserver.durable_files import fsync_directory, write_file_synced
from roles.mailserver.maildir_layout import arrival_key
from roles.mailserver.message_ids import new_message_name

log = logging.getLogger("mailserver")
UIDLIST = "maillab-uidlist"
UIDLIST_LOCK = "maillab-uidlist.lock"
UIDVALIDITY_FILE = "maillab-uidvalidity"  # in the mailbox root: the last value given
FORMAT_VERSION = "3"
# folder -> (version of its sidecar file, what it holds): a sidecar is parsed again only
# when another process (or thread) has replaced it since; read and written under the lock.
_parsed: dict[Path, tuple[tuple[int, int, int, int], UidList]] = {}


@dataclass
class UidList:
    """One folder's UIDVALIDITY, next UID and the UID of each message name."""

    uid_validity: int
    next_uid: int = 1
    uids: dict[str, int] = field(default_factory=dict)

    def add(self, name: str) -> int:
        """Give `name` the next UID (or return the one it has)."""
        if name not in self.uids:
            self.uids[name] = self.next_uid
            self.next_uid += 1
        return self.uids[name]

    def copy(self) -> UidList:
        """An independent copy."""
        return UidList(self.uid_validity, self.next_uid, dict(self.uids))

    def to_bytes(self) -> bytes:
        """The sidecar file's content."""
        lines = [f"{FORMAT_VERSION} V{self.uid_validity} N{self.next_uid}"]
        lines += [f"{uid} :{name}" for name, uid in sorted(self.uids.items(), key=lambda i: i[1])]
        return ("\n".join(lines) + "\n").encode("utf-8")


@contextmanager
def flocked(path: Path, shared: bool = False) -> Iterator[None]:
    """Hold an flock on `path` (created if missing) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def folder_lock(folder: Path) -> AbstractContextManager[None]:
    """The folder's lock: held by whoever changes its messages or its sidecar."""
    return flocked(folder / UIDLIST_LOCK)


def new_uid_validity(mailbox_root: Path) -> int:
    """A UIDVALIDITY larger than any given before in this mailbox (and near the clock)."""
    fd = os.open(mailbox_root / UIDVALIDITY_FILE, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.read(fd, 64).strip()
        value = max(int(time.time()), (int(text) if text.isdigit() else 0) + 1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{value}\n".encode("ascii"), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    return value


def read_uidlist(folder: Path) -> UidList | None:
    """The folder's sidecar (lock held), or None when it is missing or does not parse."""
    path = folder / UIDLIST
    try:
        version = _version_of(path)
    except FileNotFoundError:
        return None
    cached = _parsed.get(folder)
    if cached is not None and cached[0] == version:
        return cached[1].copy()
    try:
        uidlist = _parse(path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return None
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        log.warning("uidlist %s is damaged (%s); giving its folder a new UIDVALIDITY",
                    path, exc)
        return None
    _parsed[folder] = (version, uidlist.copy())
    return uidlist


def _parse(lines: list[str]) -> UidList:
    version, validity, next_uid = lines[0].split()
    if version != FORMAT_VERSION or validity[0] != "V" or next_uid[0] != "N":
        raise ValueError(f"unknown header {lines[0]!r}")
    uidlist = UidList(int(validity[1:]), int(next_uid[1:]))
    for line in lines[1:]:
        uid, _, name = line.partition(" :")
        uidlist.uids[name] = int(uid)
        if not name or int(uid) >= uidlist.next_uid:
            raise ValueError(f"bad line {line!r}")
    return uidlist


def _version_of(path: Path) -> tuple[int, int, int, int]:
    """What tells one sidecar file from its replacement (each rewrite is a new inode)."""
    status = os.stat(path)
    return status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def write_uidlist(folder: Path, uidlist: UidList) -> None:
    """Replace the folder's sidecar durably (call with the folder's lock held)."""
    temporary = folder / "tmp" / f"{UIDLIST}.{new_message_name()}"
    write_file_synced(temporary, uidlist.to_bytes())
    _parsed.pop(folder, None)
    os.replace(temporary, folder / UIDLIST)
    fsync_directory(folder)
    _parsed[folder] = (_version_of(folder / UIDLIST), uidlist.copy())


def uidlist_with(folder: Path, mailbox_root: Path, names: Iterable[str],
                 scan: Callable[[], Iterable[str]], keep_order: bool = False) -> UidList:
    """The sidecar with the newly placed `names` (APPEND, COPY, MOVE) added (lock held):
    the folder is first brought in line with everything else on disk (deliveries not
    seen yet get their UIDs before these), then `names` get the next UIDs, in arrival
    order or in the order given with `keep_order` (COPY: UIDs follow the source's)."""
    placed = list(names)
    others = set(scan()) - set(placed)
    uidlist = synced_uidlist(folder, mailbox_root, others, write=False)
    for name in placed if keep_order else sorted(placed, key=arrival_key):
        uidlist.add(name)
    write_uidlist(folder, uidlist)
    return uidlist


def synced_uidlist(folder: Path, mailbox_root: Path, names: Iterable[str],
                   write: bool = True) -> UidList:
    """The sidecar brought in line with the messages on disk `names` (lock held);
    written back when it changed, unless `write` is False (the caller writes it)."""
    uidlist = read_uidlist(folder)
    changed = uidlist is None
    if uidlist is None:
        uidlist = UidList(new_uid_validity(mailbox_root))
    on_disk = set(names)
    for gone in [name for name in uidlist.uids if name not in on_disk]:
        del uidlist.uids[gone]
        changed = True
    for name in sorted(on_disk - uidlist.uids.keys(), key=arrival_key):
        uidlist.add(name)
        changed = True
    if changed and write:
        write_uidlist(folder, uidlist)
    return uidlist
