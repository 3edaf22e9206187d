# UDP flows: datagrams of a capture → one stream per flow (DNS over UDP, mostly).
#
# A flow is the datagrams between two address:port pairs. Its client is the side that
# sent the first datagram seen, unless that side sent from port 53 to another port (a
# DNS answer whose query the capture missed). Every datagram is one Segment: UDP has
# no byte stream to merge. UDP has no close either, so a flow is handed over once it
# has been idle for UDP_IDLE seconds of capture time, or when the capture ends.
from __future__ import annotations

from collections import OrderedDict

from labctl.analysis.packet_decode import UdpDatagram
from labctl.analysis.results import Endpoint, Segment
from labctl.analysis.tcp_reassembly import TcpStream

UDP_IDLE = 60.0
DNS_PORT = 53
Key = tuple[str, int, str, int]


class UdpFlows:
    """The UDP flows seen recently; `feed` datagrams in capture order."""

    def __init__(self) -> None:
        self.flows: OrderedDict[Key, TcpStream] = OrderedDict()  # client→server key, by idle

    def feed(self, datagram: UdpDatagram) -> list[TcpStream]:
        """Account for one datagram; the flows that went idle before it."""
        key = (datagram.src, datagram.sport, datagram.dst, datagram.dport)
        reverse = (datagram.dst, datagram.dport, datagram.src, datagram.sport)
        from_client = True
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows.get(reverse)
            if flow is not None:
                key, from_client = reverse, False
        if flow is None:
            if datagram.sport == DNS_PORT and datagram.dport != DNS_PORT:
                key, from_client = reverse, False
            flow = TcpStream(Endpoint(key[0], key[1]), Endpoint(key[2], key[3]),
                             start=datagram.timestamp, transport="udp",
                             first_packet=datagram.number)
            self.flows[key] = flow
        else:
            self.flows.move_to_end(key)
        flow.segments.append(Segment(from_client, datagram.payload, datagram.timestamp))
        flow.end = datagram.timestamp
        flow.packets += 1
        if datagram.truncated:
            flow.problems.append(f"packet {datagram.number}: datagram cut short by the "
                                 "capture's snap length")
        return self._idle(datagram.timestamp)

    def _idle(self, now: float) -> list[TcpStream]:
        idle: list[TcpStream] = []
        while self.flows:
            key, oldest = next(iter(self.flows.items()))
            if oldest.end >= now - UDP_IDLE:
                break
            del self.flows[key]
            idle.append(oldest)
        return idle

    def finish(self) -> list[TcpStream]:
        """Every flow not yet handed over (the capture ended)."""
        flows = list(self.flows.values())
        self.flows.clear()
        return flows
