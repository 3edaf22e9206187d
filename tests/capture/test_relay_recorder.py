# A capture session recorded by the recording relays: one pcap per network, shared by
# the network's relays, capped at the size limit with a note saying what was left out.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labctl.analysis import analyze_pcap_file
from labctl.capture.relay import RecordingRelay, SharedRecording
from labctl.capture.relay_recorder import RelaySession
from labctl.model import INTERNET, SMTP
from tests.capture.smtp_peers import send_messages
from tests.conftest import TEST_PLAN

SENDER_MTA = TEST_PLAN.address("sender-mta", INTERNET)
RECEIVER_MTA = TEST_PLAN.address("receiver-mta", INTERNET)


@pytest.fixture
async def relays(smtp_server: tuple[str, int]) -> AsyncIterator[list[tuple[str, RecordingRelay]]]:
    """Two relays on the internet network, in front of one SMTP server."""
    pair = [(INTERNET, RecordingRelay((RECEIVER_MTA, 0), smtp_server)),
            (INTERNET, RecordingRelay((SENDER_MTA, 0), smtp_server))]
    for _, relay in pair:
        await relay.start()
    yield pair
    for _, relay in pair:
        await relay.stop()


async def _record(relays: list[tuple[str, RecordingRelay]], directory: Path, limit: int,
                  messages: int) -> tuple[Path, list[str]]:
    session = RelaySession(relays, [INTERNET], directory, limit)
    await session.start()
    for _, relay in relays:
        await asyncio.to_thread(send_messages, relay.address, SENDER_MTA, messages)
    recordings = await session.stop()
    assert list(recordings) == [INTERNET] and not SharedRecording._open
    return recordings[INTERNET].pcap, recordings[INTERNET].problems


async def test_every_relayed_session_is_recorded_without_a_note(
    tmp_path: Path, relays: list[tuple[str, RecordingRelay]]
) -> None:
    pcap, problems = await _record(relays, tmp_path, 10**7, messages=5)
    assert problems == []
    conversations = analyze_pcap_file(pcap, INTERNET, TEST_PLAN).conversations
    assert len(conversations) == 10 and {c.protocol for c in conversations} == {SMTP}


async def test_limit_reached_keeps_whole_packets_and_says_so(
    tmp_path: Path, relays: list[tuple[str, RecordingRelay]]
) -> None:
    pcap, problems = await _record(relays, tmp_path, 4000, messages=5)
    assert pcap.stat().st_size <= 4000
    [note] = problems
    assert note.startswith(f"capture of {INTERNET} stopped at the 0.004 MB limit; ")
    assert note.endswith("later packet(s) not recorded")
    analysis = analyze_pcap_file(pcap, INTERNET, TEST_PLAN)
    assert analysis.problems == [] and 0 < len(analysis.conversations) < 10
