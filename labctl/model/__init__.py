# The lab model: topology (roles, networks, links, users) and per-runtime addressing.
from labctl.model.addressing import Addressing, Runtime, addressing
from labctl.model.topology import (
    HTTP,
    IMAP,
    INTERNET,
    LAB,
    MGMT,
    POP3,
    SMTP,
    UNKNOWN,
    Lab,
    Link,
    Network,
    Role,
    Service,
    User,
)

__all__ = [
    "HTTP", "IMAP", "INTERNET", "LAB", "MGMT", "POP3", "SMTP", "UNKNOWN",
    "Addressing", "Lab", "Link", "Network", "Role", "Runtime", "Service", "User", "addressing",
]
