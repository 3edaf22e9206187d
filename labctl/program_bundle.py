# A student program's folder packed for the trip to the role that runs it, and unpacked
# there: a gzip'd tar of regular files and folders only.
#
# Packing skips what is never part of a program (.git, caches, virtualenvs) and refuses
# a folder that packs too large, naming the folder. Unpacking trusts nothing: every
# member must be a regular file or a folder with a relative path that stays inside the
# target (no "..", no absolute path, no link, no device), and the unpacked size is
# bounded, so a hostile bundle can neither write outside its folder nor fill the disk.
from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path, PurePosixPath

from labctl.program_contract import MAX_BUNDLE_BYTES

SKIPPED = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules",
                     ".mypy_cache", ".pytest_cache", ".ruff_cache"})
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 10_000


class BundleError(ValueError):
    """A folder that cannot be packed, or a bundle that may not be unpacked; says why."""


def pack_folder(folder: Path) -> str:
    """`folder` (its files and subfolders, not the skipped ones) as base64 of a .tar.gz."""
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(_members(folder)):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
            if buffer.tell() > MAX_BUNDLE_BYTES:
                raise BundleError(f"{folder} packs to more than {MAX_BUNDLE_BYTES} bytes; "
                                  "give a folder holding the program only")
    packed = buffer.getvalue()
    if len(packed) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{folder} packs to {len(packed)} bytes, more than "
                          f"{MAX_BUNDLE_BYTES}; give a folder holding the program only")
    return base64.b64encode(packed).decode("ascii")


def _members(folder: Path) -> list[Path]:
    """The files and folders to pack, depth first; BundleError past MAX_MEMBERS (a folder
    that is not a program's: a home folder, say), before walking all of it."""
    found: list[Path] = []
    waiting = [folder]
    while waiting:
        for path in waiting.pop().iterdir():
            if path.name in SKIPPED or path.is_symlink() or not (path.is_dir() or path.is_file()):
                continue
            found.append(path)
            if path.is_dir():
                waiting.append(path)
            if len(found) > MAX_MEMBERS:
                raise BundleError(f"{folder} holds more than {MAX_MEMBERS} files and folders; "
                                  "give a folder holding the program only")
    return found


def unpack_bundle(bundle: str, target: Path) -> None:
    """Unpack base64 `bundle` into the existing folder `target`; BundleError when unsafe."""
    try:
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(bundle)), mode="r:gz") as tar:
            _extract(tar, target)
    except BundleError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError) as error:
        raise BundleError(f"the bundle is not a readable .tar.gz: {error}") from None


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    members = tar.getmembers()
    if len(members) > MAX_MEMBERS:
        raise BundleError(f"the bundle holds {len(members)} entries, more than {MAX_MEMBERS}")
    total = 0
    for member in members:
        _check_member(member)
        total += member.size
        if total > MAX_UNPACKED_BYTES:
            raise BundleError(f"the bundle unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    # the checks above are the guard; the "data" filter (Python >= 3.11.4) adds to it
    safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    tar.extractall(target, members=members, **safety)  # type: ignore[arg-type]


def _check_member(member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise BundleError(f"the bundle entry {member.name!r} points outside its folder")
    if not (member.isfile() or member.isdir()):
        raise BundleError(f"the bundle entry {member.name!r} is neither a file nor a folder")
