# The lab model: topology (roles, networks, links, users), lab instances and
# per-runtime addressing.
from labctl.model.addressing import Addressing, addressing
from labctl.model.instance import (
    DEFAULT_INSTANCE,
    InstanceError,
    LabInstance,
    Runtime,
    current_instance,
)
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
    "DEFAULT_INSTANCE", "HTTP", "IMAP", "INTERNET", "LAB", "MGMT", "POP3", "SMTP", "UNKNOWN",
    "Addressing", "InstanceError", "Lab", "LabInstance", "Link", "Network", "Role", "Runtime",
    "Service", "User", "addressing", "current_instance",
]
