"""An SMTP client with one deliberate fault (the first argument), for the student-mode
tests: each fault must be graded down by scenarios/smtp-client.yaml on the right check.

  correct        no fault
  helo-typo      HELLO instead of HELO
  no-final-dot   the message is never ended by a lone "."
  bare-lf        every line ends with LF alone
  no-wait        every command is sent at once, without reading the replies between
  straight-to-bob  the message goes to Bob's server (RECEIVER_MTA), not Alice's
  hang           the program never ends (stopped at the step's timeout)
"""
import os
import socket
import sys
import time

FAULT = sys.argv[1]
MESSAGE = ["From: alice@crepes.fr", "To: bob@hamburger.edu",
           "Subject: I love computer networks!", "", "Hi Bob!"]


def main() -> None:
    if FAULT == "hang":
        print("thinking...")
        while True:
            time.sleep(1)
    server = os.environ["RECEIVER_MTA" if FAULT == "straight-to-bob" else "MAIL_SERVER"]
    host, _, port = server.rpartition(":")
    end = b"\n" if FAULT == "bare-lf" else b"\r\n"
    helo = "HELLO" if FAULT == "helo-typo" else "HELO"
    lines = [f"{helo} alice-pc.crepes.fr", "MAIL FROM:<alice@crepes.fr>",
             "RCPT TO:<bob@hamburger.edu>", "DATA", *MESSAGE]
    if FAULT != "no-final-dot":
        lines.append(".")
    lines.append("QUIT")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        reader = sock.makefile("rb")

        def reply() -> None:
            try:
                print(reader.readline())
            except TimeoutError:
                print("no reply")

        reply()
        if FAULT == "no-wait":
            sock.sendall(b"".join(line.encode() + end for line in lines))
        else:
            for line in lines:
                sock.sendall(line.encode() + end)
                if line not in MESSAGE:
                    reply()
        reply()


if __name__ == "__main__":
    main()
