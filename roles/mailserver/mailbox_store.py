# The mailbox store: every user's folders, messages, UIDs and flags, in Maildir++.
#
# Used by local delivery, POP3, IMAP and webmail, behind the Mailboxes Protocol of
# storage.py. Layout and name checks are in maildir_layout.py, UIDs in uid_sidecar.py,
# flags in maildir_flags.py, the folder tree and subscriptions in mailbox_folders.py,
# APPEND/COPY/MOVE in mailbox_transfer.py; this module holds the message operations,
# under two locks:
#   - the mailbox's folder-tree lock (`maillab-folders.lock` in its root), shared by
#     every message operation, exclusive for creating, renaming or deleting folders;
#   - each folder's lock (uid_sidecar.folder_lock), exclusive for any change to it.
# Delivery writes tmp/<name> (LF line endings, see maildir_layout.py) and fsyncs it,
# then, under the folder's lock, renames it into new/ and fsyncs new/: when deliver()
# returns it is on disk. Its UID is given by the next reader's scan (uid_sidecar.py),
# so a delivery costs two fsyncs. Concurrent deliveries to one folder share the second
# step (durable_files.GroupCommit): one lock and one fsync of new/ for the whole batch.
# Readers open files under the folder's lock, so a concurrent flag change (a rename)
# or deletion never makes a listed message unreadable half-way.
# Every change is announced on self.events (mailbox_events.py) once durable.
# \Recent (IMAP): a message is recent while it sits in new/; claim_recent() moves the
# folder's new/ messages to cur/ and returns them, so exactly one IMAP session (the
# one that SELECTs first after the arrival) sees each message as \Recent. Delivery,
# APPEND and COPY without flags put messages in new/; any flag change moves to cur/.
from __future__ import annotations

import builtins
import functools
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from roles.mailserver.durable_files import (
    GroupCommit,
    fsync_directory,
    write_file_synced,
)
from roles.mailserver.mailbox_events import MailboxEvents
from roles.mailserver.mailbox_transfer import MaildirTransfers
from roles.mailserver.maildir_flags import (
    INFO_PREFIX,
    Flag,
    file_name_with_flags,
    flags_of,
    split_file_name,
)
from roles.mailserver.maildir_layout import (
    INBOX,
    check_message_name,
    from_disk,
    message_entries,
    sized_name,
    to_disk,
    wire_size,
)
from roles.mailserver.message_file_index import MessageFileIndex
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import FlagChange, StoredMessage
from roles.mailserver.uid_sidecar import (
    folder_lock,
    read_uidlist,
    synced_uidlist,
)

log = logging.getLogger("mailserver")


class MaildirMailboxes(MaildirTransfers):
    """Mailboxes stored as one Maildir++ tree per address under `directory`."""

    def __init__(self, directory: Path, events: MailboxEvents | None = None) -> None:
        super().__init__(directory, events)
        self._commits: dict[Path, GroupCommit[str]] = {}  # folder -> its deliveries' commits
        self._commits_lock = threading.Lock()
        self._files = MessageFileIndex()  # where each message's file was last seen

    def deliver(self, address: str, data: bytes, folder: str = INBOX) -> str:
        """Store a message durably in new/ of an existing folder; return its id."""
        stored = to_disk(data)
        name = sized_name(new_message_name(), stored)
        try:
            self._deliver_file(address, folder, name, stored)
        except FileNotFoundError:  # the mailbox was removed from outside: make it again
            self.forget_mailbox(address)
            self._deliver_file(address, folder, name, stored)
        self.events.notify(address, folder)
        log.debug("stored id=%s folder=%s mailbox=%s", name, folder, address)
        return name

    def _deliver_file(self, address: str, folder: str, name: str, stored: bytes) -> None:
        with self._folder(address, folder) as (_, path):
            write_file_synced(path / "tmp" / name, stored)
            self._commits_of(path).submit(name)

    def _commits_of(self, path: Path) -> GroupCommit[str]:
        """The folder's group commit of deliveries (made on first use)."""
        with self._commits_lock:
            commits = self._commits.get(path)
            if commits is None:
                commits = GroupCommit(functools.partial(self._move_to_new, path))
                self._commits[path] = commits
            return commits

    @staticmethod
    def _move_to_new(path: Path, names: builtins.list[str]) -> None:
        """Move fsynced files from tmp/ to new/ and fsync new/ (their UIDs come with the
        next scan); under the folder's lock, so no reader sees one before it is durable."""
        with folder_lock(path):
            for name in names:
                os.replace(path / "tmp" / name, path / "new" / name)
            fsync_directory(path / "new")

    def list(self, address: str, folder: str = INBOX) -> list[StoredMessage]:
        """The folder's messages in UID order."""
        with self._folder(address, folder) as (root, path), folder_lock(path):
            entries = message_entries(path)
            self._files.remember(path, {name: entry.path for name, entry in entries.items()})
            uids = synced_uidlist(path, root, entries).uids
            listing = []
            for name, entry in entries.items():
                _, info = split_file_name(entry.name)
                listing.append(StoredMessage(name, uids[name], wire_size(entry), flags_of(info),
                                             entry.stat().st_mtime))
        return sorted(listing, key=lambda message: message.uid)

    def read(self, address: str, message_id: str, folder: str = INBOX) -> bytes:
        """The raw message; KeyError when there is no such message."""
        found = self.read_many(address, [message_id], folder)
        if message_id not in found:
            raise KeyError(f"no message {message_id} in folder {folder} of {address}")
        return found[message_id]

    def read_many(self, address: str, message_ids: Iterable[str],
                  folder: str = INBOX) -> dict[str, bytes]:
        """The raw messages among `message_ids` still in the folder, read under the
        folder's lock (none moves away meanwhile); each found where the file index saw
        it last."""
        found: dict[str, bytes] = {}
        with self._folder(address, folder) as (_, path), folder_lock(path):
            for message_id in message_ids:
                name = check_message_name(message_id)
                try:
                    found[name] = from_disk(self._files.read(path, name))
                except (KeyError, FileNotFoundError):  # gone since it was listed
                    continue
        return found

    def delete(self, address: str, message_id: str, folder: str = INBOX) -> None:
        """Remove a message and fsync its folder; KeyError when there is no such message."""
        if not self.delete_messages(address, [message_id], folder):
            raise KeyError(f"no message {message_id} in folder {folder} of {address}")

    def delete_messages(self, address: str, message_ids: Iterable[str],
                        folder: str = INBOX) -> builtins.list[str]:
        """Remove messages (one fsync per directory for all); the ids that were removed."""
        ids = [check_message_name(message_id) for message_id in message_ids]
        removed, touched = [], set()
        with self._folder(address, folder) as (_, path), folder_lock(path):
            for message_id in ids:
                try:
                    file = self._files.find(path, message_id)
                except KeyError:
                    continue
                os.unlink(file)
                self._files.forget(path, message_id)
                removed.append(message_id)
                touched.add(os.path.dirname(file))
            for directory in touched:
                fsync_directory(Path(directory))
        if removed:
            self.events.notify(address, folder)
        return removed

    def set_flags(self, address: str, message_id: str, flags: Iterable[Flag],
                  folder: str = INBOX, how: FlagChange = "replace") -> frozenset[Flag]:
        """Replace, add or remove flags (the message moves to cur/); return the new set."""
        changed = self.change_flags(address, [message_id], flags, folder, how)
        if message_id not in changed:
            raise KeyError(f"no message {message_id} in folder {folder} of {address}")
        return changed[message_id]

    def change_flags(self, address: str, message_ids: Iterable[str], flags: Iterable[Flag],
                     folder: str = INBOX, how: FlagChange = "replace",
                     ) -> dict[str, frozenset[Flag]]:
        """set_flags on many messages (one fsync per directory for all); each found id's
        new flags (ids no longer there are left out)."""
        ids, given = [check_message_name(message_id) for message_id in message_ids], \
            frozenset(flags)
        changed: dict[str, frozenset[Flag]] = {}
        touched: set[str] = set()  # paths as strings: no Path made per message
        with self._folder(address, folder) as (_, path), folder_lock(path):
            cur = os.path.join(path, "cur")
            for message_id in ids:
                try:
                    current = self._files.find(path, message_id)
                except KeyError:
                    continue
                _, info = split_file_name(os.path.basename(current))
                old = flags_of(info)
                new = {"replace": given, "add": old | given, "remove": old - given}[how]
                target = os.path.join(cur, file_name_with_flags(message_id, info, new))
                if target != current:
                    os.replace(current, target)
                    self._files.moved(path, message_id, target)
                    touched |= {os.path.dirname(current), cur}
                changed[message_id] = new
            for directory in touched:
                fsync_directory(Path(directory))
        if changed:
            self.events.notify(address, folder)
        return changed

    def uid_validity(self, address: str, folder: str = INBOX) -> int:
        """The folder's UIDVALIDITY (the folder is scanned only when its sidecar is missing)."""
        with self._folder(address, folder) as (root, path), folder_lock(path):
            uidlist = read_uidlist(path) or synced_uidlist(path, root, message_entries(path))
            return uidlist.uid_validity

    def uid_next(self, address: str, folder: str = INBOX) -> int:
        """The UID the folder's next message will get (messages dropped in counted)."""
        with self._folder(address, folder) as (root, path), folder_lock(path):
            return synced_uidlist(path, root, message_entries(path)).next_uid

    def claim_recent(self, address: str, folder: str = INBOX) -> frozenset[str]:
        """Move the folder's new/ messages to cur/ and return their ids (\\Recent to the
        caller only: the next caller gets only messages arrived since)."""
        with self._folder(address, folder) as (_, path), folder_lock(path):
            with os.scandir(path / "new") as entries:
                fresh = [entry.name for entry in entries if entry.is_file()
                         and not entry.name.startswith(".") and ":" not in entry.name]
            for name in fresh:
                os.replace(path / "new" / name, path / "cur" / f"{name}{INFO_PREFIX}")
            if fresh:
                fsync_directory(path / "cur")
                fsync_directory(path / "new")
        return frozenset(fresh)

    def _find(self, path: Path, message_id: str, address: str, folder: str) -> Path:
        try:
            return Path(self._files.find(path, message_id))
        except KeyError:
            raise KeyError(f"no message {message_id} in folder {folder} of {address}") from None
