# /health and /lab: is the controller up, and what is the lab (roles, links, health).
from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel

from labctl.controller.deps import StateDep

router = APIRouter(tags=["lab"])


class RolePublic(BaseModel):
    name: str
    program: str
    hostname: str
    addresses: dict[str, str]  # network -> address
    health: str


class LinkPublic(BaseModel):
    client: str
    server: str
    network: str
    protocols: list[str]


class LabPublic(BaseModel):
    name: str
    runtime: str
    healthy: bool
    roles: list[RolePublic]
    links: list[LinkPublic]


@router.get("/health")
def health(state: StateDep) -> dict[str, str]:
    """The controller answers."""
    return {
        "status": "ok",
        "runtime": state.plan.runtime.value,
        "instance": state.plan.instance.name,
        "capture_mode": state.captures.mode,
    }


@router.get("/lab")
async def lab(state: StateDep) -> LabPublic:
    """The lab's roles (with their agents' health) and links."""
    model = state.plan.lab
    healths = await asyncio.gather(*(state.agents.health(r.name) for r in model.roles))
    roles = [
        RolePublic(
            name=role.name, program=role.program, hostname=role.hostname,
            addresses={n: state.plan.address(role, n) for n in role.networks}, health=h,
        )
        for role, h in zip(model.roles, healths, strict=True)
    ]
    links = [
        LinkPublic(client=k.client, server=k.server, network=k.network,
                   protocols=sorted(k.protocols))
        for k in model.links
    ]
    return LabPublic(
        name=model.name, runtime=state.plan.runtime.value,
        healthy=all(h == "ok" for h in healths), roles=roles, links=links,
    )
