"""The classic socket-programming exercise, solved: send Alice's message to Bob through
Alice's mail server, speaking SMTP over a plain TCP socket.

The lab gives the server's address as MAIL_SERVER=host:port. Each command is sent
with CRLF and its reply read (and its code checked) before the next; the message ends
with a line holding a lone ".". This is the reference program of
scenarios/smtp-client.yaml: `labctl run scenarios/smtp-client.yaml --role
sender-ua=COMMAND` grades a student's own version the same way.
"""
import os
import socket
import sys
from typing import BinaryIO

MESSAGE = [
    "From: alice@crepes.fr",
    "To: bob@hamburger.edu",
    "Subject: I love computer networks!",
    "",
    "Hi Bob,",
    "",
    "this message went over a socket I opened myself.",
    "",
    "Alice",
]


def read_reply(reader: BinaryIO) -> list[str]:
    """One reply (a multi-line one too); exit when the server closed the connection."""
    lines: list[str] = []
    while True:
        line = reader.readline().decode("ascii", "replace").rstrip("\r\n")
        if not line:
            sys.exit("the server closed the connection")
        print("S:", line)
        lines.append(line)
        if line[3:4] != "-":
            return lines


def command(sock: socket.socket, reader: BinaryIO, text: str, expected: str) -> None:
    """Send one command line and check that the reply has the `expected` code."""
    print("C:", text)
    sock.sendall(text.encode("ascii") + b"\r\n")
    expect(reader, expected)


def expect(reader: BinaryIO, expected: str) -> None:
    code = read_reply(reader)[-1][:3]
    if code != expected:
        sys.exit(f"expected {expected}, got {code}")


def main() -> None:
    host, _, port = os.environ["MAIL_SERVER"].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        reader = sock.makefile("rb")
        expect(reader, "220")
        command(sock, reader, "HELO alice-pc.crepes.fr", "250")
        command(sock, reader, "MAIL FROM:<alice@crepes.fr>", "250")
        command(sock, reader, "RCPT TO:<bob@hamburger.edu>", "250")
        command(sock, reader, "DATA", "354")
        for line in MESSAGE:
            stuffed = "." + line if line.startswith(".") else line
            sock.sendall(stuffed.encode("utf-8") + b"\r\n")
        command(sock, reader, ".", "250")
        command(sock, reader, "QUIT", "221")


if __name__ == "__main__":
    main()
