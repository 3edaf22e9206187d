# MIME header values: Content-Type and its parameters, as RFC 2045 tokens.
#
# The tokenizer reads header text the way Dovecot's rfc822 parser does for MIME fields:
# comments are dropped, quoted strings unquoted, tspecials kept as one-character
# tokens; whatever does not parse is skipped, never an error. Used by the MIME part
# tree (imap_message.py) and BODYSTRUCTURE (dispositions, languages).
from __future__ import annotations

from dataclasses import dataclass

_TSPECIALS = b'()<>@,;:\\"/[]?='


@dataclass(frozen=True)
class ContentType:
    """A Content-Type as written (BODYSTRUCTURE shows it so); compare with `type`/`subtype`."""

    written_type: str
    written_subtype: str
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def type(self) -> str:
        """The type, lower-cased."""
        return self.written_type.lower()

    @property
    def subtype(self) -> str:
        """The subtype, lower-cased."""
        return self.written_subtype.lower()

    def parameter(self, name: str) -> str | None:
        """The value of parameter `name` (case-insensitive), or None."""
        lowered = name.lower()
        return next((value for key, value in self.parameters if key.lower() == lowered), None)


TEXT_PLAIN = ContentType("text", "plain", (("charset", "us-ascii"),))
MESSAGE_RFC822 = ContentType("message", "rfc822")
INVALID_TYPE = ContentType("", "")


def parse_content_type(value: bytes) -> ContentType | None:
    """`type/subtype; name=value...` parsed (a lone `type` has an empty subtype, as
    Dovecot reads it); None when there is no valid type."""
    tokens = mime_tokens(value)
    if tokens and _is_token(tokens[0]) and tokens[1:2] in ([], [";"]):
        return ContentType(tokens[0], "", parse_parameters(tokens[1:]))  # no subtype
    if len(tokens) < 3 or tokens[1] != "/" or not _is_token(tokens[0]) \
            or not _is_token(tokens[2]) or tokens[3:4] not in ([], [";"]):
        return None
    return ContentType(tokens[0], tokens[2], parse_parameters(tokens[3:]))


def parse_parameters(tokens: list[str]) -> tuple[tuple[str, str], ...]:
    """`; name=value` pairs from MIME tokens (see mime_tokens), skipping malformed ones."""
    parameters: list[tuple[str, str]] = []
    index = 0
    while index <= len(tokens) - 4:
        semicolon, name, equals, value = tokens[index:index + 4]
        if semicolon == ";" and _is_token(name) and equals == "=" and \
                (_is_token(value) or value.startswith("\0")):
            parameters.append((name, value.removeprefix("\0")))
            index += 4
        else:
            index += 1
    return _joined_continuations(parameters)


def _joined_continuations(parameters: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """RFC 2231 continuations (`name*0*`, `name*1`...) joined into one `name*` (or `name`)
    parameter, still encoded, after the others: what Dovecot shows."""
    plain: list[tuple[str, str]] = []
    sections: dict[str, list[tuple[int, str, str]]] = {}
    for name, value in parameters:
        base, star, rest = name.partition("*")
        number = rest.removesuffix("*")
        if star and number.isdigit():
            sections.setdefault(base, []).append((int(number), rest, value))
        else:
            plain.append((name, value))
    for base, pieces in sections.items():
        pieces.sort()
        extended = pieces[0][1].endswith("*")
        plain.append((base + "*" if extended else base, "".join(v for _, _, v in pieces)))
    return tuple(plain)


def _is_token(text: str) -> bool:
    """True for a bare token (not a special, not a quoted string)."""
    return bool(text) and not text.startswith("\0") and not (
        len(text) == 1 and text.encode("utf-8")[0] in _TSPECIALS)


def mime_tokens(value: bytes) -> list[str]:
    """RFC 2045 tokens of a header value: tokens, tspecials, quoted strings (comments dropped).

    A quoted string becomes its content prefixed with NUL, so it never looks like a special.
    """
    text = value.decode("utf-8", "replace")
    tokens: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == "(":
            index = _skip_comment(text, index)
        elif char == '"':
            content, index = _quoted(text, index)
            tokens.append("\0" + content)
        elif char.encode("utf-8")[0] in _TSPECIALS:
            tokens.append(char)
            index += 1
        else:
            stop = index
            while stop < len(text) and text[stop] not in ' \t\r\n"(' \
                    and text[stop].encode("utf-8")[0] not in _TSPECIALS:
                stop += 1
            tokens.append(text[index:stop])
            index = stop
    return tokens


def _skip_comment(text: str, index: int) -> int:
    depth = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return index


def _quoted(text: str, index: int) -> tuple[str, int]:
    """The content of the quoted string at `index` (escapes removed) and the index after it."""
    content: list[str] = []
    index += 1
    while index < len(text) and text[index] != '"':
        if text[index] == "\\" and index + 1 < len(text):
            index += 1
        content.append(text[index])
        index += 1
    return "".join(content), index + 1
