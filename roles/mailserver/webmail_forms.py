# The HTML forms the webmail's pages receive, read with the standard library only:
# application/x-www-form-urlencoded (urllib.parse) and, for the message form with its
# attachments, multipart/form-data (RFC 7578, through the email package's MIME parser).
#
# A form is read only up to a size limit, with a bounded number of fields, and is taken
# only when it carries its session's CSRF token; otherwise it is a PageError that says
# why (400 unreadable, 403 no token, 413 too large, 415 another type) and changes nothing.
from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qs

from fastapi import Request

from roles.mailserver.webmail_auth import WebSession, csrf_matches

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FORM_BYTES = 1024 * 1024  # a form without files
MAX_FORM_FIELDS = 20


class PageError(Exception):
    """A request a page cannot serve: answered with an error page of `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """A file sent with a form."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class SubmittedForm:
    """A form's text fields (the first value of each) and its files."""

    fields: dict[str, str]
    files: list[Upload] = field(default_factory=list)

    def get(self, name: str) -> str:
        """A field's value ('' when the form did not send it)."""
        return self.fields.get(name, "")


async def read_form(request: Request, session: WebSession | None,
                    max_bytes: int = MAX_FORM_BYTES) -> SubmittedForm:
    """The POSTed form, once its CSRF token checks out."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in (URLENCODED, MULTIPART):
        raise PageError(415, f"a form is sent as {URLENCODED} or {MULTIPART}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PageError(413, f"this form may hold at most {max_bytes} bytes")
    form = _urlencoded(bytes(body)) if kind == URLENCODED else _multipart(content_type,
                                                                          bytes(body))
    if session is None or not csrf_matches(session, form.get("csrf")):
        raise PageError(403, "this form has expired or did not come from this webmail; "
                             "reload the page and send it again")
    return form


def _urlencoded(body: bytes) -> SubmittedForm:
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise PageError(400, f"the form cannot be read: {error}") from None
    return SubmittedForm({name: values[0] for name, values in parsed.items()})


def _multipart(content_type: str, body: bytes) -> SubmittedForm:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = message.get_payload() if message.is_multipart() else None
    if not isinstance(parts, list) or message.defects:
        raise PageError(400, "the form cannot be read: not a well-formed multipart body")
    if len(parts) > MAX_FORM_FIELDS:
        raise PageError(400, f"the form has more than {MAX_FORM_FIELDS} fields")
    fields: dict[str, str] = {}
    files: list[Upload] = []
    for part in parts:
        if not isinstance(part, Message):
            raise PageError(400, "the form cannot be read: a part is not a MIME part")
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            raise PageError(400, "the form cannot be read: a part has no field name")
        filename = part.get_filename()
        if filename is not None:
            if filename or data:  # an empty file input sends an empty, nameless file
                files.append(Upload(filename, part.get_content_type(), data))
            continue
        try:
            fields.setdefault(name, data.decode("utf-8"))
        except UnicodeDecodeError:
            raise PageError(400, f"the form cannot be read: field {name!r} is not UTF-8") \
                from None
    return SubmittedForm(fields, files)
