# Message flags as Maildir keeps them: the info suffix `:2,<letters>` of a file in cur/.
#
# The letters are Maildir's (D F P R S T, in ASCII order); lower-case letters are
# keywords other tools (dovecot, mutt) may set, kept untouched when we rewrite the
# suffix. A message in new/ has no info and no flags.
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Flag(StrEnum):
    """A message flag (IMAP: \\Draft \\Flagged - \\Answered \\Seen \\Deleted)."""

    DRAFT = "Draft"
    FLAGGED = "Flagged"
    PASSED = "Passed"
    REPLIED = "Replied"
    SEEN = "Seen"
    TRASHED = "Trashed"


LETTERS: dict[Flag, str] = {flag: flag.value[0] for flag in Flag}
FLAGS_BY_LETTER: dict[str, Flag] = {letter: flag for flag, letter in LETTERS.items()}
INFO_SEPARATOR = ":"
INFO_PREFIX = ":2,"


def split_file_name(file_name: str) -> tuple[str, str]:
    """A Maildir file name split into (unique name, info text after ':')."""
    unique, _, info = file_name.partition(INFO_SEPARATOR)
    return unique, info


def flags_of(info: str) -> frozenset[Flag]:
    """The flags an info text (`2,FS`) carries; none for other info versions."""
    if not info.startswith("2,"):
        return frozenset()
    return frozenset(FLAGS_BY_LETTER[c] for c in info[2:] if c in FLAGS_BY_LETTER)


def file_name_with_flags(unique: str, old_info: str, flags: Iterable[Flag]) -> str:
    """The cur/ file name carrying `flags`, keeping the keyword letters of `old_info`."""
    keywords = old_info[2:] if old_info.startswith("2,") else ""
    letters = {LETTERS[flag] for flag in flags} | {c for c in keywords if c.islower()}
    return f"{unique}{INFO_PREFIX}{''.join(sorted(letters))}"
