# Traffic analysis: capture files in, graded material out.
#
# pcap_reader → packet_decode → tcp_reassembly / udp_flows → identify → dialogs (one
# Dialog per conversation) → transcript → hops. pipeline.iter_conversations streams a
# capture of any size (each conversation as soon as its connection is over); the entry
# points below collect a whole file's conversations, for the lab's captures. Each stage
# is importable on its own (labctl.capture writes pcaps with its own pcap_writer; the
# checks read each conversation's dialog).
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labctl.analysis.dialog import Dialog, Step
from labctl.analysis.dialogs import build_dialog
from labctl.analysis.hops import conversation_from_stream, group_into_hops, lab_link_of
from labctl.analysis.identify import identify_protocol
from labctl.analysis.pcap_reader import PcapError
from labctl.analysis.pipeline import CaptureConversations, CaptureStreams, iter_conversations
from labctl.analysis.results import Conversation, Endpoint, Hop, Segment
from labctl.analysis.transcript import build_transcript
from labctl.model.addressing import Addressing

__all__ = [
    "CaptureConversations", "Conversation", "Dialog", "Endpoint", "Hop", "PcapAnalysis",
    "PcapError", "Segment", "Step", "analyze_captures", "analyze_pcap", "analyze_pcap_file",
    "build_dialog", "build_transcript", "identify_protocol", "iter_conversations",
    "lab_link_of",
]


@dataclass
class PcapAnalysis:
    """Everything one capture file yields: conversations and notes about the file."""

    path: str
    network: str
    conversations: list[Conversation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    incomplete: bool = False  # the file is damaged: only the part before it was analysed


def analyze_pcap_file(path: str | Path, network: str, addressing: Addressing) -> PcapAnalysis:
    """Analyse one whole capture file, conversations in order of their first packet;
    PcapError when it cannot be read at all."""
    streams = CaptureStreams(path)
    found = [(stream.first_packet, conversation_from_stream(stream, network, addressing))
             for stream in streams]
    conversations = [conversation for _, conversation in sorted(found, key=lambda f: f[0])]
    return PcapAnalysis(str(path), network, conversations, streams.problems,
                        streams.comments, streams.incomplete)


def analyze_pcap(path: str | Path, network: str, addressing: Addressing) -> list[Conversation]:
    """The conversations (one per TCP connection) of one capture file."""
    return analyze_pcap_file(path, network, addressing).conversations


def analyze_captures(pcaps: dict[str, Path], addressing: Addressing) -> list[Hop]:
    """Hops of every network's capture ({network: pcap path}), in the given order."""
    hops: list[Hop] = []
    for network, path in pcaps.items():
        analysis = analyze_pcap_file(path, network, addressing)
        for hop in group_into_hops(analysis.conversations, network, str(path)):
            hop.problems += analysis.problems
            hop.comments += analysis.comments
            hop.incomplete = analysis.incomplete
            hops.append(hop)
    return hops
