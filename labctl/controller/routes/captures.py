# /captures: start and stop per-link captures, download each network's pcap, and
# read the analysis (hops, protocols, transcripts) of a stopped capture.
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel

from labctl.capture.tcpdump import CaptureError
from labctl.controller.captures import CaptureSession, CaptureStateError
from labctl.controller.deps import StateDep
from labctl.reports import HopReport

router = APIRouter(prefix="/captures", tags=["captures"])


class CapturePublic(BaseModel):
    id: str
    running: bool
    pcaps: dict[str, str]  # network -> pcap path as the user sees it


def _public(state: StateDep, session: CaptureSession) -> CapturePublic:
    return CapturePublic(
        id=session.id,
        running=session.running,
        pcaps={n: state.captures.public_path(p) for n, p in session.pcaps.items()},
    )


def _session(state: StateDep, capture_id: str) -> CaptureSession:
    try:
        return state.captures.get(capture_id)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0])) from None


@router.post("", status_code=201)
async def start(state: StateDep) -> CapturePublic:
    """Start recording every lab link."""
    try:
        session = await state.captures.start()
    except CaptureError as error:
        raise HTTPException(503, str(error)) from None
    return _public(state, session)


@router.get("")
def list_captures(state: StateDep) -> list[CapturePublic]:
    return [_public(state, s) for s in state.captures.sessions.values()]


@router.post("/{capture_id}/stop")
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
