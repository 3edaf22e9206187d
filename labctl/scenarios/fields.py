# The field rules shared by the scenario file's models (steps and checks): strict models,
# lab role names, hops, mail addresses, and the cross-field error that names its field.
#
# They live apart from schema.py so that the check types (labctl.scenarios.checks), which
# schema.py's Scenario is built from, can use them without importing the Scenario.
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from labctl.model import LAB


class FieldProblem(ValueError):
    """A cross-field problem that knows the field path it is about (e.g. checks[2].role)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Strict(BaseModel):
    """A scenario file model: unknown keys rejected, immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def user_agent(role: str) -> str:
    """Return `role` if it is one of LAB's user agents, else raise ValueError."""
    agents = [r.name for r in LAB.roles if r.program == "useragent"]
    if role not in agents:
        raise ValueError(f"unknown user agent role {role!r} (user agents: {', '.join(agents)})")
    return role


def lab_role(role: str) -> str:
    """Return `role` if it is one of LAB's roles, else raise ValueError."""
    if role not in LAB.role_names():
        raise ValueError(f"unknown role {role!r} (roles: {', '.join(LAB.role_names())})")
    return role


def hands_on_role(role: str) -> str:
    """A role a person at its keyboard, or a program replacing it, can act from: a user
    agent or mallory (their agents type SMTP sessions and run programs)."""
    roles = [r.name for r in LAB.roles if r.program in ("useragent", "mallory")]
    if role not in roles:
        raise ValueError(f"{role!r} is not a role one can act from by hand or by program "
                         f"(those that are: {', '.join(roles)})")
    return role


def mail_server(role: str) -> str:
    """Return `role` if it is one of LAB's mail servers, else raise ValueError."""
    names = [r.name for r in LAB.mail_servers()]
    if role not in names:
        raise ValueError(f"{role!r} is not a mail server (mail servers: {', '.join(names)})")
    return role


def mail_address(value: str) -> str:
    """A mail address like bob@hamburger.edu, lower-cased; ValueError otherwise."""
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a mail address like bob@hamburger.edu")
    return value.lower()


def _pair(value: str) -> tuple[str, str]:
    client, arrow, server = value.partition("->")
    if not arrow:
        raise ValueError(f"{value!r} is not a hop like sender-ua -> sender-mta")
    return client.strip(), server.strip()


def canonical_hop(value: str) -> str:
    """Normalize "a->b" to "a -> b" and check it is one of LAB's links (ValueError if not)."""
    client, server = _pair(value) if "->" in value else (value, "")
    if LAB.link_between(client, server) is None:
        hops = ", ".join(link.name for link in LAB.links)
        raise ValueError(f"unknown hop {value!r} (hops: {hops})")
    return f"{client} -> {server}"


def role_pair(value: str) -> str:
    """Normalize "a->b" naming any two lab roles (a lab link or a path that bypasses one)."""
    client, server = _pair(value)
    for role in (client, server):
        lab_role(role)
    if client == server:
        raise ValueError(f"{value!r} names the same role twice")
    return f"{client} -> {server}"


LAST_SEND: Literal["last send"] = "last send"  # of_step: the scenario's last send step
