# The capture-mode choice: tcpdump where this process may capture packets, else the
# recording relays. The controller and the local backend both decide with this, so the
# backend announces the mode the controller will really use.
from __future__ import annotations

import shutil
import socket

from labctl.capture.recorder import CaptureError

CAPTURE_MODES = ("auto", "tcpdump", "relay")


def can_capture_packets() -> bool:
    """True when tcpdump is installed and this process may open raw packet sockets."""
    if shutil.which("tcpdump") is None:
        return False
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


def resolve_capture_mode(mode: str) -> str:
    """'tcpdump' or 'relay'; 'auto' is tcpdump where this process may capture packets."""
    if mode == "auto":
        return "tcpdump" if can_capture_packets() else "relay"
    if mode not in CAPTURE_MODES:
        raise CaptureError(f"unknown capture mode {mode!r} (auto, tcpdump or relay)")
    return mode
