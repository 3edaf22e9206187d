# SEARCH program texts (as recorded against Dovecot) turned into imap_query.SearchKey trees.
#
# A small reader for the tests only, covering the keys of imap_query.SEARCH_KEYS: it
# lets one list of texts drive both Dovecot and our evaluator.
from __future__ import annotations

import datetime
import re

from labctl.protocols.imap_query import (
    SEARCH_KEYS,
    SearchArgument,
    SearchKey,
    SequenceRange,
    SequenceSet,
)

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def search_program(text: str) -> SearchKey:
    """The AND of the keys in `text` (`OR SEEN FLAGGED UID 2:*`)."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        opener, closer, quoted, atom = match.groups()
        if opener or closer:
            tokens.append(("special", opener or closer))
        elif quoted is not None:
            tokens.append(("string", re.sub(r"\\(.)", r"\1", quoted)))
        else:
            tokens.append(("atom", atom))
    keys = []
    while tokens:
        keys.append(_key(tokens))
    return SearchKey("AND", operands=tuple(keys))


def sequence_set(text: str) -> SequenceSet:
    """`2,4:*` as a SequenceSet."""
    def number(value: str) -> int | None:
        return None if value == "*" else int(value)

    ranges = []
    for item in text.split(","):
        start, _, end = item.partition(":")
        ranges.append(SequenceRange(number(start), number(end or start)))
    return SequenceSet(tuple(ranges))


def _key(tokens: list[tuple[str, str]]) -> SearchKey:
    kind, text = tokens.pop(0)
    if (kind, text) == ("special", "("):
        inside = []
        while tokens[0] != ("special", ")"):
            inside.append(_key(tokens))
        tokens.pop(0)
        return SearchKey("AND", operands=tuple(inside))
    name = text.upper()
    if name not in SEARCH_KEYS:
        return SearchKey("SEQUENCE", (sequence_set(text),))
    arguments: list[SearchArgument] = []
    operands: list[SearchKey] = []
    for argument_type in SEARCH_KEYS[name]:
        if argument_type == "key":
            operands.append(_key(tokens))
            continue
        value = tokens.pop(0)[1]
        if argument_type == "date":
            arguments.append(datetime.datetime.strptime(value, "%d-%b-%Y").date())
        elif argument_type == "number":
            arguments.append(int(value))
        elif argument_type == "sequence-set":
            arguments.append(sequence_set(value))
        else:
            arguments.append(value)
    return SearchKey(name, tuple(arguments), tuple(operands))
