# The mail server's IMAP policy (RFC 3501 + IDLE, UIDPLUS, MOVE, LITERAL+, NAMESPACE,
# UNSELECT, SASL-IR) on labctl.protocols.imap's machine, aiosmtpd style.
#
# Theory of operation
# -------------------
# One ImapSession per connection; the machine (imap.ServerConnection, driven by
# imap_listener.py) owns the protocol state: which commands are allowed, literals,
# the AUTHENTICATE and IDLE phases. The session owns the policy and what the user did:
#   - `address`: who logged in (LOGIN or AUTHENTICATE PLAIN against the lab's users,
#     a local part or a full address, as POP3 and SMTP AUTH); a failed login is held
#     back auth_failure_delay_seconds x failures so far (the I/O layer awaits
#     take_reply_delay()) and answered NO [AUTHENTICATIONFAILED];
#   - `selected`: the SelectedMailbox (imap_selected.py), the session's numbered view
#     of its folder; after a command in the selected state the view is refreshed and
#     what changed is reported before the tagged response (expunges not after FETCH,
#     STORE or SEARCH, RFC 3501 7.4.1). It looks at the folder (a listing, O(messages))
#     only when it may have changed: the store announced a change (`folder_changed`,
#     set by the I/O layer), the command is one clients poll with or that adds mail
#     (LOOKS), or the last look is older than imap_selected.LOOK_INTERVAL (changes
#     made by another process are not announced) - so a client fetching message after
#     message does not list the folder each time.
# handle() turns one event into the responses to send, the tagged (or continuation)
# one last; the folder and message commands are in imap_mailbox_commands.py and
# imap_message_commands.py. needs_disk() tells the I/O layer which events to run in a
# worker thread; handle_in_batches() gives their responses in batches, one hop each
# (FETCH: a batch of messages at a time, so the client reads the first while the next
# is made), the last one ending with the tagged response.
from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable, Iterator

from labctl.protocols import imap
from roles.mailserver import imap_mailbox_commands as folders
from roles.mailserver import imap_message_commands as messages
from roles.mailserver.imap_selected import InvalidSequence, SelectedMailbox
from roles.mailserver.maildir_layout import SEPARATOR
from roles.mailserver.printable import printable
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes

log = logging.getLogger("mailserver")
replies = imap.replies
Responses = list[imap.Response]
CAPABILITIES = ("IMAP4rev1", "SASL-IR", "LITERAL+", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE",
                "UNSELECT")
NO_DISK = frozenset({"CAPABILITY", "LOGOUT", "STARTTLS", "LOGIN", "AUTHENTICATE", "IDLE",
                     "NAMESPACE"})
NO_EXPUNGES = frozenset({"FETCH", "STORE", "SEARCH"})  # RFC 3501 7.4.1
LEAVES_MAILBOX = frozenset({"SELECT", "EXAMINE", "CLOSE", "UNSELECT", "LOGOUT"})
LOOKS = frozenset({"NOOP", "CHECK", "APPEND", "COPY", "MOVE", "EXPUNGE"})  # always look
FolderCommand = Callable[[Mailboxes, str, imap.ImapCommand], Responses]
MessageCommand = Callable[[SelectedMailbox, imap.ImapCommand], Responses]
FOLDER_COMMANDS: dict[str, FolderCommand] = {
    "LIST": folders.list_folders, "LSUB": folders.list_folders, "CREATE": folders.create,
    "DELETE": folders.delete, "RENAME": folders.rename, "SUBSCRIBE": folders.subscription,
    "UNSUBSCRIBE": folders.subscription, "APPEND": folders.append}
MESSAGE_COMMANDS: dict[str, MessageCommand] = {
    "FETCH": messages.fetch, "STORE": messages.store, "SEARCH": messages.search,
    "COPY": messages.copy, "MOVE": messages.copy, "EXPUNGE": messages.expunge}


class ImapSession:
    """Policy and selected mailbox of one IMAP connection."""

    def __init__(self, settings: MailServerSettings, peer: str, mailboxes: Mailboxes) -> None:
        self.settings, self.peer, self.mailboxes = settings, peer, mailboxes
        self.address: str | None = None
        self.selected: SelectedMailbox | None = None
        self.tls = False  # STARTTLS accepted: the dialog continues over TLS
        self.failures = 0
        self.reply_delay = 0.0
        # The selected folder may have changed since the view last looked: set by the I/O
        # layer from the store's change notification (and on each new selection).
        self.folder_changed = True

    def capabilities(self) -> list[str]:
        """What the server offers now (STARTTLS and AUTH= only before login)."""
        offered = list(CAPABILITIES)
        if self.address is None:
            if self.settings.tls_dir is not None and not self.tls:
                offered.append("STARTTLS")
            offered.append("AUTH=PLAIN")
        return offered

    def greeting(self) -> imap.Response:
        """The untagged OK greeting, with the capabilities."""
        return replies.GREETING.untagged(hostname=self.settings.hostname,
                                         capabilities=" ".join(self.capabilities()))

    def needs_disk(self, event: imap.Event) -> bool:
        """True for events whose handling touches the disk (run them in a worker thread)."""
        return (isinstance(event, imap.ImapCommandReceived)
                and event.command.name not in NO_DISK)

    def take_reply_delay(self) -> float:
        """The delay to apply before the responses just produced (then reset)."""
        delay, self.reply_delay = self.reply_delay, 0.0
        return delay

    def watched(self) -> tuple[str, str] | None:
        """(address, folder) whose changes IDLE waits for, or None."""
        if self.address is None or self.selected is None:
            return None
        return self.address, self.selected.folder

    def idle_updates(self) -> Responses:
        """What changed in the selected folder, for a client in IDLE (touches the disk)."""
        return self.selected.refresh(expunges_allowed=True) if self.selected else []

    def handle(self, event: imap.Event) -> Responses:
        """The responses to one event, the tagged or continuation response last."""
        return [response for batch in self.handle_in_batches(event) for response in batch]

    def handle_in_batches(self, event: imap.Event) -> Iterator[Responses]:
        """handle() in batches to send as they come (FETCH: a batch of messages at a
        time); only the last ends with the tagged or continuation response."""
        if isinstance(event, imap.ProtocolErrorEvent):
            yield [event.reply]
        elif isinstance(event, imap.LiteralAwaited):
            yield [imap.continuation(replies.READY_FOR_LITERAL)]
        elif isinstance(event, imap.AuthenticateResponse):
            yield [self._authenticate_response(event)]
        elif isinstance(event, imap.IdleDone):
            yield [replies.COMPLETED.tagged(event.tag, name="IDLE")]
        elif isinstance(event, imap.ImapCommandReceived):
            yield from self._command_in_batches(event.command)
        else:
            yield []

    def _command_in_batches(self, command: imap.ImapCommand) -> Iterator[Responses]:
        try:
            for batch in self._batches(command):
                if batch and batch[-1].tag != replies.UNTAGGED:  # the last: tagged or "+"
                    yield self._with_changes(command, batch)
                    return
                if batch:  # an empty one would read as the end (every message gone)
                    yield batch
        except InvalidSequence as exc:
            yield [replies.SYNTAX_ERROR.tagged(command.tag, reason=str(exc))]
        except OSError as exc:
            log.error("imap-failed peer=%s command=%s: %s", self.peer, command.name, exc)
            yield [replies.CANNOT.tagged(command.tag, reason=f"{command.name} failed")]

    def _batches(self, command: imap.ImapCommand) -> Iterator[Responses]:
        if command.name == "FETCH" and self.selected is not None:
            yield from messages.fetch_in_batches(self.selected, command)
        else:
            yield self._command(command)

    def _with_changes(self, command: imap.ImapCommand, responses: Responses) -> Responses:
        """`responses` with the selected view's changes before the tagged one, when the
        folder may have changed."""
        selected = self.selected
        if selected is None or command.name in LEAVES_MAILBOX or command.name in NO_DISK:
            return responses
        expunges = command.name not in NO_EXPUNGES
        if (self.folder_changed or command.name in LOOKS or selected.stale()
                or (expunges and selected.owes_expunges)):
            responses[-1:-1] = selected.refresh(expunges)
            self.folder_changed = False
        return responses

    def _command(self, command: imap.ImapCommand) -> Responses:
        name, tag, arguments = command.name, command.tag, command.arguments
        if name == "CAPABILITY":
            return [replies.capability(self.capabilities()),
                    replies.COMPLETED.tagged(tag, name=name)]
        if name == "LOGOUT":
            return [replies.LOGGING_OUT.untagged(hostname=self.settings.hostname),
                    replies.COMPLETED.tagged(tag, name=name)]
        if name == "STARTTLS":
            self.tls = True
            return [replies.BEGIN_TLS.tagged(tag)]
        if name == "LOGIN":
            assert isinstance(arguments, imap.Login)
            return [self._check_password(tag, arguments.user, arguments.password)]
        if name == "AUTHENTICATE":
            assert isinstance(arguments, imap.Authenticate)
            return [self._authenticate(tag, arguments)]
        if name == "NOOP" or name == "CHECK":
            return [replies.COMPLETED.tagged(tag, name=name)]
        if name == "IDLE":
            return [imap.continuation(replies.IDLING)]
        if name == "NAMESPACE":
            return [replies.namespace([("", SEPARATOR)]),
                    replies.COMPLETED.tagged(tag, name=name)]
        address = self.address
        assert address is not None, "the machine lets only logged-in sessions this far"
        if name in ("SELECT", "EXAMINE"):
            return self._select(command, address)
        if name == "STATUS":
            return folders.status(self.mailboxes, address, command, self.selected)
        if name in FOLDER_COMMANDS:
            return FOLDER_COMMANDS[name](self.mailboxes, address, command)
        selected = self.selected
        assert selected is not None, "the machine lets only a selected session this far"
        if name in ("CLOSE", "UNSELECT"):
            if name == "CLOSE" and not selected.read_only:
                messages.remove_deleted(selected)
            self.selected = None
            return [replies.COMPLETED.tagged(tag, name=name)]
        return MESSAGE_COMMANDS[name](selected, command)

    def _select(self, command: imap.ImapCommand, address: str) -> Responses:
        arguments = command.arguments
        assert isinstance(arguments, imap.Mailbox)
        self.selected = None  # RFC 3501 6.3.1: even a failed SELECT leaves the old one
        read_only = command.name == "EXAMINE"
        view = SelectedMailbox(self.mailboxes, address, arguments.mailbox, read_only)
        try:
            responses = view.open()
        except (KeyError, ValueError):
            return [replies.NO_SUCH_MAILBOX.tagged(command.tag, mailbox=arguments.mailbox)]
        self.selected = view
        done = replies.SELECTED_READ_ONLY if read_only else replies.SELECTED_READ_WRITE
        return [*responses, done.tagged(command.tag, name=command.name)]

    def _authenticate(self, tag: str, arguments: imap.Authenticate) -> imap.Response:
        if arguments.mechanism != "PLAIN":
            mechanism = printable(arguments.mechanism, 40)
            return replies.UNKNOWN_MECHANISM.tagged(tag, mechanism=mechanism)
        if arguments.initial_response is None:
            return imap.continuation("")
        return self._plain(tag, arguments.initial_response)

    def _authenticate_response(self, event: imap.AuthenticateResponse) -> imap.Response:
        if event.cancelled:
            return replies.AUTHENTICATE_CANCELLED.tagged(event.tag)
        return self._plain(event.tag, event.response)

    def _plain(self, tag: str, response: str) -> imap.Response:
        """RFC 4616 PLAIN: [authzid] NUL authcid NUL password, base64 ("=" is empty)."""
        try:
            decoded = base64.b64decode("" if response == "=" else response, validate=True)
            parts = decoded.decode("utf-8").split("\0")
        except (binascii.Error, UnicodeDecodeError):
            parts = []
        if len(parts) != 3:
            return self._failed(tag, "(malformed PLAIN response)")
        return self._check_password(tag, parts[1], parts[2])

    def _check_password(self, tag: str, login: str, password: str) -> imap.Response:
        user = self.settings.local_user(login)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return self._failed(tag, login)
        self.address = user.address
        log.info("imap-login peer=%s user=%s", self.peer, user.address)
        return replies.LOGGED_IN.tagged(tag, capabilities=" ".join(self.capabilities()))

    def _failed(self, tag: str, login: str) -> imap.Response:
        self.failures += 1
        self.reply_delay = self.settings.auth_failure_delay_seconds * self.failures
        log.info("imap-auth-failed peer=%s login=%s failures=%d", self.peer, printable(login, 80),
                 self.failures)
        return replies.LOGIN_FAILED.tagged(tag)
