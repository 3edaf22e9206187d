# The folder tree of each user's mailbox: which folders exist, creating, renaming and
# deleting them, and the folders the user subscribes to (IMAP SUBSCRIBE/LSUB).
#
# The base of the Maildir mailbox store (mailbox_store.py), which adds the messages.
# The mailbox's folder-tree lock (`maillab-folders.lock` in its root) is shared by
# every message operation and exclusive for any change to the tree.
# Subscriptions live in `subscriptions` in the mailbox root, in Dovecot's format (so
# either server sees the other's): `V<TAB>2`, an empty line, then one folder name a line
# with TAB for the hierarchy separator '.' (Dovecot's older format, one plain name a
# line, is read too). While the file does not exist the user is subscribed to INBOX,
# Sent, Junk and Trash. As in Dovecot (and RFC 3501 6.3.6), a subscription is to a name: renaming
# or deleting a folder leaves the subscriptions file alone, so LSUB may list a name
# that no longer exists (the IMAP session marks it \NonExistent).
from __future__ import annotations

import builtins
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from roles.mailserver.durable_files import fsync_directory, write_file_synced
from roles.mailserver.mailbox_events import MailboxEvents
from roles.mailserver.maildir_layout import (
    INBOX,
    PROTECTED_FOLDERS,
    SEPARATOR,
    check_deletable,
    check_folder_name,
    folder_path,
    is_maildir,
    mailbox_root,
    make_maildir,
    plan_rename,
    subfolder_names,
)
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.uid_sidecar import flocked, folder_lock, synced_uidlist

FOLDER_TREE_LOCK = "maillab-folders.lock"
SUBSCRIPTIONS = "subscriptions"
SUBSCRIPTIONS_HEADER = "V\t2\n\n"


class MaildirFolderTree:
    """The folders of Maildir++ mailboxes under `directory`, and their subscriptions."""

    def __init__(self, directory: Path, events: MailboxEvents | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.events = events or MailboxEvents()
        self._complete: set[Path] = set()  # mailbox roots seen with every protected folder

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
            moves = plan_rename(subfolder_names(root), folder, new_name, address)
            for old, new in moves:
                os.rename(folder_path(root, old), folder_path(root, new))
            fsync_directory(root)
        for old, _ in moves:
            self.events.notify(address, old)

    def delete_folder(self, address: str, folder: str) -> None:
        """Delete a folder and its messages; ValueError for protected folders or parents."""
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK):
            name = check_deletable(subfolder_names(root), folder, address)
            doomed = root / f"maillab-deleting.{secrets.token_hex(6)}"
            os.rename(folder_path(root, name), doomed)
            fsync_directory(root)
            shutil.rmtree(doomed)
        self.events.notify(address, name)

    def subscriptions(self, address: str) -> builtins.list[str]:
        """The folder names the user subscribes to, in the order subscribed."""
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK, shared=True):
            return self._read_subscriptions(root)

    def subscribe(self, address: str, folder: str) -> None:
        """Subscribe to a folder name (it need not exist, RFC 3501 6.3.6); durable."""
        self._change_subscriptions(address, folder, subscribe=True)

    def unsubscribe(self, address: str, folder: str) -> None:
        """Unsubscribe from a folder name; KeyError when not subscribed."""
        self._change_subscriptions(address, folder, subscribe=False)

    def _change_subscriptions(self, address: str, folder: str, subscribe: bool) -> None:
        name = check_folder_name(folder)
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK):
            names = self._read_subscriptions(root)
            if subscribe and name not in names:
                names.append(name)
            elif not subscribe:
                if name not in names:
                    raise KeyError(f"{address} is not subscribed to {name!r}")
                names.remove(name)
            temporary = root / "tmp" / f"{SUBSCRIPTIONS}.{new_message_name()}"
            text = SUBSCRIPTIONS_HEADER + "".join(f"{n}\n" for n in names).replace(
                SEPARATOR, "\t")
            write_file_synced(temporary, text.encode("utf-8"))
            os.replace(temporary, root / SUBSCRIPTIONS)
            fsync_directory(root)

    @staticmethod
    def _read_subscriptions(root: Path) -> builtins.list[str]:
        try:
            text = (root / SUBSCRIPTIONS).read_text(encoding="utf-8")
        except FileNotFoundError:
            return list(PROTECTED_FOLDERS)
        if text.startswith(SUBSCRIPTIONS_HEADER):
            text = text[len(SUBSCRIPTIONS_HEADER):].replace("\t", SEPARATOR)
        return [line for line in text.splitlines() if line]

    @contextmanager
    def _folder(self, address: str, folder: str) -> Iterator[tuple[Path, Path]]:
        """(mailbox root, folder Maildir) of an existing folder, the folder tree held."""
        name = check_folder_name(folder)
        root = self._mailbox(address)
        with flocked(root / FOLDER_TREE_LOCK, shared=True):
            yield root, self._existing_folder(root, address, name)

    @staticmethod
    def _existing_folder(root: Path, address: str, folder: str) -> Path:
        """The Maildir of an existing folder (tree lock held); KeyError when missing."""
        name = check_folder_name(folder)
        path = folder_path(root, name)
        if name != INBOX and not is_maildir(path):
            raise KeyError(f"no folder {name!r} in mailbox {address}")
        return path

    def _mailbox(self, address: str) -> Path:
        """The mailbox root of `address`, made with INBOX, Sent, Junk and Trash if new.
        Protected folders are never deleted through the store, so a root found complete
        is not checked again (forget_mailbox() after finding one gone from outside)."""
        root = mailbox_root(self.directory, address)
        if root in self._complete:
            return root
        if not all(is_maildir(folder_path(root, f)) for f in PROTECTED_FOLDERS):
            root.mkdir(exist_ok=True)
            with flocked(root / FOLDER_TREE_LOCK):
                for folder in PROTECTED_FOLDERS:
                    self._make_folder(root, folder)
        self._complete.add(root)
        return root

    def forget_mailbox(self, address: str) -> None:
        """Check `address`'s folders again on next use (something removed them)."""
        self._complete.discard(mailbox_root(self.directory, address))

    @staticmethod
    def _make_folder(root: Path, name: str) -> None:
        path = folder_path(root, name)
        if make_maildir(path, subfolder=name != INBOX):
            with folder_lock(path):
                synced_uidlist(path, root, ())  # UIDVALIDITY given at creation
