# From reassembled streams to graded material: Conversations (protocol, roles, dialog,
# transcript, problems) and Hops (all conversations between one client role and one
# server role in one capture).
#
# Roles come from the runtime's addressing plan (`Addressing.role_at`); an address no
# lab role owns gets role None. Hops are reported whether or not the lab declares a
# link between the two roles: a hop that is no LAB link (mallory → receiver-mta,
# sender-ua → receiver-mta) is exactly what the bypass check looks for.
from __future__ import annotations

from labctl.analysis.dialogs import build_dialog
from labctl.analysis.identify import identify_conversation
from labctl.analysis.results import Conversation, Hop
from labctl.analysis.tcp_reassembly import TcpStream
from labctl.analysis.transcript import build_transcript
from labctl.model.addressing import Addressing
from labctl.model.topology import Link


def role_of(ip: str, addressing: Addressing) -> str | None:
    """The lab role owning `ip` in this runtime, or None."""
    owner = addressing.role_at(ip)
    return owner[0] if owner else None


def conversation_from_stream(stream: TcpStream, network: str, addressing: Addressing,
                             transcript: bool = True) -> Conversation:
    """Identify, transcribe and attribute one reassembled TCP connection (without its
    transcript lines when `transcript` is False: a view that shows none)."""
    conversation = Conversation(
        client=stream.client,
        server=stream.server,
        network=network,
        protocol="",
        client_role=role_of(stream.client.ip, addressing),
        server_role=role_of(stream.server.ip, addressing),
        segments=list(stream.segments),
        handshake=stream.handshake,
        closed=stream.closed,
        start=stream.start,
        end=stream.end,
        problems=list(stream.problems),
        transport=stream.transport,
        phases=stream.phases,
    )
    conversation.protocol = identify_conversation(conversation.segments, conversation.transport)
    conversation.dialog = build_dialog(conversation.protocol, conversation.segments,
                                       conversation.transport)
    if transcript:
        conversation.transcript = build_transcript(conversation.dialog)
    notes = list(conversation.dialog.problems)
    if stream.retransmissions:
        notes.append(f"{stream.retransmissions} retransmitted or duplicate segment(s) ignored")
    for note in notes:
        if note not in conversation.problems:
            conversation.problems.append(note)
    return conversation


def group_into_hops(conversations: list[Conversation], network: str, pcap: str) -> list[Hop]:
    """One Hop per (client role, server role), in order of first conversation."""
    hops: dict[tuple[str | None, str | None], Hop] = {}
    for conversation in conversations:
        key = (conversation.client_role, conversation.server_role)
        if key not in hops:
            hops[key] = Hop(conversation.client_role, conversation.server_role, network, pcap)
        hops[key].conversations.append(conversation)
    return list(hops.values())


def lab_link_of(hop: Hop, addressing: Addressing) -> Link | None:
    """The LAB link this hop runs on, or None (a non-lab host or a bypassing path)."""
    if hop.client_role is None or hop.server_role is None:
        return None
    return addressing.lab.link_between(hop.client_role, hop.server_role)
