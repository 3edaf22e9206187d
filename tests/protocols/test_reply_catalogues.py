# The reply catalogues are self-consistent: every SMTP reply's enhanced status code has
# the class of its reply code (RFC 3463), every placeholder fills, every POP3 code parses.
from __future__ import annotations

import re
import string

import pytest

from labctl.protocols import pop3, smtp

SMTP_TEMPLATES = {n: t for n, t in vars(smtp.replies).items()
                  if isinstance(t, smtp.replies.ReplyTemplate)}
POP3_TEMPLATES = {n: t for n, t in vars(pop3.replies).items()
                  if isinstance(t, pop3.replies.ReplyTemplate)}
NO_STATUS = {220, 250, 334, 354}  # greeting, HELO, SASL challenge, start mail input


def placeholders(text: str) -> dict[str, str]:
    return {name: f"<{name}>" for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_catalogues_are_found() -> None:
    # an empty catalogue would turn the parametrized tests below into silent skips
    assert len(SMTP_TEMPLATES) > 30 and len(POP3_TEMPLATES) > 20


@pytest.mark.parametrize("name", sorted(SMTP_TEMPLATES))
def test_smtp_reply_is_well_formed(name: str) -> None:
    template = SMTP_TEMPLATES[name]
    assert 200 <= template.code <= 559
    if template.status:
        assert re.fullmatch(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", template.status)
        assert template.status[0] == str(template.code)[0]
    else:
        assert template.code in NO_STATUS, f"{name} lacks an enhanced status code"
    wire = template.to_bytes(**placeholders(template.text))
    code, last, text = smtp.parse_reply_line(wire)
    assert (code, last) == (template.code, True)
    assert text.startswith(template.status)


@pytest.mark.parametrize("name", sorted(POP3_TEMPLATES))
def test_pop3_reply_is_well_formed(name: str) -> None:
    template = POP3_TEMPLATES[name]
    ok, text = pop3.parse_status_line(template.to_bytes(**placeholders(template.text)))
    assert ok is template.ok
    assert pop3.split_response_code(text)[0] == template.code


def test_catalogues_hold_no_duplicate_entries() -> None:
    smtp_entries = [(t.code, t.status, t.text) for t in SMTP_TEMPLATES.values()]
    pop3_entries = [(t.ok, t.code, t.text) for t in POP3_TEMPLATES.values()]
    assert len(set(smtp_entries)) == len(smtp_entries)
    assert len(set(pop3_entries)) == len(pop3_entries)


def test_pop3_extended_response_codes() -> None:
    reply = pop3.replies.MAILDROP_LOCKED(address="bob@hamburger.edu")
    assert reply.to_bytes() == (b"-ERR [IN-USE] mailbox bob@hamburger.edu is already in use"
                                b" by another POP3 session\r\n")
    assert pop3.Reply(False, "later", code="SYS/TEMP").to_bytes() == b"-ERR [SYS/TEMP] later\r\n"
    assert pop3.split_response_code("[auth] bad password") == ("AUTH", "bad password")
    assert pop3.split_response_code("[not a code] x") == ("", "[not a code] x")
    assert pop3.split_response_code("plain text") == ("", "plain text")
    with pytest.raises(ValueError, match="RFC 2449"):
        pop3.Reply(False, "x", code="IN USE")
