# How the IMAP observer writes a client command down: its text and the facts a grader needs.
#
# The command comes from the server machine's grammar (labctl.protocols.imap_grammar) as
# an ImapCommand, or, when the grammar refused it, as its raw bytes only. The step's text
# is the command as sent (tag included, line endings as "\n", APPEND's message left out:
# it is the PAYLOAD step after the command). The ImapAction's arguments say what the
# command acts on: the folder (SELECT, CREATE...), the messages and items (FETCH), the
# flags (STORE), the target folder (COPY, MOVE); LOGIN keeps only the user name.
# StepRecorder holds the dialog the observer (imap.py) builds: a command's step and its
# ImapAction, found again by tag when the tagged response comes, and the doubts (commands
# the grammar refused, a problem only if the server refused them too).
from __future__ import annotations

from dataclasses import replace

from labctl.analysis.dialog import COMMAND, PAYLOAD, Dialog, ImapAction, Step
from labctl.analysis.dialogs.streams import OffsetClock
from labctl.model.topology import IMAP
from labctl.protocols.imap_commands import (
    Append,
    Authenticate,
    Copy,
    Fetch,
    ImapCommand,
    Login,
    Mailbox,
    Rename,
    Store,
)
from labctl.protocols.imap_grammar import parse_head
from labctl.protocols.imap_query import FetchItem
from labctl.protocols.imap_tokens import CommandSyntaxError


def message_start(raw: bytes, message: bytes) -> int:
    """Where APPEND's message starts in the command: it is the last literal, before the
    command's final line ending."""
    ending = 2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0
    return len(raw) - ending - len(message)


def command_text(raw: bytes, command: ImapCommand | None = None) -> str:
    """The command as sent, without its final line ending and without APPEND's message."""
    if command is not None and isinstance(command.arguments, Append):
        raw = raw[:message_start(raw, command.arguments.message)]
    return raw.replace(b"\r\n", b"\n").decode("utf-8", "backslashreplace").rstrip("\n")


def command_label(command: ImapCommand) -> str:
    """The step label: the command name, "UID FETCH" with the UID prefix."""
    return f"UID {command.name}" if command.uid else command.name


def head_of(raw: bytes) -> tuple[str, str] | None:
    """(tag, label) of a command the grammar refused, when at least its head parses."""
    try:
        tag, name, uid = parse_head(raw.split(b"\n", 1)[0])
    except CommandSyntaxError:
        return None
    return tag, f"UID {name}" if uid else name


def fetch_item_text(item: FetchItem) -> str:
    """A FETCH item as the client asked for it: `BODY.PEEK[1.MIME]<0.40>`."""
    if item.section is None:
        return item.name
    partial = f"<{item.partial[0]}.{item.partial[1]}>" if item.partial is not None else ""
    return f"BODY{'.PEEK' if item.peek else ''}[{item.section}]{partial}"


def action_arguments(command: ImapCommand, text: str) -> str:
    """What the command acts on, in words a grader can compare (see the module comment)."""
    arguments = command.arguments
    if isinstance(arguments, Mailbox):
        return arguments.mailbox
    if isinstance(arguments, Rename):
        return f"{arguments.existing} {arguments.new}"
    if isinstance(arguments, Fetch):
        items = " ".join(fetch_item_text(item) for item in arguments.items)
        return f"{arguments.messages} ({items})"
    if isinstance(arguments, Store):
        silent = ".SILENT" if arguments.silent else ""
        return f"{arguments.messages} {arguments.mode}FLAGS{silent} ({' '.join(arguments.flags)})"
    if isinstance(arguments, Copy):
        return f"{arguments.messages} {arguments.mailbox}"
    if isinstance(arguments, Append):
        flags = f" ({' '.join(arguments.flags)})" if arguments.flags else ""
        return f"{arguments.mailbox}{flags} {len(arguments.message)} octets"
    if isinstance(arguments, Login):
        return arguments.user
    if isinstance(arguments, Authenticate):
        return arguments.mechanism
    return raw_arguments(text)


def raw_arguments(text: str) -> str:
    """The text after the tag and command name (and UID) of a command as sent."""
    words = text.split(" ", 3)
    skip = 3 if len(words) > 2 and words[1].upper() == "UID" else 2
    return " ".join(words[skip:])


def announced_part(data: bytearray, size: int) -> bytes:
    """The command up to its line announcing a literal of `size` octets (the machine holds
    it until the literal comes)."""
    for ending in (b"}\r\n", b"}\n"):
        found = data.find(b"{%d%s" % (size, ending))
        if found >= 0:
            return bytes(data[:found + len(str(size)) + 1 + len(ending)])
    return bytes(data)


def command_label_of(raw: bytes) -> str | None:
    """The label of a command whose literal is still to come."""
    head = head_of(raw)
    return head[1] if head is not None else None


class StepRecorder:
    """The IMAP dialog being built: commands by tag, their actions, and the doubts."""

    def __init__(self) -> None:
        self.dialog = Dialog(IMAP)
        self.client, self.server = OffsetClock(True), OffsetClock(False)
        self.command_start = 0  # client offset of the command being read
        self.open_step: int | None = None  # its step, recorded before its literal
        self.unanswered: dict[str, tuple[int, int]] = {}  # tag -> (step, action) indexes
        self.doubts: dict[str, str] = {}  # tag -> why the grammar refused the command

    def doubt(self, tag: str, label: str, reason: str) -> None:
        """The grammar refuses the command: a problem unless the server accepts it."""
        where = self.client.where(self.command_start)
        self.doubts[tag] = f"{where}: {label} refused by the grammar: {reason}"

    def record_command(self, tag: str, label: str, text: str, arguments: str) -> None:
        step = Step(True, COMMAND, label, text, self.client.time_at(self.command_start))
        if self.open_step is not None:  # the command announced a literal: now it is whole
            self.dialog.steps[self.open_step] = step
            _, action = self.unanswered[tag]
            self.dialog.imap[action] = replace(self.dialog.imap[action], arguments=arguments)
            return
        self.unanswered[tag] = (len(self.dialog.steps), len(self.dialog.imap))
        self.dialog.steps.append(step)
        self.dialog.imap.append(ImapAction(label, arguments, ""))

    def add_step(self, from_client: bool, kind: str, label: str, text: str, offset: int,
                 code: str | None = None, answers: int | None = None, data: bytes = b"") -> None:
        side = self.client if from_client else self.server
        self.dialog.steps.append(Step(from_client, kind, label, text, side.time_at(offset),
                                      code, answers, data))

    def add_payload(self, from_client: bool, label: str, data: bytes, offset: int) -> None:
        self.add_step(from_client, PAYLOAD, label, f"{len(data)} octets", offset, data=data)
