# /captures: start and stop per-link captures, download each network's pcap, and
# read the analysis (hops, protocols, transcripts) of a stopped capture.
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from labctl.capture.manager import CaptureSession, CaptureStateError
from labctl.capture.recorder import MIN_LIMIT_BYTES, CaptureError
from labctl.controller.deps import NotDuringRun, StateDep
from labctl.reports import HopReport

router = APIRouter(prefix="/captures", tags=["captures"])


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the most each network's pcap may hold, in MB (10^6 bytes); default from the settings
    limit_mb: float | None = Field(None, ge=MIN_LIMIT_BYTES / 1e6)


class CapturePublic(BaseModel):
    id: str
    running: bool
    mode: str  # tcpdump | relay
    limit_bytes: int  # the most each network's pcap may hold
    pcaps: dict[str, str]  # network -> pcap path as the user sees it
    problems: dict[str, list[str]]  # network -> what its pcap misses (limit, drops)


def _public(state: StateDep, session: CaptureSession) -> CapturePublic:
    return CapturePublic(
        id=session.id,
        running=session.running,
        mode=state.captures.mode,
        limit_bytes=session.limit,
        pcaps={n: state.captures.public_path(p) for n, p in session.pcaps.items()},
        problems={n: notes for n, notes in session.problems.items() if notes},
    )


def _session(state: StateDep, capture_id: str) -> CaptureSession:
    try:
        return state.captures.get(capture_id)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None


@router.post("", status_code=201, dependencies=[NotDuringRun])
async def start(state: StateDep, request: CaptureRequest | None = None) -> CapturePublic:
    """Start recording every lab link (optionally with its own size limit)."""
    limit_mb = request.limit_mb if request is not None else None
    limit = None if limit_mb is None else int(limit_mb * 1_000_000)
    try:
        session = await state.captures.start(limit=limit)
    except CaptureError as error:
        raise HTTPException(503, str(error)) from None
    return _public(state, session)


@router.get("")
def list_captures(state: StateDep) -> list[CapturePublic]:
    """Every capture of this controller, running or stopped."""
    return [_public(state, s) for s in state.captures.sessions.values()]


@router.get("/{capture_id}")
def show(capture_id: str, state: StateDep) -> CapturePublic:
    """One capture: running or not, its pcaps and what they miss."""
    return _public(state, _session(state, capture_id))


@router.post("/{capture_id}/stop", dependencies=[NotDuringRun])
async def stop(capture_id: str, state: StateDep) -> CapturePublic:
    """Stop recording; the pcaps are complete once this answers."""
    _session(state, capture_id)
    try:
        session = await state.captures.stop(capture_id)
    except (CaptureStateError, CaptureError) as error:
        raise HTTPException(409, str(error)) from None
    return _public(state, session)


@router.get("/{capture_id}/pcaps/{network}")
def download(capture_id: str, network: str, state: StateDep) -> FileResponse:
    """One network's pcap file (opens in Wireshark)."""
    session = _session(state, capture_id)
    pcap = session.pcaps.get(network)
    if pcap is None or not pcap.exists():
        raise HTTPException(404, f"capture {capture_id} has no pcap for network {network!r}")
    return FileResponse(pcap, media_type="application/vnd.tcpdump.pcap", filename=pcap.name)


@router.get("/{capture_id}/analysis")
def analysis(capture_id: str, state: StateDep) -> list[dict[str, Any]]:
    """Hops, protocols and transcripts found in a stopped capture."""
    _session(state, capture_id)
    try:
        hops = state.captures.analyse(capture_id)
        return [HopReport.from_hop(h).model_dump(mode="json") for h in hops]
    except CaptureStateError as error:
        raise HTTPException(409, str(error)) from None
