# The ENVELOPE of a message (RFC 3501 section 7.4.2) and the address lists it is made of.
#
# Header values are taken as they are on the wire (unfolded; Subject and names with
# whitespace runs as one space), RFC 2047 encoded words left encoded, as Dovecot
# answers; broken addresses get Dovecot's placeholders (MISSING_MAILBOX...).
# Addresses are parsed by a small RFC 5322 tokenizer working on latin-1 text, so 8-bit
# bytes pass through unchanged: each address is (name adl mailbox host); a group is
# framed by (NIL NIL "group" NIL) ... (NIL NIL NIL NIL).
# Text is a str when it is valid UTF-8 (encoded quoted, or as a literal when 8-bit)
# and the raw bytes otherwise (always a literal).
from __future__ import annotations

from collections.abc import Sequence

from labctl.protocols.imap_values import Adjacent, ImapValue
from roles.mailserver.imap_message import MessagePart

_ADDRESS_SPECIALS = '()<>[]:;@\\,"'
MISSING_MAILBOX = "MISSING_MAILBOX"  # what Dovecot puts for an address without one
MISSING_DOMAIN = "MISSING_DOMAIN"
SYNTAX_ERROR = "SYNTAX_ERROR"  # the host Dovecot puts when an address's < is not closed
Address = tuple[ImapValue, ImapValue, ImapValue, ImapValue]
_GROUP_END: Address = (None, None, None, None)


def nstring(value: bytes | None) -> str | bytes | None:
    """Header text as an IMAP nstring: str when valid UTF-8, else the raw bytes."""
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def for_humans(text: bytes) -> bytes:
    """Text shown to people (Subject, names): whitespace runs become one space, as Dovecot."""
    return b" ".join(text.split())


def envelope(part: MessagePart) -> list[ImapValue]:
    """The ENVELOPE structure of the message `part` (the whole message or an inner one)."""
    def text(name: str) -> bytes | None:  # the last field of that name, as Dovecot
        values = part.field_values(name, keep_trailing=True)
        return values[-1] if values else None

    def addresses(name: str) -> ImapValue:  # every field of that name, one after the other
        found = [address for value in part.field_values(name)
                 for address in address_list(value) or ()]
        return [Adjacent(found)] if found else None  # "(" 1*address ")"

    subject = part.field_values("Subject")
    sender = addresses("From")
    return [nstring(text("Date")), nstring(for_humans(subject[-1]) if subject else None),
            sender,
            addresses("Sender") or sender, addresses("Reply-To") or sender,
            addresses("To"), addresses("Cc"), addresses("Bcc"),
            nstring(text("In-Reply-To")), nstring(text("Message-ID"))]


def address_list(value: bytes) -> list[Address] | None:
    """The addresses (and groups) of an address header value; None when it has none."""
    tokens = _tokens(value.decode("latin-1"))
    result: list[Address] = []
    item: list[tuple[str, str]] = []
    in_group = False
    angle = False
    tokens.append(("special", ","))
    for index, (kind, token) in enumerate(tokens):
        if kind == "special" and token in "<>":
            angle = token == "<"
        if angle and (kind, token) == ("special", ",") and \
                tokens[index + 1:index + 2] != [("special", "@")]:
            angle = False  # not a source route: an unclosed <, the address ends here
        if kind == "special" and not angle and token in ",;:":
            if token == ":" and not in_group:
                result.append((None, None, _text(_phrase(item)), None))
                in_group = True
            elif token == ":":
                continue
            else:
                address = _mailbox(item)
                if address is not None:
                    result.append(address)
                if token == ";" and in_group:
                    result.append(_GROUP_END)
                    in_group = False
                    if tokens[index + 1:index + 2] != [("special", ",")]:
                        break  # as Dovecot: what follows a group but a comma is ignored
            item = []
        else:
            item.append((kind, token))
    if in_group:
        result.append(_GROUP_END)
    return result or None


def _text(value: str | None) -> str | bytes | None:
    return None if value is None else nstring(value.encode("latin-1"))


def _phrase(tokens: Sequence[tuple[str, str]]) -> str | None:
    words = [token for kind, token in tokens if kind in ("atom", "quoted")]
    return " ".join(" ".join(words).split()) if words else None


def _mailbox(tokens: list[tuple[str, str]]) -> Address | None:
    """One mailbox from its tokens: `phrase <route:local@domain>` or `local@domain (name)`."""
    if not any(kind != "comment" for kind, _ in tokens):
        return None
    if any(kind == "unclosed" for kind, _ in tokens):
        return (None, None, MISSING_MAILBOX, MISSING_DOMAIN)
    kinds = tokens
    opener = next((i for i, t in enumerate(kinds) if t == ("special", "<")), None)
    route: str | None = None
    closed = True
    if opener is None:
        comments = [token for kind, token in tokens if kind == "comment" and token]
        name = comments[-1] if comments else None
        spec = [t for t in tokens if t[0] != "comment"]
    else:
        name = _phrase(tokens[:opener])
        closer = next((i for i, t in enumerate(kinds) if t == ("special", ">")), len(kinds))
        closed = closer < len(kinds)
        spec = [t for t in tokens[opener + 1:closer] if t[0] != "comment"]
        colon = next((i for i, t in enumerate(spec) if t == ("special", ":")), None)
        if colon is not None:
            route = "".join(token for _, token in spec[:colon]) or None
            spec = spec[colon + 1:]
    ats = [i for i, t in enumerate(spec) if t == ("special", "@")] + [len(spec)] * 2
    local, domain = spec[:ats[0]], spec[ats[0] + 1:ats[1]]
    if opener is None and (len(local) > 1 or (ats[0] == len(spec) and local
                                               and local[0][0] == "quoted")):
        return (_text(_phrase(local)), None, MISSING_MAILBOX, MISSING_DOMAIN)  # a phrase
    mailbox = "".join(token for _, token in local) or MISSING_MAILBOX
    host = domain[0][1] if domain else MISSING_DOMAIN  # what follows the domain is ignored
    if not closed:
        host = SYNTAX_ERROR
    return (_text(name), _text(route), _text(mailbox), _text(host))


def _tokens(text: str) -> list[tuple[str, str]]:
    """RFC 5322 tokens: ("atom"|"quoted"|"comment"|"literal"|"special", text)."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == '"' or char == "(":
            closer = '"' if char == '"' else ")"
            content, index, complete = _delimited(text, index, char, closer)
            kind = "quoted" if char == '"' else "comment"
            tokens.append((kind if complete or kind == "comment" else "unclosed", content))
        elif char == "[":
            stop = text.find("]", index)
            stop = len(text) if stop < 0 else stop + 1
            tokens.append(("literal", text[index:stop]))
            index = stop
        elif char in _ADDRESS_SPECIALS:
            tokens.append(("special", char))
            index += 1
        else:
            stop = index
            while stop < len(text) and text[stop] not in _ADDRESS_SPECIALS + " \t\r\n":
                stop += 1
            tokens.append(("atom", text[index:stop]))
            index = stop
    return tokens


def _delimited(text: str, index: int, opener: str, closer: str) -> tuple[str, int, bool]:
    """The content of a quoted string or (nested) comment at `index`, the index after it,
    and whether it was closed."""
    content: list[str] = []
    depth = 1
    index += 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            content.append(text[index + 1])
            index += 2
            continue
        if char == closer:
            depth -= 1
            if depth == 0:
                return "".join(content), index + 1, True
        elif char == opener and opener != closer:
            depth += 1
        content.append(char)
        index += 1
    return "".join(content), index, False
