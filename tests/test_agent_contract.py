# The controller <-> user agent contract refuses, naming the field, whatever cannot
# become a message: header injection, non-header names, non-ASCII addresses, lone
# surrogates, NUL in a body, bad base64; and takes non-ASCII text and attachments.
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from labctl.agent_contract import FetchRequest, SendRequest

BOB = "bob@hamburger.edu"


@pytest.mark.parametrize(("fields", "where"), [
    ({"to": "böb@hamburger.edu"}, ("to",)),
    ({"to": "bob@hamburger.edu\r\nRCPT TO:<x@y>"}, ("to",)),
    ({"to": "bob@hamburger.edu, carol@crepes.fr"}, ("to",)),
    ({"subject": "Hi\r\nBcc: carol@crepes.fr"}, ("subject",)),
    ({"subject": "\ud800"}, ("subject",)),
    ({"headers": {"X-A": "one\ntwo"}}, ("headers", "X-A")),
    ({"headers": {"X-A": "nul\x00"}}, ("headers", "X-A")),
    ({"headers": {"": "empty name"}}, ("headers", "", "[key]")),
    ({"headers": {"Bad Name": "x"}}, ("headers", "Bad Name", "[key]")),
    ({"headers": {"X:Y": "x"}}, ("headers", "X:Y", "[key]")),
    ({"headers": {"Content-Type": "text/html"}}, ("headers", "Content-Type", "[key]")),
    ({"body": "a\x00b"}, ("body",)),
    ({"attachments": [{"filename": "a.txt", "data": "not base64!"}]},
     ("attachments", 0, "data")),
    ({"attachments": [{"filename": "a\r\n.txt", "data": ""}]}, ("attachments", 0, "filename")),
    ({"attachments": [{"filename": "a", "content_type": "text", "data": ""}]},
     ("attachments", 0, "content_type")),
])
def test_what_cannot_be_a_message_is_refused_naming_the_field(
    fields: dict[str, Any], where: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as raised:
        SendRequest.model_validate({"to": BOB, **fields})
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [where]


def test_non_ascii_text_tabs_and_attachments_are_accepted() -> None:
    request = SendRequest.model_validate({
        "to": BOB, "subject": "Grüße\taus Paris", "body": "Ça va ?\r\n",
        "headers": {"X-Note": "naïve"},
        "attachments": [{"filename": "menu.pdf", "content_type": "application/pdf",
                         "data": "JVBERi0="}],
    })
    assert request.attachments[0].content() == b"%PDF-"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"protocol": "pop3", "part": "1"}, "part: only with protocol imap, not pop3"),
    ({"protocol": "pop3", "folder": "Junk"}, "folder: POP3 reaches only INBOX"),
    ({"protocol": "http", "idle_seconds": 5}, "idle_seconds: only with protocol imap, not http"),
    ({"protocol": "http", "list_folders": True}, "list_folders: only with protocol imap"),
    ({"protocol": "imap", "headers_only": True, "part": "2"}, "part: cannot be combined"),
    ({"protocol": "imap", "delete": True, "move_to": "Trash"}, "move_to: cannot be combined"),
])
def test_fetch_options_a_protocol_cannot_honour_are_refused_naming_them(
    fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        FetchRequest.model_validate(fields)


@pytest.mark.parametrize(("fields", "where"), [
    ({"protocol": "smtp"}, ("protocol",)),
    ({"protocol": "imap", "part": "1.0"}, ("part",)),
    ({"protocol": "imap", "part": "x"}, ("part",)),
    ({"protocol": "imap", "partial": [-1, 10]}, ("partial", 0)),
    ({"protocol": "imap", "partial": [0, 0]}, ("partial", 1)),
    ({"protocol": "imap", "idle_seconds": 0}, ("idle_seconds",)),
    ({"protocol": "imap", "idle_seconds": 3600}, ("idle_seconds",)),
    ({"protocol": "imap", "folder": "a*"}, ("folder",)),
    ({"protocol": "imap", "move_to": "x\r\ny"}, ("move_to",)),
    ({"protocol": "imap", "seen": True}, ("seen",)),
])
def test_bad_fetch_option_values_are_refused_naming_the_field(
    fields: dict[str, Any], where: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as raised:
        FetchRequest.model_validate(fields)
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [where]


def test_imap_options_and_webmail_are_accepted() -> None:
    request = FetchRequest.model_validate({
        "protocol": "imap", "folder": "Work.Plans", "part": "1.2", "partial": [0, 100],
        "move_to": "Archive", "idle_seconds": 2.5, "list_folders": True})
    assert request.partial == (0, 100)
    assert FetchRequest(protocol="http", folder="Junk", delete=True).folder == "Junk"
    assert FetchRequest().protocol == "pop3"
    assert SendRequest(to=BOB, via="webmail").via == "webmail"
    with pytest.raises(ValidationError):
        SendRequest.model_validate({"to": BOB, "via": "carrier pigeon"})
