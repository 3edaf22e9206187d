# The controller <-> user agent contract refuses, naming the field, whatever cannot
# become a message: header injection, non-header names, non-ASCII addresses, lone
# surrogates, NUL in a body, bad base64; and takes non-ASCII text and attachments.
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from labctl.agent_contract import SendRequest

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
