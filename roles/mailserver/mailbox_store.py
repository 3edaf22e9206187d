# The mailbox store: every user's folders, messages, UIDs and flags, in Maildir++.
#
# Used by local delivery, POP3 and (later) IMAP, behind the Mailboxes Protocol of
# storage.py. Layout and name checks are in maildir_layout.py, UIDs in uid_sidecar.py,
# flags in maildir_flags.py; this module puts them together under two locks:
#   - the mailbox's folder-tree lock (`maillab-folders.lock` in its root), shared by
#     every message operation, exclusive for creating, renaming or deleting folders;
#   - each folder's lock (uid_sidecar.folder_lock), exclusive for any change to it.
# Delivery writes tmp/<name> (LF line endings, see maildir_layout.py) and fsyncs it,
# then, under the folder's lock, renames it into new/, fsyncs new/ and records its
# UID: when deliver() returns it is on disk. Concurrent deliveries to one folder share
# that second step (durable_files.GroupCommit): one lock, one fsync of new/ and one
# sidecar rewrite for the whole batch.
# Readers open files under the folder's lock, so a concurrent flag change (a rename)
# or deletion never makes a listed message unreadable half-way.
from __future__ import annotations

import builtins
import functools
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from roles.mailserver.durable_files import (
    GroupCommit,
    fsync_directory,
    remove_durably,
    write_file_synced,
)
from roles.mailserver.maildir_flags import Flag, file_name_with_flags, flags_of, split_file_name
from roles.mailserver.maildir_layout import (
    INBOX,
    PROTECTED_FOLDERS,
    check_deletable,
    check_folder_name,
    check_message_name,
    find_message,
    folder_path,
    from_disk,
    is_maildir,
    mailbox_root,
    make_maildir,
    message_files,
    plan_rename,
    sized_name,
    subfolder_names,
    to_disk,
    wire_size,
)
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.storage import FlagChange, StoredMessage
from roles.mailserver.uid_sidecar import (
    flocked,
    folder_lock,
    read_uidlist,
    synced_uidlist,
    uidlist_with,
)

log = logging.getLogger("mailserver")
FOLDER_TREE_LOCK = "maillab-folders.lock"


class MaildirMailboxes:
    """Mailboxes stored as one Maildir++ tree per address under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._commits: dict[Path, GroupCommit[str]] = {}  # folder -> its deliveries' commits
        self._commits_lock = threading.Lock()

    def deliver(self, address: str, data: bytes, folder: str = INBOX) -> str:
        """Store a message durably in new/ of an existing folder; return its id."""
        with self._folder(address, folder) as (root, path):
            stored = to_disk(data)
            name = sized_name(new_message_name(), stored)
            write_file_synced(path / "tmp" / name, stored)
            self._commits_of(root, path).submit(name)
        log.debug("stored id=%s folder=%s mailbox=%s", name, folder, address)
        return name

    def _commits_of(self, root: Path, path: Path) -> GroupCommit[str]:
        """The folder's group commit of deliveries (made on first use)."""
        with self._commits_lock:
            commits = self._commits.get(path)
            if commits is None:
                commits = GroupCommit(functools.partial(self._move_to_new, root, path))
                self._commits[path] = commits
            return commits

    @staticmethod
    def _move_to_new(root: Path, path: Path, names: builtins.list[str]) -> None:
        """Move fsynced files from tmp/ to new/, fsync new/ and give them UIDs, durably."""
        with folder_lock(path):
            for name in names:
                os.replace(path / "tmp" / name, path / "new" / name)
            fsync_directory(path / "new")
            uidlist_with(path, root, names, lambda: message_files(path))

    def list(self, address: str, folder: str = INBOX) -> list[StoredMessage]:
        """The folder's messages in UID order."""
        with self._folder(address, folder) as (root, path), folder_lock(path):
            files = message_files(path)
            uids = synced_uidlist(path, root, files).uids
            listing = []
            for name, file in files.items():
                _, info = split_file_name(file.name)
                listing.append(StoredMessage(name, uids[name], wire_size(file), flags_of(info)))
        return sorted(listing, key=lambda message: message.uid)

    def read(self, address: str, message_id: str, folder: str = INBOX) -> bytes:
        """The raw message; KeyError when there is no such message."""
        check_message_name(message_id)
        with self._folder(address, folder) as (_, path):
            with folder_lock(path):
                opened = self._find(path, message_id, address, folder).open("rb")
            with opened:
                return from_disk(opened.read())

    def delete(self, address: str, message_id: str, folder: str = INBOX) -> None:
        """Remove a message and fsync its folder; KeyError when there is no such message."""
        check_message_name(message_id)
        with self._folder(address, folder) as (_, path), folder_lock(path):
            remove_durably(self._find(path, message_id, address, folder))

    def set_flags(self, address: str, message_id: str, flags: Iterable[Flag],
                  folder: str = INBOX, how: FlagChange = "replace") -> frozenset[Flag]:
        """Replace, add or remove flags (the message moves to cur/); return the new set."""
        check_message_name(message_id)
        with self._folder(address, folder) as (_, path), folder_lock(path):
            current = self._find(path, message_id, address, folder)
            _, info = split_file_name(current.name)
            old, given = flags_of(info), frozenset(flags)
            new = {"replace": given, "add": old | given, "remove": old - given}[how]
            target = path / "cur" / file_name_with_flags(message_id, info, new)
            if target != current:
                os.replace(current, target)
                fsync_directory(target.parent)
                if current.parent != target.parent:
                    fsync_directory(current.parent)
        return new

    def uid_validity(self, address: str, folder: str = INBOX) -> int:
        """The folder's UIDVALIDITY (the folder is scanned only when its sidecar is missing)."""
        with self._folder(address, folder) as (root, path), folder_lock(path):
            uidlist = read_uidlist(path) or synced_uidlist(path, root, message_files(path))
            return uidlist.uid_validity

    def folders(self, address: str) -> builtins.list[str]:
        """INBOX first, then the other folders sorted."""
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK, shared=True):
            return [INBOX, *subfolder_names(root)]

    def create_folder(self, address: str, folder: str) -> None:
        """Create an empty folder; ValueError when it exists already."""
        name = check_folder_name(folder)
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK):
            if name == INBOX or is_maildir(folder_path(root, name)):
                raise ValueError(f"folder {name!r} exists already in mailbox {address}")
            self._make_folder(root, name)

    def rename_folder(self, address: str, folder: str, new_name: str) -> None:
        """Rename a folder with the folders below it; ValueError for protected or taken names."""
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK):
            for old, new in plan_rename(subfolder_names(root), folder, new_name, address):
                os.rename(folder_path(root, old), folder_path(root, new))
            fsync_directory(root)

    def delete_folder(self, address: str, folder: str) -> None:
        """Delete a folder and its messages; ValueError for protected folders or parents."""
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK):
            name = check_deletable(subfolder_names(root), folder, address)
            doomed = root / f"maillab-deleting.{secrets.token_hex(6)}"
            os.rename(folder_path(root, name), doomed)
            fsync_directory(root)
            shutil.rmtree(doomed)

    @contextmanager
    def _folder(self, address: str, folder: str) -> Iterator[tuple[Path, Path]]:
        """(mailbox root, folder Maildir) of an existing folder, the folder tree held."""
        name = check_folder_name(folder)
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK, shared=True):
            path = folder_path(root, name)
            if name != INBOX and not is_maildir(path):
                raise KeyError(f"no folder {name!r} in mailbox {address}")
            yield root, path

    def _mailbox(self, address: str) -> Path:
        """The mailbox root of `address`, made with INBOX, Sent, Junk and Trash if new."""
        root = mailbox_root(self.directory, address)
        if not all(is_maildir(folder_path(root, f)) for f in PROTECTED_FOLDERS):
            root.mkdir(exist_ok=True)
            with flocked(root / FOLDER_TREE_LOCK):
                for folder in PROTECTED_FOLDERS:
                    self._make_folder(root, folder)
        return root

    @staticmethod
    def _make_folder(root: Path, name: str) -> None:
        path = folder_path(root, name)
        if make_maildir(path, subfolder=name != INBOX):
            with folder_lock(path):
                synced_uidlist(path, root, ())  # UIDVALIDITY given at creation

    @staticmethod
    def _find(path: Path, message_id: str, address: str, folder: str) -> Path:
        try:
            return find_message(path, message_id)
        except KeyError:
            raise KeyError(f"no message {message_id} in folder {folder} of {address}") from None
