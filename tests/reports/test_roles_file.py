# The roles file: one address or a list per role, IPv4 and IPv6 written any way,
# networks naming only known roles, unknown keys refused.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.reports import RolesError, load_roles


def test_roles_name_addresses_written_any_way(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("roles:\n  a: 10.0.0.1\n  b: ['2001:DB8::0001', 10.0.0.2]\n"
                    "networks:\n  lan: [a, b]\n")
    roles = load_roles(path)
    assert roles.roles == {"a": ["10.0.0.1"], "b": ["2001:db8::1", "10.0.0.2"]}
    assert (roles.role_at("2001:db8:0::1"), roles.role_at("10.0.0.1")) == ("b", "a")
    assert roles.role_at("10.0.0.3") is None and roles.role_at("not an address") is None
    assert roles.networks == {"lan": ["a", "b"]}


def test_roles_are_required(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("networks: {}\n")
    with pytest.raises(RolesError, match=r"roles.yaml:1: roles: missing required field"):
        load_roles(path)
