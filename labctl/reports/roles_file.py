# The roles file of `labctl analyze --roles`: which role owns which address, so that
# any capture (a student's own, not the lab's) gets its hops named by role.
#
#   roles:                      # role name -> one address or a list of addresses
#     sender-ua: 10.0.1.10
#     sender-mta: [10.0.1.25, 10.0.2.25]
#     receiver-mta: 2001:db8::26
#   networks:                   # optional: network name -> the roles on it
#     alice-lan: [sender-ua, sender-mta]
#
# Unknown keys are refused; every problem is one RolesError line naming the file, the
# line and the field (the line found as the scenario loader finds it).
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from labctl.scenarios.loader import _line_of, _path


def _canonical(address: str) -> str:
    """The address as ipaddress writes it (so ::0001 and ::1 are one address)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(f"{address!r} is not an IPv4 or IPv6 address") from None


Address = Annotated[str, AfterValidator(_canonical)]


class RolesError(Exception):
    """A roles file that cannot be used; str() is one line: file, line, field, problem."""


class RolesFile(BaseModel):
    """Role names and their addresses; optionally the networks the roles sit on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[str, list[Address]]
    networks: dict[str, list[str]] = {}

    @field_validator("roles", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _networks_name_roles(self) -> RolesFile:
        for network, roles in self.networks.items():
            unknown = [r for r in roles if r not in self.roles]
            if unknown:
                raise ValueError(f"network {network} names unknown role(s) "
                                 f"{', '.join(unknown)} (roles: {', '.join(self.roles)})")
        return self

    def role_at(self, ip: str) -> str | None:
        """The role owning address `ip`, or None."""
        try:
            wanted = str(ipaddress.ip_address(ip))
        except ValueError:
            return None
        for role, addresses in self.roles.items():
            if wanted in addresses:
                return role
        return None


def load_roles(path: str | Path) -> RolesFile:
    """Read and validate a roles file; RolesError (one line) on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as error:
        raise RolesError(f"{source}: cannot read the roles file: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise RolesError(f"{where}: YAML syntax error: {error.problem}") from None
    except yaml.YAMLError as error:
        raise RolesError(f"{source}: YAML syntax error: {error}") from None
    if not isinstance(data, dict):
        raise RolesError(f"{source}:1: a roles file is a mapping with 'roles:' "
                         "(role name -> address or list of addresses)")
    try:
        return RolesFile.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        field = _path(list(problem["loc"]))
        line = _line_of(root, field)
        text = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            text = "unknown field (fields: roles, networks)"
        elif problem["type"] == "missing":
            text = "missing required field (role name -> address or list of addresses)"
        where = f"{source}:{line}" if line is not None else source
        raise RolesError(f"{where}: {field + ': ' if field else ''}{text}") from None
