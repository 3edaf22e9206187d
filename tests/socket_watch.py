# Keeps the test suite off the default lab. A lab the user left running captures
# 127.77.N.0/24 (local) or 198.18.N.0/24 (compose); traffic a test sent there would land
# in their pcaps and could change their grade, and its controller answers on
# 127.0.0.1:8025/8026. While the suite runs, every socket of the test process that binds,
# connects or sends to an address goes through SocketWatch: an address of the default
# instance's networks, or its controllers' endpoints, is refused (PermissionError, as a
# firewall would) and remembered, so the test that tried fails even when the code
# under test swallowed the error. Programs the tests start (Postfix, swaks, telnet...)
# are outside its reach; they get their addresses from the test lab's servers.
from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from labctl.model import DEFAULT_INSTANCE, LAB, Addressing, Runtime, addressing

WATCHED_CALLS = ("bind", "connect", "connect_ex", "sendto")
IPv4Networks = tuple[ipaddress.IPv4Network, ...]


def lab_networks(plans: list[Addressing]) -> IPv4Networks:
    """The /24 of every network of LAB in each of the given addressing plans."""
    return tuple(ipaddress.IPv4Network(plan.subnet(network))
                 for plan in plans for network in LAB.networks)


DEFAULT_PLANS = [addressing(runtime, instance=DEFAULT_INSTANCE) for runtime in Runtime]
DEFAULT_LAB_NETWORKS = lab_networks(DEFAULT_PLANS)
DEFAULT_CONTROLLERS = frozenset(("127.0.0.1", plan.controller_port) for plan in DEFAULT_PLANS)


def _ipv4(address: object) -> ipaddress.IPv4Address | None:
    """The IPv4 address of a socket address tuple, None for anything else (names, paths)."""
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return None
    try:
        return ipaddress.IPv4Address(address[0])
    except ValueError:
        return None


@dataclass
class SocketWatch:
    """Refuses and records socket calls on `forbidden` networks or endpoints; records binds."""

    forbidden: IPv4Networks
    forbidden_endpoints: frozenset[tuple[str, int]] = frozenset()
    refused: list[str] = field(default_factory=list)  # "connect 127.77.2.26:2525", ...
    bound: list[tuple[str, int]] = field(default_factory=list)  # IPv4 (host, port)s bound
    binds_allowed: bool = False  # see allowing_binds()
    _saved: dict[str, Any] = field(default_factory=dict)

    def check(self, call: str, address: object) -> None:
        """PermissionError (remembered) when `call` is on a forbidden address."""
        ip = _ipv4(address)
        if ip is None:
            return
        assert isinstance(address, tuple)
        if call == "bind" and self.binds_allowed:
            return
        if (any(ip in network for network in self.forbidden)
                or (str(ip), address[1]) in self.forbidden_endpoints):
            what = f"{call} {ip}:{address[1]}"
            self.refused.append(what)
            raise PermissionError(errno.EPERM, f"{what}: the default lab's, which a lab the "
                                  "user left running captures; tests use the test lab's")

    @contextmanager
    def allowing_binds(self) -> Iterator[None]:
        """Let the block bind anywhere (to squat the default lab's ports); nothing is sent."""
        self.binds_allowed = True
        try:
            yield
        finally:
            self.binds_allowed = False

    def install(self) -> None:
        """Route socket.socket's bind, connect, connect_ex and sendto through check()."""
        for call in WATCHED_CALLS:
            self._saved[call] = socket.socket.__dict__.get(call)
            setattr(socket.socket, call, self._watched(call, getattr(socket.socket, call)))

    def uninstall(self) -> None:
        """Give socket.socket its own methods back."""
        for call, saved in self._saved.items():
            if saved is None:
                delattr(socket.socket, call)
            else:
                setattr(socket.socket, call, saved)
        self._saved.clear()

    def _watched(self, call: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def watched(sock: socket.socket, *args: Any) -> Any:
            self.check(call, args[-1] if call == "sendto" else args[0])
            result = original(sock, *args)
            if call == "bind" and sock.family == socket.AF_INET:
                host, port = sock.getsockname()
                self.bound.append((host, port))
            return result
        watched.__name__ = call
        return watched
