# Messages an IMAP client puts into folders: APPEND, COPY and MOVE on the Maildir store.
#
# Between the folder tree (mailbox_folders.py) and the full store (mailbox_store.py).
# A message's internal date (IMAP INTERNALDATE) is its file's mtime, the Maildir
# convention: the delivery time, or the date-time an APPEND gives (set before the file
# is fsynced and renamed into place; a rename keeps it).
# Where a new message lands: new/ when it has no flags (so it is \Recent to the next
# session, see mailbox_store.claim_recent), cur/ with its flags otherwise.
# COPY hard-links each source file into the target's tmp/ under a new unique name,
# holding only the source folder's lock, then, under the target folder's lock only,
# renames the links into place and gives them UIDs in the order asked: two folder
# locks are never held together, so COPY A->B and B->A cannot deadlock. The copy
# keeps flags and internal date (same inode; flags live in the name, so they part
# ways at the next change).
# MOVE is COPY, durable, then deleting the sources: a crash between the two leaves the
# message in both folders, never in neither (a crash inside COPY may leave a link in
# the target's tmp/, which no listing shows).
# A copy lands where its source is: new/ (\Recent to the target's next session) or cur/.
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from roles.mailserver.durable_files import fsync_directory, write_file_synced
from roles.mailserver.mailbox_folders import MaildirFolderTree
from roles.mailserver.maildir_flags import Flag, file_name_with_flags, split_file_name
from roles.mailserver.maildir_layout import (
    check_message_name,
    message_files,
    sized_name,
    to_disk,
    wire_size,
)
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import StoredMessage
from roles.mailserver.uid_sidecar import folder_lock, synced_uidlist, uidlist_with

# (source UID, new unique name, flag info of the source file)
_Linked = tuple[int, str, str]


class MaildirTransfers(MaildirFolderTree):
    """APPEND, COPY and MOVE for Maildir++ mailboxes (with their folder tree)."""

    def append(self, address: str, folder: str, data: bytes,
               flags: Iterable[Flag] = (), internal_date: float | None = None) -> StoredMessage:
        """Store a message durably with `flags` and internal date (default now); return it."""
        flag_set = frozenset(flags)
        with self._folder(address, folder) as (root, path):
            stored = to_disk(data)
            name = sized_name(new_message_name(), stored)
            temporary = path / "tmp" / name
            write_file_synced(temporary, stored)
            if internal_date is not None:
                os.utime(temporary, (internal_date, internal_date))
                _fsync_file(temporary)
            ((placed, uid),) = self._place(root, path, [(0, name, "")], flag_set)
            size, when = wire_size(placed), placed.stat().st_mtime
        self.events.notify(address, folder)
        return StoredMessage(name, uid, size, flag_set, when)

    def copy(self, address: str, folder: str, ids: Iterable[str],
             target: str) -> list[tuple[int, int]]:
        """Copy messages (flags and internal date kept); return (old UID, new UID) pairs in
        the order of `ids`; ids of messages no longer there are skipped."""
        wanted = [check_message_name(message_id) for message_id in ids]
        with self._folder(address, folder) as (root, source):
            target_path = self._existing_folder(root, address, target)
            linked = self._link(root, source, target_path, wanted)
            placed = self._place(root, target_path, linked, None)
        if linked:
            self.events.notify(address, target)
        return [(item[0], uid) for item, (_, uid) in zip(linked, placed, strict=True)]

    def move(self, address: str, folder: str, ids: Iterable[str],
             target: str) -> list[tuple[int, int]]:
        """Copy messages durably, then delete them from `folder`; return the UID pairs."""
        wanted = [check_message_name(message_id) for message_id in ids]
        pairs = self.copy(address, folder, wanted, target)
        with self._folder(address, folder) as (_, source), folder_lock(source):
            files = message_files(source)
            doomed = [files[name] for name in wanted if name in files]
            for file in doomed:
                file.unlink()
            for part in {file.parent for file in doomed}:
                fsync_directory(part)
        if doomed:
            self.events.notify(address, folder)
        return pairs

    @staticmethod
    def _link(root: Path, source: Path, target: Path, wanted: list[str]) -> list[_Linked]:
        """Link each wanted message of `source` into target/tmp/ (source lock held)."""
        linked: list[_Linked] = []
        with folder_lock(source):
            files = message_files(source)
            uids = synced_uidlist(source, root, files).uids
            for name in wanted:
                file = files.get(name)
                if file is None:
                    continue
                _, info = split_file_name(file.name)
                size_suffix = name[name.index(","):] if ",S=" in name else ""
                new_name = new_message_name() + size_suffix
                copy = target / "tmp" / new_name
                try:
                    os.link(file, copy)
                except OSError:
                    shutil.copy2(file, copy)
                    _fsync_file(copy)
                linked.append((uids[name], new_name, info))
        return linked

    @staticmethod
    def _place(root: Path, path: Path, items: list[_Linked],
               flags: frozenset[Flag] | None) -> list[tuple[Path, int]]:
        """Rename tmp/ files into new/ (no flags) or cur/ (with `flags`, or each file's own
        when None) and give them UIDs in order; return (file, UID) of each."""
        placed: list[Path] = []
        with folder_lock(path):
            for _, name, info in items:
                if flags is not None:
                    info = file_name_with_flags(name, "", flags).partition(":")[2] if flags else ""
                in_cur = info.startswith("2,")
                destination = path / "cur" / f"{name}:{info}" if in_cur else path / "new" / name
                os.replace(path / "tmp" / name, destination)
                placed.append(destination)
            for part in {file.parent for file in placed}:
                fsync_directory(part)
            if not items:
                return []
            uids = uidlist_with(path, root, [item[1] for item in items],
                                lambda: message_files(path), keep_order=True).uids
            return [(file, uids[item[1]]) for file, item in zip(placed, items, strict=True)]


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
