# Capture sessions: each has an id, a folder under the captures directory holding one
# pcap per lab network, and (once stopped) what each pcap is known to miss and its
# analysis. The packets are recorded by a Recorder: tcpdump where this process may
# capture, else the recording relays (see mode.py).
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labctl.analysis import analyze_captures
from labctl.analysis.results import Hop
from labctl.capture.mode import resolve_capture_mode
from labctl.capture.plan import capture_plan
from labctl.capture.recorder import (
    DEFAULT_LIMIT_BYTES,
    MIN_LIMIT_BYTES,
    CaptureError,
    Recorder,
)
from labctl.capture.relay_recorder import RelayRecorders
from labctl.capture.tcpdump import TcpdumpCapture
from labctl.model import Addressing


class CaptureStateError(RuntimeError):
    """A capture was asked to do what its state does not allow (e.g. stop twice)."""


@dataclass
class CaptureSession:
    id: str
    directory: Path
    started: float
    recorder: Recorder | None
    limit: int  # bytes each network's pcap may hold
    pcaps: dict[str, Path] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # network -> notes
    hops: list[Hop] | None = None

    @property
    def running(self) -> bool:
        return self.recorder is not None


class CaptureManager:
    """Starts, stops and analyses capture sessions."""

    def __init__(
        self,
        plan: Addressing,
        root: Path,
        mode: str = "auto",
        public_path: Callable[[Path], str] = str,
        limit: int = DEFAULT_LIMIT_BYTES,
    ) -> None:
        self.plan = plan
        self.root = root
        self.mode = resolve_capture_mode(mode)
        self.public_path = public_path  # how reports name a pcap for the user
        self.limit = limit  # bytes per network's pcap
        self.sessions: dict[str, CaptureSession] = {}
        self.relays = RelayRecorders(plan) if self.mode == "relay" else None

    async def open(self) -> None:
        """Start the recording relays (relay mode only)."""
        if self.relays is not None:
            await self.relays.start()

    def _recorder(self, directory: Path, limit: int) -> Recorder:
        if self.relays is not None:
            return self.relays.recorder(directory, limit)
        return TcpdumpCapture(capture_plan(self.plan), directory, limit)

    async def start(self, label: str = "capture", limit: int | None = None) -> CaptureSession:
        """Start recording every lab network into a new session folder (default limit)."""
        limit = self.limit if limit is None else limit
        if limit < MIN_LIMIT_BYTES:
            raise CaptureError(f"capture size limit {limit} bytes is below {MIN_LIMIT_BYTES}")
        session_id = f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        directory = self.root / session_id
        recorder = self._recorder(directory, limit)
        await recorder.start()
        session = CaptureSession(session_id, directory, time.time(), recorder, limit)
        self.sessions[session_id] = session
        return session

    def get(self, session_id: str) -> CaptureSession:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise KeyError(f"no capture {session_id!r}") from None

    async def stop(self, session_id: str) -> CaptureSession:
        """Stop recording; the session's pcaps are complete when this returns."""
        session = self.get(session_id)
        if session.recorder is None:
            raise CaptureStateError(f"capture {session_id} is already stopped")
        recorder, session.recorder = session.recorder, None
        recordings = await recorder.stop()
        session.pcaps = {network: r.pcap for network, r in recordings.items()}
        session.problems = {network: r.problems for network, r in recordings.items()}
        return session

    def analyse(self, session_id: str) -> list[Hop]:
        """Analyse a stopped session's pcaps (cached); each hop carries its pcap's notes."""
        session = self.get(session_id)
        if session.running:
            raise CaptureStateError(f"capture {session_id} is still running; stop it first")
        if session.hops is None:
            hops = analyze_captures(session.pcaps, self.plan)
            for hop in hops:
                hop.problems = session.problems.get(hop.network, []) + hop.problems
                hop.pcap = self.public_path(Path(hop.pcap))
            session.hops = hops
        return session.hops

    async def close(self) -> None:
        """Stop every running session, then the relays."""
        for session in list(self.sessions.values()):
            if session.running:
                await self.stop(session.id)
        if self.relays is not None:
            await self.relays.stop()
