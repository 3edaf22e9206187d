# What the webmail shows of a message, for messages as they really come: encoded words,
# unknown charsets, broken encodings, control characters in headers, RFC 2231 file names,
# nested multiparts. Nothing may fail: an accepted message is always readable.
from __future__ import annotations

import pytest

from roles.mailserver.storage import StoredMessage
from roles.mailserver.webmail_message_view import (
    MessageView,
    decoded_header,
    display_text,
    parse,
    view,
)

STORED = StoredMessage("m1", 1, 100)


def read(data: bytes) -> MessageView:
    return view(STORED, parse(data))


@pytest.mark.parametrize(("raw", "shown"), [
    (b"=?iso-8859-1?q?Caf=E9?=", "Café"),
    (b"=?utf-8?b?8J+NlA==?= and fries", "🍔 and fries"),
    (b"=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="),  # unknown charset: the raw text
    (b"=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),  # broken base64: the raw text
    (b"folded\r\n\tover lines", "folded over lines"),
    (b"=?utf-8?q?Gr=C3=BC?=  =?utf-8?q?=C3=9Fe?= to =?utf-8?q?you?=", "Grüße to you"),
    (b"=?utf-8?q?bell=07_and_escape=1B[31m?=", "bell\\x07 and escape\\x1b[31m"),
    (b"=?utf-8?q?two=0Alines?=", "two lines"),
])
def test_subjects_are_decoded_for_display(raw: bytes, shown: str) -> None:
    message = parse(b"Subject: " + raw + b"\r\n\r\nbody\r\n")
    assert decoded_header(message, "Subject") == shown


def test_a_missing_header_is_empty() -> None:
    assert decoded_header(parse(b"\r\nno headers\r\n"), "Subject") == ""


def test_bodies_in_unknown_or_wrong_charsets_still_show() -> None:
    unknown = read(b"Content-Type: text/plain; charset=x-martian\r\n\r\nhello \xff\r\n")
    assert unknown.body == "hello \ufffd\n"
    eight_bit = read(b"Content-Type: text/plain; charset=us-ascii\r\n\r\ncaf\xc3\xa9\r\n")
    assert eight_bit.body == "café\n"
    latin = read(b"Content-Type: text/plain\r\n\r\ncaf\xe9\r\n")
    assert latin.body == "caf\ufffd\n"


def test_raw_utf8_headers_are_shown_as_sent() -> None:
    message = parse(b"Subject: caf\xc3\xa9 \xff\r\nFrom: J\xc3\xbcrgen <j@crepes.fr>\r\n\r\n")
    assert decoded_header(message, "subject") == "café \ufffd"
    assert decoded_header(message, "From") == "Jürgen <j@crepes.fr>"


def test_nested_parts_give_the_text_html_and_attachments() -> None:
    message = read(
        b"Content-Type: multipart/mixed; boundary=OUT\r\n\r\n"
        b"--OUT\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n"
        b"--IN\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--IN\r\nContent-Type: text/html\r\n\r\n<b>rich</b>\r\n--IN--\r\n"
        b"--OUT\r\nContent-Type: text/plain\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''%C3%BCber.txt\r\n\r\nfile\r\n"
        b"--OUT\r\nContent-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--OUT--\r\n")
    assert message.body == "plain" and message.html == ["<b>rich</b>"]
    assert [(a.name, a.type, a.size) for a in message.attachments] == [
        ("über.txt", "text/plain", 4), ("résumé.pdf", "application/pdf", 4)]


def test_control_characters_are_escaped_but_tabs_and_newlines_stay() -> None:
    assert display_text("a\tb\nc\x00d\x7fe\x9bf") == "a\tb\nc\\x00d\\x7fe\\x9bf"
    assert read(b"\r\nline\x1b[2J\r\nnext\r\n").body == "line\\x1b[2J\nnext\n"
