# Where a program that replaces a role finds the lab's mail servers: the environment
# variables a student's program is given (MAIL_SERVER, SENDER_MTA, RECEIVER_MTA).
#
# MAIL_SERVER is the role's own mail server's SMTP port (25 on compose, its local port
# on the local backend) on the network they share: the classic socket-programming
# client sends there. Every mail server is also named by its role (SENDER_MTA,
# RECEIVER_MTA): at its address on a network the role is on, else at its address on the
# internet network, the one its DNS name gives, which a role not on that network
# cannot reach (as Alice's PC cannot, in the lab, reach Bob's server but through hers).
from __future__ import annotations

from labctl.model.addressing import Addressing
from labctl.model.topology import INTERNET, MGMT

MAIL_SERVER = "MAIL_SERVER"


def variable_of(role: str) -> str:
    """The environment variable naming mail server `role`: sender-mta -> SENDER_MTA."""
    return role.upper().replace("-", "_")


def program_targets(plan: Addressing, role_name: str) -> dict[str, tuple[str, int]]:
    """The (host, port) of each mail server's SMTP service for a program replacing
    `role_name`, by environment variable; MAIL_SERVER when the role has a mail server."""
    role = plan.lab.role(role_name)
    targets: dict[str, tuple[str, int]] = {}
    for server in plan.lab.mail_servers():
        shared = [n for n in role.networks if n != MGMT and n in server.networks]
        network = shared[0] if shared else INTERNET
        targets[variable_of(server.name)] = (plan.address(server, network),
                                            plan.port(server, "smtp"))
    if role.server is not None:
        targets[MAIL_SERVER] = targets[variable_of(role.server)]
    return targets
