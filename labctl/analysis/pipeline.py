# The analyzer's pipeline over one capture file, streaming: records are read chunk by
# chunk (pcap_reader), decoded (packet_decode), reassembled into TCP connections and
# UDP flows (tcp_reassembly, udp_flows), and each conversation is handed over as soon
# as it is over. Memory is bounded by the connections open at once, not by the file.
#
# A file that is not a capture raises PcapError at once. Damage later in the file (a
# corrupt record, a cut last packet) ends the reading there: what was read is still
# analysed, the problem is noted and the result is marked incomplete.
# UDP is kept only where it carries DNS (the lab's only UDP protocol, told by content);
# any other datagram is noise like ARP or ICMPv6: counted in a note, never a conversation.
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from labctl.analysis.hops import conversation_from_stream
from labctl.analysis.identify import is_dns_message
from labctl.analysis.packet_decode import (
    TcpPacket,
    iter_decoded,
    skipped_notes,
    unreadable_link_layer,
)
from labctl.analysis.pcap_reader import PcapError, open_capture
from labctl.analysis.results import Conversation
from labctl.analysis.tcp_reassembly import TcpConnections, TcpStream
from labctl.analysis.udp_flows import UdpFlows
from labctl.model.addressing import Addressing

EXPIRY_INTERVAL = 4096  # TCP packets between two looks for idle connections


class CaptureStreams:
    """The TCP connections and UDP flows of one capture file, as they end.

    Iterate once. `problems` (about the file and the packets skipped), `comments` (the
    file's own) and `incomplete` are complete when the iteration has ended."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._file, self._reader = open_capture(path)
        self.comments = self._reader.comments
        self.problems: list[str] = []
        self.skipped: Counter[str] = Counter()
        self.incomplete = False

    def __iter__(self) -> Iterator[TcpStream]:
        tcp, udp = TcpConnections(), UdpFlows()
        feed_tcp, feed_udp = tcp.feed, udp.feed
        until_expiry = EXPIRY_INTERVAL
        try:
            try:
                for packet in iter_decoded(self._reader.views(), self.skipped):
                    if type(packet) is TcpPacket:
                        ended = feed_tcp(packet)
                        if ended is not None:
                            yield ended
                        until_expiry -= 1
                        if not until_expiry:
                            until_expiry = EXPIRY_INTERVAL
                            yield from tcp.expire(packet.timestamp)
                    else:
                        yield from self._dns_only(feed_udp(packet))  # type: ignore[arg-type]
            except PcapError as error:  # damage inside the file: keep what was read
                self.incomplete = True
                self.problems.append(f"{self.path}: {error}; the packets before it are "
                                     "analysed, the rest of the file is not (incomplete result)")
            yield from tcp.finish()
            yield from self._dns_only(udp.finish())
        finally:
            self._file.close()
            if self._reader.problems or unreadable_link_layer(self.skipped):
                self.incomplete = True
            self.problems[:0] = self._reader.problems
            self.problems += skipped_notes(self.skipped)


    def _dns_only(self, flows: Iterable[TcpStream]) -> Iterator[TcpStream]:
        for flow in flows:
            first = next((segment.data for segment in flow.segments if segment.data), b"")
            if is_dns_message(first):
                yield flow
            else:
                self.skipped["UDP that is not DNS"] += len(flow.segments)


class CaptureConversations:
    """The conversations of one capture file, each as soon as its connection is over.

    Iterate once; then `problems`, `comments` and `incomplete` say what the file held
    besides conversations (see CaptureStreams). Without `transcripts` the conversations
    carry no transcript lines (a view that shows none saves making them)."""

    def __init__(self, path: str | Path, network: str, addressing: Addressing,
                 transcripts: bool = True) -> None:
        self.streams = CaptureStreams(path)
        self.network, self.addressing, self.transcripts = network, addressing, transcripts

    @property
    def problems(self) -> list[str]:
        return self.streams.problems

    @property
    def comments(self) -> list[str]:
        return self.streams.comments

    @property
    def incomplete(self) -> bool:
        return self.streams.incomplete

    def __iter__(self) -> Iterator[Conversation]:
        for stream in self.streams:
            yield conversation_from_stream(stream, self.network, self.addressing,
                                           self.transcripts)


def iter_conversations(path: str | Path, network: str, addressing: Addressing,
                       transcripts: bool = True) -> CaptureConversations:
    """The conversations of a capture as their connections end; PcapError when `path`
    is not a readable capture at all."""
    return CaptureConversations(path, network, addressing, transcripts)
