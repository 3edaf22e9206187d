# Where a user's mail lives on disk: Maildir++ (the layout dovecot and courier use).
#
#   DIR/<address>/            INBOX: a Maildir (tmp/ new/ cur/)
#   DIR/<address>/.Sent/      another folder: a Maildir with a `maildirfolder` file
#   DIR/<address>/.Work.Plans folder "Work.Plans" ('.' separates the hierarchy)
#
# On disk a message has LF line endings, as Maildir readers (mutt, s-nail, dovecot)
# expect; the store hands it out with CRLF, as the wire and RFC 5322 want. Its file
# name carries both sizes, dovecot style: `<unique>,S=<on disk>,W=<with CRLF>`.
#
# Names are checked here, once, before they become paths: addresses, folder names and
# message names can never climb out of the mailbox or name a file that is not a message.
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from roles.mailserver.durable_files import fsync_directory
from roles.mailserver.maildir_flags import split_file_name

INBOX = "INBOX"
STANDARD_FOLDERS = ("Sent", "Junk", "Trash")  # created with the mailbox, never removed
PROTECTED_FOLDERS = (INBOX, *STANDARD_FOLDERS)
SEPARATOR = "."
MAILDIR_PARTS = ("tmp", "new", "cur")
MAX_FOLDER_NAME = 200

_ADDRESS = re.compile(r"[a-z0-9_+-][a-z0-9._+-]*@[a-z0-9-][a-z0-9.-]*")
_MESSAGE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._,=+-]*")
_WIRE_SIZE = re.compile(r",W=(\d+)")
_FORBIDDEN_IN_FOLDER = {"/": "'/'", "*": "'*'", "%": "'%'", "\\": "'\\'"}


def check_address(address: str) -> str:
    """The lower-cased address; KeyError when it cannot be a mailbox address."""
    normalized = address.lower()
    if not _ADDRESS.fullmatch(normalized) or ".." in normalized:
        raise KeyError(f"not a valid mailbox address: {address!r}")
    return normalized


def mailbox_root(directory: Path, address: str) -> Path:
    """The Maildir root of `address`; KeyError when it cannot be a mailbox address."""
    return directory / check_address(address)


def check_folder_name(name: str) -> str:
    """The folder's canonical name (any case of INBOX is INBOX); ValueError saying why not."""
    if name.upper() == INBOX:
        return INBOX
    problem = _folder_name_problem(name)
    if problem:
        raise ValueError(f"invalid folder name {name!r}: {problem}")
    return name


def _folder_name_problem(name: str) -> str:
    if not name:
        return "it is empty"
    if len(name) > MAX_FOLDER_NAME:
        return f"longer than {MAX_FOLDER_NAME} characters"
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"control character U+{ord(char):04X}"
        if char in _FORBIDDEN_IN_FOLDER:
            return f"it contains {_FORBIDDEN_IN_FOLDER[char]}"
    parts = name.split(SEPARATOR)
    if "" in parts:
        return "empty hierarchy level (leading, trailing or doubled '.')"
    if parts[0].upper() == INBOX:
        return "INBOX cannot hold other folders"
    return ""


def plan_rename(names: Sequence[str], folder: str, new_name: str,
                address: str) -> list[tuple[str, str]]:
    """The (old, new) folder names renaming `folder` moves, its sub-folders included.

    `names` are the existing folders below INBOX. KeyError when `folder` does not
    exist; ValueError for INBOX, Sent, Junk, Trash, a taken name or a move below itself.
    """
    old, new = _changeable(folder, names, address), check_folder_name(new_name)
    if new == INBOX or new in names:
        raise ValueError(f"folder {new!r} exists already in mailbox {address}")
    if new.startswith(old + SEPARATOR):
        raise ValueError(f"cannot move folder {old!r} below itself ({new!r})")
    return [(n, new + n[len(old):]) for n in names if n == old or n.startswith(old + SEPARATOR)]


def check_deletable(names: Sequence[str], folder: str, address: str) -> str:
    """The canonical name of a folder that may be deleted; KeyError or ValueError why not."""
    name = _changeable(folder, names, address)
    children = [n for n in names if n.startswith(name + SEPARATOR)]
    if children:
        raise ValueError(f"folder {name!r} holds folders {children}; delete them first")
    return name


def _changeable(folder: str, names: Sequence[str], address: str) -> str:
    name = check_folder_name(folder)
    if name in PROTECTED_FOLDERS:
        raise ValueError(f"folder {name!r} cannot be renamed or deleted")
    if name not in names:
        raise KeyError(f"no folder {name!r} in mailbox {address}")
    return name


def check_message_name(name: str) -> str:
    """`name` when it is a valid message id; KeyError otherwise."""
    if not _MESSAGE_NAME.fullmatch(name):
        raise KeyError(f"not a valid message id: {name!r}")
    return name


def folder_path(root: Path, folder: str) -> Path:
    """The Maildir of a (checked) folder name."""
    return root if folder == INBOX else root / f"{SEPARATOR}{folder}"


def is_maildir(path: Path) -> bool:
    """True when `path` holds the three Maildir sub-folders."""
    return all((path / part).is_dir() for part in MAILDIR_PARTS)


def subfolder_names(root: Path) -> list[str]:
    """The folders below INBOX, sorted (dot-directories that are Maildirs)."""
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            name = entry.name[1:]
            if (entry.name.startswith(SEPARATOR) and not _folder_name_problem(name)
                    and entry.is_dir() and is_maildir(Path(entry.path))):
                names.append(name)
    return sorted(names)


def make_maildir(path: Path, subfolder: bool) -> bool:
    """Create a Maildir (and its `maildirfolder` marker); True when anything was made."""
    made = False
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        made = True
    for part in MAILDIR_PARTS:
        if not (path / part).is_dir():
            (path / part).mkdir(exist_ok=True)
            made = True
    if subfolder and not (path / "maildirfolder").exists():
        (path / "maildirfolder").touch()
        made = True
    if made:
        fsync_directory(path)
        fsync_directory(path.parent)
    return made


def message_files(path: Path) -> dict[str, Path]:
    """Each message of a folder by unique name; new/ is read before cur/, so a message
    a reader moves from new/ to cur/ meanwhile is still seen."""
    return {name: Path(entry.path) for name, entry in message_entries(path).items()}


def message_entries(path: Path) -> dict[str, os.DirEntry[str]]:
    """message_files() as the directory entries found (no Path made for each file)."""
    found: dict[str, os.DirEntry[str]] = {}
    for part in ("new", "cur"):
        with os.scandir(path / part) as entries:
            for entry in entries:
                unique, _ = split_file_name(entry.name)
                if _MESSAGE_NAME.fullmatch(unique) and entry.is_file():
                    found[unique] = entry
    return found


def to_disk(data: bytes) -> bytes:
    """A message as stored: CRLF line endings become LF."""
    return data.replace(b"\r\n", b"\n")


def from_disk(stored: bytes) -> bytes:
    """A stored message as handed out: LF line endings become CRLF."""
    return stored.replace(b"\n", b"\r\n")


def sized_name(unique: str, stored: bytes) -> str:
    """A message file name carrying its size on disk (S=) and with CRLF endings (W=)."""
    with_crlf = len(stored) + stored.count(b"\n")
    return f"{unique},S={len(stored)},W={with_crlf}"


def wire_size(file: Path | os.DirEntry[str]) -> int:
    """The size of a message as handed out (with CRLF): from its name's W=, else counted."""
    found = _WIRE_SIZE.search(file.name)
    if found:
        return int(found.group(1))
    with open(file, "rb") as opened:
        stored = opened.read()
    return len(stored) + stored.count(b"\n")


def arrival_key(name: str) -> tuple[int, str]:
    """Sort key putting message names in delivery order (their leading time stamp)."""
    stamp = name.split(".", 1)[0]
    return (int(stamp) if stamp.isdigit() else 0, name)
