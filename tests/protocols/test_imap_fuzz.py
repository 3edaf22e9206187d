# Whatever a client sends, in whatever chunks, the IMAP machine answers with events and
# BAD/NO/BYE responses, never an exception, with bounded buffers; well-formed commands
# generated at random parse back into what they were made from.
from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.protocols import imap
from labctl.protocols.imap import replies
from labctl.protocols.imap_query import FetchItem, SearchKey, Section, SequenceRange, SequenceSet
from labctl.protocols.imap_values import quoted_or_literal

VOCABULARY = [
    b"a LOGIN alice pw\r\n", b"b SELECT INBOX\r\n", b"c APPEND INBOX {5}\r\n", b"hello\r\n",
    b"d APPEND INBOX {3+}\r\n", b"e IDLE\r\n", b"DONE\r\n", b"f AUTHENTICATE PLAIN\r\n",
    b"*\r\n", b"g FETCH 1:* (FLAGS BODY.PEEK[1]<0.40>)\r\n", b"h SEARCH OR (1 2) NOT 3\r\n",
    b"i LOGOUT\r\n", b"j STARTTLS\r\n", b"{999999999}\r\n", b"{70000+}\r\n", b"(((((",
    b"\r\n", b"\n", b"\r", b"\x00", b"\xff", b"x" * 5000, b'"', b"\\",
    b"k UID SEARCH " + b"NOT " * 100 + b"ALL\r\n", b"l FETCH 1 " + b"(" * 40 + b"\r\n",
]
chunks = st.lists(st.one_of(st.sampled_from(VOCABULARY), st.binary(max_size=40)), max_size=30)


def answer(event: imap.Event) -> list[imap.Response]:
    """A permissive application: accepts everything it can."""
    if isinstance(event, imap.ProtocolErrorEvent):
        return [event.reply]
    if isinstance(event, imap.LiteralAwaited):
        return [imap.continuation(replies.READY_FOR_LITERAL)]
    if isinstance(event, imap.AuthenticateResponse | imap.IdleDone):
        return [replies.COMPLETED.tagged(event.tag, name="it")]
    assert isinstance(event, imap.ImapCommandReceived)
    command = event.command
    if command.name == "IDLE" or (command.name == "AUTHENTICATE"
                                  and isinstance(command.arguments, imap.Authenticate)
                                  and command.arguments.initial_response is None):
        return [imap.continuation()]
    return [replies.COMPLETED.tagged(command.tag, name=command.name)]


def run(pieces: list[bytes], **options: int | bool) -> tuple[list[imap.Event], bytes]:
    """Feed the pieces one by one, answering every event; the events and the output."""
    conn = imap.ServerConnection(**options)  # type: ignore[arg-type]
    events: list[imap.Event] = []
    out = b""
    limit = imap.MAX_LINE + imap.MAX_COMMAND_TEXT + conn.max_append_size
    for piece in [*(p for p in pieces if p), b""]:  # b"" closes: only at the end
        conn.receive_data(piece)
        for _ in range(10_000):
            event = conn.next_event()
            if isinstance(event, imap.NeedData | imap.ConnectionClosed):
                break
            events.append(event)
            for response in answer(event):
                out += conn.send(response)
        else:
            raise AssertionError("events without end")
        assert conn.buffered_octets <= limit + len(piece)
    return events, out


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_garbage_never_raises_and_stays_bounded(pieces: list[bytes]) -> None:
    events, _ = run(pieces, max_append_size=4096, starttls=True)
    for event in events:
        if isinstance(event, imap.ProtocolErrorEvent):
            assert event.reply.status in ("BAD", "NO", "BYE")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY[:12]), min_size=1, max_size=8), st.data())
def test_any_split_parses_the_same(commands: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(commands)
    whole = run([stream])
    cut = data.draw(st.integers(0, len(stream)))
    assert run([stream[:cut], stream[cut:]]) == whole


def test_byte_by_byte_equals_all_at_once() -> None:
    stream = b"".join(VOCABULARY[:12])
    assert run([bytes([b]) for b in stream]) == run([stream])


# Well-formed commands made at random, with the value they must parse into.
texts = st.text(st.characters(codec="utf-8"), max_size=12)


@st.composite
def astring(draw: st.DrawFn) -> tuple[bytes, str]:
    text = draw(texts)
    form = draw(st.sampled_from(["quoted-or-literal", "literal", "literal+", "atom"]))
    raw = text.encode("utf-8")
    if form == "atom" and text.isascii() and text.isalnum():
        return raw, text
    if form == "literal":
        return b"{%d}\r\n" % len(raw) + raw, text
    if form == "literal+":
        return b"{%d+}\r\n" % len(raw) + raw, text
    return quoted_or_literal(raw), text


numbers = st.one_of(st.none(), st.integers(1, 2**32 - 1))
sequence_sets = st.lists(st.tuples(numbers, numbers), min_size=1, max_size=4).map(
    lambda pairs: SequenceSet(tuple(SequenceRange(a, b) for a, b in pairs)))


def render_set(value: SequenceSet) -> bytes:
    return str(value).encode("ascii")


sections = st.builds(
    Section, st.lists(st.integers(1, 99), max_size=3).map(tuple),
    st.sampled_from([None, "HEADER", "TEXT"]))
fetch_items = st.one_of(
    st.sampled_from(["FLAGS", "UID", "ENVELOPE", "RFC822.SIZE", "BODYSTRUCTURE"]).map(FetchItem),
    st.builds(lambda s, p, part: FetchItem("BODY", s, p, part), sections, st.booleans(),
              st.one_of(st.none(), st.tuples(st.integers(0, 999), st.integers(1, 999)))))


def render_item(item: FetchItem) -> bytes:
    if item.section is None:
        return item.name.encode()
    partial = b"<%d.%d>" % item.partial if item.partial else b""
    name = b"BODY.PEEK" if item.peek else b"BODY"
    return name + b"[" + str(item.section).encode() + b"]" + partial


@settings(max_examples=200, deadline=None)
@given(sequence_sets, st.lists(fetch_items, min_size=1, max_size=6), st.booleans())
def test_random_fetch_round_trips(messages: SequenceSet, items: list[FetchItem],
                                  uid: bool) -> None:
    line = b"t1 " + (b"UID " if uid else b"") + b"FETCH " + render_set(messages) + b" ("
    line += b" ".join(render_item(i) for i in items) + b")\r\n"
    assert imap.parse_command(line) == imap.ImapCommand(
        "t1", "FETCH", uid, imap.Fetch(messages, tuple(items)))


leaf_keys = st.one_of(
    st.sampled_from(["ALL", "SEEN", "UNSEEN", "DELETED", "FLAGGED"]).map(SearchKey),
    st.builds(lambda d: SearchKey("SINCE", (d,)), st.dates(datetime.date(1000, 1, 1))),
    st.builds(lambda n: SearchKey("LARGER", (n,)), st.integers(0, 2**32 - 1)),
    st.builds(lambda s: SearchKey("SEQUENCE", (s,)), sequence_sets),
    st.builds(lambda s: SearchKey("UID", (s,)), sequence_sets))
search_keys = st.recursive(leaf_keys, lambda inner: st.one_of(
    st.builds(lambda k: SearchKey("NOT", operands=(k,)), inner),
    st.builds(lambda a, b: SearchKey("OR", operands=(a, b)), inner, inner),
    st.lists(inner, min_size=1, max_size=3).map(
        lambda ks: SearchKey("AND", operands=tuple(ks)))), max_leaves=12)


def render_key(key: SearchKey) -> bytes:
    if key.name == "AND":
        return b"(" + b" ".join(render_key(k) for k in key.operands) + b")"
    words = [] if key.name == "SEQUENCE" else [key.name.encode()]
    for argument in key.arguments:
        if isinstance(argument, datetime.date):
            words.append(argument.strftime("%d-%b-%Y").encode())
        elif isinstance(argument, SequenceSet):
            words.append(render_set(argument))
        else:
            words.append(str(argument).encode())
    return b" ".join(words + [render_key(k) for k in key.operands])


@settings(max_examples=200, deadline=None)
@given(st.lists(search_keys, min_size=1, max_size=4))
def test_random_search_round_trips(keys: list[SearchKey]) -> None:
    line = b"s SEARCH " + b" ".join(render_key(k) for k in keys)
    try:
        parsed = imap.parse_command(line)
    except imap.CommandSyntaxError as error:  # only too deep a nesting may be refused
        assert "nesting deeper" in error.reason
        return
    assert parsed.arguments == imap.Search(None, SearchKey("AND", operands=tuple(keys)))


@settings(max_examples=200, deadline=None)
@given(astring(), astring())
def test_random_login_round_trips(user: tuple[bytes, str], password: tuple[bytes, str]) -> None:
    line = b"L LOGIN " + user[0] + b" " + password[0] + b"\r\n"
    assert imap.parse_command(line).arguments == imap.Login(user[1], password[1])
    events, _ = run([line])
    assert events[-1] == imap.ImapCommandReceived(imap.ImapCommand(
        "L", "LOGIN", False, imap.Login(user[1], password[1])))
    assert all(isinstance(e, imap.LiteralAwaited) for e in events[:-1])
