# /runs/{id}/report.html: a run's report as one self-contained HTML page (topology,
# the message's journey, transcripts), and beside it each network's pcap, so the
# page's relative pcap links work as they do when the page is saved next to the pcaps.
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from labctl.controller.deps import StateDep
from labctl.reports import Report, render_run_page

router = APIRouter(prefix="/runs", tags=["runs"])


def _report(run_id: str, state: StateDep) -> Report:
    if run_id not in state.runs:
        raise HTTPException(404, f"no run {run_id!r}")
    return Report.model_validate(state.runs[run_id])


@router.get("/{run_id}/report.html", response_class=HTMLResponse)
def run_page(run_id: str, state: StateDep) -> HTMLResponse:
    """The run's HTML page (no script, nothing fetched from anywhere)."""
    return HTMLResponse(render_run_page(_report(run_id, state), state.plan.lab))


@router.get("/{run_id}/{file_name}")
def run_pcap(run_id: str, file_name: str, state: StateDep) -> FileResponse:
    """One of the run's pcaps, by the file name the page links to."""
    wanted = {hop.pcap for hop in _report(run_id, state).hops
              if Path(hop.pcap).name == file_name}
    for session in state.captures.sessions.values():
        for pcap in session.pcaps.values():
            if state.captures.public_path(pcap) in wanted and pcap.exists():
                return FileResponse(pcap, media_type="application/vnd.tcpdump.pcap",
                                    filename=pcap.name)
    raise HTTPException(404, f"run {run_id} has no pcap {file_name!r}")
