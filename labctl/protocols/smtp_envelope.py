# MAIL FROM and RCPT TO checked against the extensions the server offers.
#
# The grammar (smtp_grammar.parse_path) splits a path into address and parameters;
# here each problem gets the reply RFC 5321/6531 and RFC 3463 give it, so the state
# machine can hand the application a ready error: a bad sender 501 5.1.7, a bad
# recipient 501 5.1.3, a non-ASCII address without SMTPUTF8 553 5.6.7, an unknown
# parameter 555 5.5.4, a bad parameter value 501 5.5.4, a too-large SIZE 552 5.3.4.
from __future__ import annotations

from dataclasses import dataclass

from labctl.protocols import smtp_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.numbers import parse_ascii_number
from labctl.protocols.smtp_events import MailFrom, RcptTo
from labctl.protocols.smtp_grammar import AddressError, Reply, parse_path
from labctl.protocols.smtp_replies import ReplyTemplate

MAX_SIZE_DIGITS = 20  # esize-value = 1*20DIGIT (RFC 1870)
BODY_TYPES = frozenset({"7BIT", "8BITMIME"})  # RFC 6152; BINARYMIME is not offered


class EnvelopeError(ProtocolError):
    """A MAIL/RCPT command refused by the grammar; `reply` is the error to send."""

    def __init__(self, reply: Reply, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply


@dataclass(frozen=True)
class Offers:
    """The extensions the server offers that change how commands are read."""

    max_message_size: int
    smtputf8: bool = False  # RFC 6531: UTF-8 addresses allowed with MAIL ... SMTPUTF8
    starttls: bool = False  # RFC 3207: a certificate is configured, STARTTLS is accepted


def mail_from(argument: str, offers: Offers) -> MailFrom:
    """The MailFrom event for `argument`, or EnvelopeError with the reply to send."""
    address, parameters = _path(argument, "FROM", replies.BAD_SENDER_SYNTAX)
    known = {"SIZE", "BODY", "AUTH"} | ({"SMTPUTF8"} if offers.smtputf8 else set())
    _refuse_unknown(parameters, known)
    size = parameters.get("SIZE")
    if size is not None and _number(size) > offers.max_message_size:
        raise EnvelopeError(replies.MESSAGE_TOO_BIG(),
                            f"SIZE={size} above {offers.max_message_size}")
    body = parameters.get("BODY")
    if body is not None and body.upper() not in BODY_TYPES:
        raise _syntax(f"BODY={body} is not 7BIT or 8BITMIME")
    if parameters.get("SMTPUTF8", "") != "":
        raise _syntax("SMTPUTF8 takes no value")
    utf8 = "SMTPUTF8" in parameters
    if not utf8 and not address.isascii():
        raise _needs_smtputf8(offers, "sender")
    return MailFrom(address, parameters)


def rcpt_to(argument: str, offers: Offers, smtputf8_transaction: bool) -> RcptTo:
    """The RcptTo event for `argument`, or EnvelopeError with the reply to send."""
    address, parameters = _path(argument, "TO", replies.BAD_RECIPIENT_SYNTAX)
    if not address:
        raise _syntax("RCPT TO needs a non-empty address")
    _refuse_unknown(parameters, set())
    if not smtputf8_transaction and not address.isascii():
        raise _needs_smtputf8(offers, "recipient")
    return RcptTo(address, parameters)


def _path(argument: str, keyword: str, address_problem: ReplyTemplate,
          ) -> tuple[str, dict[str, str]]:
    try:
        return parse_path(argument, keyword)
    except AddressError as exc:
        raise EnvelopeError(address_problem(reason=exc.reason), exc.reason) from exc
    except ProtocolError as exc:
        raise _syntax(exc.reason) from exc


def _refuse_unknown(parameters: dict[str, str], known: set[str]) -> None:
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise EnvelopeError(replies.UNSUPPORTED_PARAMETER(name=unknown[0]),
                            f"unknown parameter {unknown[0]}")


def _number(size: str) -> int:
    try:
        return parse_ascii_number(size, "SIZE", MAX_SIZE_DIGITS)
    except ProtocolError as exc:
        raise _syntax(exc.reason) from exc


def _needs_smtputf8(offers: Offers, who: str) -> EnvelopeError:
    hint = "add SMTPUTF8 to MAIL FROM" if offers.smtputf8 else "SMTPUTF8 is not offered"
    return EnvelopeError(replies.NON_ASCII_ADDRESS(who=who, hint=hint),
                         f"non-ASCII {who} address without SMTPUTF8")


def _syntax(reason: str) -> EnvelopeError:
    return EnvelopeError(replies.SYNTAX_ERROR(reason=reason), reason)
