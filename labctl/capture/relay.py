# A recording TCP relay, for runs where packets cannot be captured (no root, no tap).
#
# RecordingRelay listens on one (ip, port), forwards each accepted connection to a
# target (ip, port) and, while recording, writes what it relays into a pcapng file as
# synthesized Ethernet/IPv4/TCP packets (handshake, data with consistent seq/ack, FIN or
# RST). The section comment says so: the file is not a packet capture. Addresses are
# the real ones as the relay sees them: client = the accepted connection's peer,
# server = the address the relay listens on. The analyzer reads these files like any
# capture.
#
# Sharing: every relay of one network records into the same file. Recordings are kept
# in a registry keyed by the resolved path; start_recording() on a path that is already
# open joins it, and the file is closed when the last relay stops recording into it.
# The first to open a recording sets its size limit (the capture session does, so it
# can read the count of packets past the limit before it leaves).
# Relays run on one asyncio loop; the registry itself is also safe across threads.
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import ClassVar

from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import TcpStreamSynthesizer
from labctl.capture.pcap_writer import PcapngWriter

RELAY_COMMENT = (
    "maillab recording relay: synthesized from relayed TCP streams, not captured packets"
)
CHUNK = 65536


class SharedRecording:
    """One pcapng file that several relays write into; closed by its last user."""

    _open: ClassVar[dict[Path, SharedRecording]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.path = path
        self.writer = PcapngWriter(path, comment=RELAY_COMMENT, limit=limit)
        self.users = 0
        self._write_lock = threading.Lock()

    @classmethod
    def join(cls, path: str | Path, limit: int | None = None) -> SharedRecording:
        """Open the recording at `path` (capped at `limit` bytes), or join it when open."""
        key = Path(path).resolve()
        with cls._lock:
            recording = cls._open.get(key)
            if recording is None:
                key.parent.mkdir(parents=True, exist_ok=True)
                recording = cls._open[key] = cls(key, limit)
            recording.users += 1
            return recording

    def leave(self) -> None:
        """Stop using the recording; the last user closes the file."""
        with self._lock:
            self.users -= 1
            if self.users == 0:
                del self._open[self.path]
                with self._write_lock:
                    self.writer.close()

    def write_packet(self, timestamp: float, frame: bytes) -> None:
        """Append one frame (the packet sink the synthesizer writes to)."""
        with self._write_lock:
            if self.users:
                self.writer.write_packet(timestamp, frame)


class _RelayedConnection:
    """A relayed connection and, while it is being recorded, its synthesizer."""

    def __init__(self, client: Endpoint, server: Endpoint) -> None:
        self.client = client
        self.server = server
        self.recording: SharedRecording | None = None
        self.synthesizer: TcpStreamSynthesizer | None = None

    def recorder(self, current: SharedRecording | None) -> TcpStreamSynthesizer | None:
        """The synthesizer for the relay's current recording (new one when it changed)."""
        if current is None:
            self.recording = self.synthesizer = None
        elif current is not self.recording:
            self.recording = current
            self.synthesizer = TcpStreamSynthesizer(current, self.client, self.server)
        return self.synthesizer


class RecordingRelay:
    """Forwards TCP connections from `listen` to `target`, recording them on demand."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.listen = listen
        self.target = target
        self._server: asyncio.Server | None = None
        self._recording: SharedRecording | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._address = listen

    @property
    def address(self) -> tuple[str, int]:
        """The (ip, port) listened on; after start() the real port when `listen` had 0."""
        return self._address

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._accept, self.listen[0], self.listen[1])
        ip, port = self._server.sockets[0].getsockname()[:2]
        self._address = (str(ip), int(port))

    async def stop(self) -> None:
        """Stop listening, drop the relayed connections and stop recording."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.stop_recording()

    async def wait_idle(self) -> None:
        """Wait until every connection relayed so far has ended on both sides."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def start_recording(self, pcap_path: str | Path) -> None:
        """Record connections from now on into `pcap_path` (shared with other relays)."""
        self.stop_recording()
        self._recording = SharedRecording.join(pcap_path)

    def stop_recording(self) -> None:
        """Stop recording; the file closes when no other relay records into it."""
        if self._recording is not None:
            self._recording.leave()
            self._recording = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._relay(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _relay(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        peer_ip, peer_port = client_writer.get_extra_info("peername")[:2]
        connection = _RelayedConnection(Endpoint(peer_ip, peer_port), Endpoint(*self.address))
        try:
            # From the client's own address, so the server sees the real client (Received, SPF).
            server_reader, server_writer = await asyncio.open_connection(
                *self.target, local_addr=(peer_ip, 0))
        except OSError:
            synthesizer = connection.recorder(self._recording)
            if synthesizer is not None:
                synthesizer.handshake(time.time())
                synthesizer.reset(False, time.time())
            client_writer.close()
            return
        synthesizer = connection.recorder(self._recording)
        if synthesizer is not None:
            synthesizer.handshake(time.time())
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer, True, connection),
                self._pipe(server_reader, client_writer, False, connection),
            )
        finally:
            for writer in (client_writer, server_writer):
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    from_client: bool, connection: _RelayedConnection) -> None:
        try:
            while data := await reader.read(CHUNK):
                synthesizer = connection.recorder(self._recording)
                if synthesizer is not None:
                    synthesizer.data(from_client, data, time.time())
                writer.write(data)
                await writer.drain()
        except OSError:
            synthesizer = connection.recorder(self._recording)
            if synthesizer is not None:
                synthesizer.reset(from_client, time.time())
            writer.close()
            return
        synthesizer = connection.recorder(self._recording)
        if synthesizer is not None:
            synthesizer.fin(from_client, time.time())
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
