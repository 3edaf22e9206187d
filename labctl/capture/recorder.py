# The recorder interface: what every way of recording the lab (tcpdump, the recording
# relays) offers the capture manager, and the result of one recording — each network's
# pcap with the notes about what it may be missing (a size limit reached, packets the
# kernel dropped). The notes are written here once, so both recorders say the same.
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DEFAULT_LIMIT_BYTES = 100 * 1000 * 1000  # per network's pcap (MAILLAB_CAPTURE_LIMIT_MB)
MIN_LIMIT_BYTES = 1000  # room for the file's header and a packet or two


class CaptureError(RuntimeError):
    """A capture could not be started or did not end cleanly."""


@dataclass
class NetworkRecording:
    """One network's pcap and what is known to be missing from it."""

    pcap: Path
    problems: list[str] = field(default_factory=list)


class Recorder(Protocol):
    """Records every captured network of the lab into one pcap each."""

    async def start(self) -> None: ...

    async def stop(self) -> dict[str, NetworkRecording]: ...


def megabytes(size: int) -> str:
    """A byte count as the settings name it ("100 MB")."""
    return f"{size / 1e6:g} MB"


def limit_note(network: str, limit: int, packets_not_recorded: int) -> str:
    """The note for a capture that reached its size limit."""
    return (f"capture of {network} stopped at the {megabytes(limit)} limit; "
            f"{packets_not_recorded} later packet(s) not recorded")


def dropped_note(network: str, dropped: int, where: str) -> str:
    """The note for packets the capture lost (`where`: 'by kernel', 'by interface')."""
    return (f"capture of {network}: {dropped} packet(s) dropped {where} "
            f"(sent on the network but missing from the pcap)")
