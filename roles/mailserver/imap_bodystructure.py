# BODY and BODYSTRUCTURE of a message (RFC 3501 section 7.4.2), built from its part tree.
#
# One function walks the tree for both: BODYSTRUCTURE adds the extension data (a leaf's
# MD5, disposition, language and location; a multipart's parameters, disposition,
# language and location), BODY leaves it out. As Dovecot: a part without Content-Type
# is text/plain; charset=us-ascii (message/rfc822 in a digest), the transfer encoding
# defaults to 7bit, text/* parts add their line count, message/rfc822 parts the
# ENVELOPE, BODY and line count of the message inside, and a multipart with no part
# at all is shown holding one empty text/plain part.
from __future__ import annotations

from labctl.protocols.imap_values import Adjacent, ImapValue
from roles.mailserver.imap_envelope import envelope, nstring
from roles.mailserver.imap_message import MessagePart
from roles.mailserver.mime_content_type import ContentType, mime_tokens, parse_parameters

_EMPTY_TEXT_PART: list[ImapValue] = ["text", "plain", ["charset", "us-ascii"], None, None,
                                     "7bit", 0, 0]


def body_structure(part: MessagePart, extensible: bool = True) -> list[ImapValue]:
    """BODYSTRUCTURE (`extensible`) or BODY of a message or part."""
    if part.is_multipart:
        return _multipart(part, extensible)
    return _leaf(part, extensible)


def _multipart(part: MessagePart, extensible: bool) -> list[ImapValue]:
    ctype = part.content_type
    children: list[ImapValue] = [body_structure(child, extensible) for child in part.children]
    if not children:
        children = [_EMPTY_TEXT_PART + ([None, None, None, None] if extensible else [])]
    structure: list[ImapValue] = [Adjacent(children), ctype.written_subtype]  # 1*body
    if extensible:
        structure += [_parameters(ctype), *_common_extensions(part)]
    return structure


def _leaf(part: MessagePart, extensible: bool) -> list[ImapValue]:
    ctype = part.content_type
    if part.too_deep:  # its content was not parsed
        ctype = ContentType("application", "octet-stream", ctype.parameters)
    encoding = transfer_encoding(part)
    body = part.body
    structure: list[ImapValue] = [
        ctype.written_type, ctype.written_subtype, _parameters(ctype),
        nstring(part.content_field("Content-ID")),
        nstring(part.content_field("Content-Description")),
        encoding or "7bit",
        len(body)]
    inner = part.message
    if inner is not None:
        structure += [envelope(inner), body_structure(inner, extensible), line_count(body)]
    elif ctype.type == "text":
        structure.append(line_count(body))
    if extensible:
        structure += [nstring(part.content_field("Content-MD5")), *_common_extensions(part)]
    return structure


def transfer_encoding(part: MessagePart) -> str | None:
    """The Content-Transfer-Encoding as written, or None when absent or not one token."""
    value = part.content_field("Content-Transfer-Encoding")
    tokens = mime_tokens(value) if value else []
    return tokens[0] if len(tokens) == 1 and not tokens[0].startswith("\0") else None


def line_count(data: bytes) -> int:
    """Lines of a body, as Dovecot counts them: its line breaks."""
    return data.count(b"\n")


def _parameters(ctype: ContentType) -> ImapValue:
    """The parameter list; a text part without a charset gets charset=us-ascii."""
    parameters = list(ctype.parameters)
    if ctype.type == "text" and ctype.parameter("charset") is None:
        parameters.append(("charset", "us-ascii"))
    return [text for pair in parameters for text in pair] if parameters else None


def _common_extensions(part: MessagePart) -> list[ImapValue]:
    """Disposition, language and location, shared by leaves and multiparts."""
    return [_disposition(part), _language(part),
            nstring(part.content_field("Content-Location"))]


def _disposition(part: MessagePart) -> ImapValue:
    value = part.content_field("Content-Disposition")
    if value is None:
        return None
    tokens = mime_tokens(value)
    if not tokens or tokens[0] in (";", "=") or tokens[0].startswith("\0"):
        return None
    parameters = parse_parameters(tokens[1:])
    return [tokens[0], [text for pair in parameters for text in pair] if parameters else None]


def _language(part: MessagePart) -> ImapValue:
    value = part.content_field("Content-Language")
    if value is None:
        return None
    tokens = mime_tokens(value)
    languages = tokens[0::2]  # `en, fr`: a language, a comma, ... up to anything else
    separators = tokens[1::2]
    count = next((i + 1 for i, sep in enumerate(separators) if sep != ","), len(languages))
    languages = [lang.removeprefix("\0") for lang in languages[:count] if lang != ","]
    return languages or None
