# Whatever the contract admits, composing either makes a message (with Date and
# Message-ID, parseable again) or fails with ComposeError naming the field: never
# another exception, which the agent would turn into a 500.
from __future__ import annotations

from email import message_from_bytes, policy

from hypothesis import example, given, settings
from hypothesis import strategies as st

from labctl.agent_contract import SendRequest
from roles.useragent.compose_message import ComposeError, compose_message, message_bytes

FIELD_NAMES = st.one_of(
    st.sampled_from(["Date", "Message-ID", "To", "From", "Cc", "Reply-To", "Subject",
                     "Sender", "Resent-Date", "In-Reply-To", "References", "X-Lab"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"),
            min_size=1, max_size=20),
)
HEADER_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=80)


@settings(max_examples=300, deadline=None)
@given(headers=st.dictionaries(FIELD_NAMES, HEADER_TEXT, max_size=4), subject=HEADER_TEXT,
       body=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
       eight_bit=st.booleans())
@example(headers={"To": ":;0"}, subject="", body="", eight_bit=False)  # an empty group
def test_composing_never_fails_but_with_compose_error(
    headers: dict[str, str], subject: str, body: str, eight_bit: bool
) -> None:
    try:
        request = SendRequest(to="bob@hamburger.edu", subject=subject, body=body,
                              headers=headers)
    except ValueError:
        return  # refused by the contract (a 422 naming the field)
    try:
        raw = message_bytes(compose_message("alice@crepes.fr", request, eight_bit))
    except ComposeError as error:
        assert str(error).startswith("headers"), error
        return
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Date"] is not None and parsed["Message-ID"] is not None
