# Records what Dovecot answers for the messages of this folder into dovecot-answers.json.
#
# Usage: python record_dovecot.py HOST PORT USER PASSWORD
# against a Dovecot IMAP server whose INBOX is empty (see README.md for the throwaway
# setup used). Each *.eml file is APPENDed, in name order, with the flags and internal
# date of APPEND_OPTIONS; then every SEARCH of SEARCHES and every FETCH item of
# FETCH_ITEMS is sent and Dovecot's response recorded byte for byte (latin-1 text in
# the JSON): for FETCH, the bytes between `* N FETCH (` and the closing `)`.
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

HERE = Path(__file__).parent
DATES = ["17-Jul-1996 02:44:25 -0700", "01-Mar-2026 23:30:00 +0100", "02-Mar-2026 00:30:00 +0000",
         "05-Mar-2026 12:00:00 -0500", "31-Dec-2025 23:59:59 +0000"]
FLAGS = ["(\\Seen)", "()", "(\\Answered \\Flagged $Label1)", "(\\Deleted \\Draft)",
         "(\\Seen $Label1)"]
FETCH_ITEMS = [
    "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE",
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]",
    "BODY.PEEK[2.1]", "BODY.PEEK[2.2]", "BODY.PEEK[2.1.MIME]", "BODY.PEEK[3]", "BODY.PEEK[1.1]",
    "BODY.PEEK[HEADER.FIELDS (FROM to Subject)]", "BODY.PEEK[HEADER.FIELDS.NOT (From Received)]",
    "BODY.PEEK[2.HEADER.FIELDS (Subject)]", "BODY.PEEK[TEXT]<5.20>", "BODY.PEEK[]<100000.5>",
    "BODY.PEEK[1]<0.10>", "BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]", "BODY.PEEK[1.1.1]",
    "BODY.PEEK[1.2]", "BODY.PEEK[1.1.MIME]",
]
SEARCHES = [
    "ALL", "SEEN", "UNSEEN", "ANSWERED", "UNANSWERED", "FLAGGED", "UNFLAGGED", "DELETED",
    "UNDELETED", "DRAFT", "UNDRAFT", "KEYWORD $Label1", "UNKEYWORD $Label1", "NEW", "OLD",
    "RECENT", "FROM alice", "FROM \"Jürgen\"", "FROM \"müller\"", "TO bob", "CC ben", "BCC eve",
    "SUBJECT menu", "SUBJECT \"Prüfung der\"", "SUBJECT \"käse\"", "HEADER Message-ID crepes",
    "HEADER Content-Type alternative", "HEADER X-Missing \"\"", "BODY ketchup", "BODY \"Käse\"",
    "BODY \"crêpes\"", "BODY galettes", "TEXT ketchup", "TEXT \"Subject: Menu\"", "BODY Hamburg",
    "BEFORE 2-Mar-2026", "ON 1-Mar-2026", "ON 2-Mar-2026", "SINCE 2-Mar-2026",
    "SENTBEFORE 4-Mar-2026", "SENTON 5-Mar-2026", "SENTSINCE 5-Mar-2026",
    "LARGER 1000", "SMALLER 200", "UID 2:4", "UID 5:*", "2,4:5", "*", "NOT SEEN",
    "OR SEEN FLAGGED", "OR NOT FROM alice SMALLER 300 DELETED", "(SEEN UNFLAGGED) FROM alice",
    "TEXT menu.pdf", "BODY AAECAwQF", "BODY \"<p>\"", "BODY noir", "BODY \"Café\"",
    "HEADER Content-Language en", "SUBJECT \"\"", "FROM \"\"", "TEXT \"Crêpes\"",
    "SUBJECT \"folded subject\"", "SUBJECT \"Tabbed and\"", "BODY \"two lines\"",
    "TEXT \"Received: from\"", "BODY \"Subject: inner\"", "CC \"only a name\"",
    "FROM unclosed", "BODY core", "SUBJECT \"level 3\"", "TEXT \"level 39\"",
    "TEXT \"level 1\"", "BODY \"in two\"", "TO \"bob@hamburger.edu\"",
]


def append_options(index: int) -> tuple[str, str]:
    """The flags and internal date the index-th message is APPENDed with."""
    return FLAGS[index % len(FLAGS)], DATES[index % len(DATES)]


class RawClient:
    """An IMAP client that keeps the server's bytes as they are."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.file = self.sock.makefile("rb")
        self.tag = 0
        self.file.readline()

    def _response(self) -> bytes:
        data = b""
        while True:
            line = self.file.readline()
            data += line
            if line.endswith(b"}\r\n"):
                size = int(line[line.rindex(b"{") + 1:-3])
                data += self.file.read(size)
                continue
            return data

    def command(self, text: bytes, literal: bytes | None = None) -> list[bytes]:
        self.tag += 1
        tag = b"A%d" % self.tag
        if literal is not None:
            self.sock.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            self.file.readline()  # continuation
            self.sock.sendall(literal + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        responses: list[bytes] = []
        while True:
            response = self._response()
            if response.startswith(tag + b" "):
                if not response.startswith(tag + b" OK"):
                    raise RuntimeError(response)
                return responses
            responses.append(response)


def main() -> None:
    host, port, user, password = sys.argv[1:5]
    client = RawClient(host, int(port))
    client.command(f"LOGIN {user} {password}".encode())
    names = sorted(path.name for path in HERE.glob("*.eml"))
    for index, name in enumerate(names):
        flags, date = append_options(index)
        client.command(f'APPEND INBOX {flags} "{date}"'.encode(), (HERE / name).read_bytes())
    client.command(b"SELECT INBOX")
    searches = {}
    for criteria in SEARCHES:
        [answer] = [r for r in client.command(b"SEARCH CHARSET UTF-8 " + criteria.encode())
                    if r.startswith(b"* SEARCH")]
        searches[criteria] = [int(n) for n in answer.split()[2:]]
    fetches: dict[str, dict[str, str]] = {name: {} for name in names}
    for number, name in enumerate(names, 1):
        for item in FETCH_ITEMS:
            [answer] = client.command(b"FETCH %d (%s)" % (number, item.encode()))
            prefix = b"* %d FETCH (" % number
            assert answer.startswith(prefix) and answer.endswith(b")\r\n"), answer
            fetches[name][item] = answer[len(prefix):-3].decode("latin-1")
    result = {"messages": names, "searches": searches, "fetches": fetches}
    (HERE / "dovecot-answers.json").write_text(json.dumps(result, indent=1, ensure_ascii=False)
                                               + "\n")


if __name__ == "__main__":
    main()
