# What every end-to-end run of basic-delivery must show, whatever the backend:
# a full score, SMTP / SMTP / POP3 on the three hops, the servers' SMTP dialog in the
# transcript, and one pcap per network that our reader and tshark both open.
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from labctl.analysis.pcap_reader import read_capture
from labctl.model import addressing

# (client, server) -> (network, protocols, the server's service, tshark's dissector)
EXPECTED_HOPS = {
    ("sender-ua", "sender-mta"): ("alice-lan", ["SMTP"], "submission", "smtp"),
    ("sender-mta", "receiver-mta"): ("internet", ["SMTP"], "smtp", "smtp"),
    ("receiver-ua", "receiver-mta"): ("bob-lan", ["POP3"], "pop3", "pop"),
}


def assert_basic_delivery_report(report: dict[str, Any], backend: str) -> None:
    """The report of a successful basic-delivery run on `backend`."""
    failed = [c for c in report["checks"] if not c["passed"]]
    assert report["passed"], f"failed checks: {failed}"
    assert report["backend"] == backend
    assert report["score"] == report["max_score"] > 0
    hops = {(h["client_role"], h["server_role"]): h for h in report["hops"]}
    for pair, (network, protocols, _, _) in EXPECTED_HOPS.items():
        assert pair in hops, f"no hop {pair} in {list(hops)}"
        assert hops[pair]["network"] == network
        assert hops[pair]["protocols"] == protocols
    relay = hops[("sender-mta", "receiver-mta")]["conversations"][0]["transcript"]
    assert relay[0].startswith("S: 220 ")
    assert "C: ." in relay and relay[-1].startswith("S: 221")


def assert_pcaps_readable(report: dict[str, Any], runtime: str) -> None:
    """Each hop's pcap exists, parses, and (when tshark is here) tshark sees the protocol."""
    plan = addressing(runtime)
    for hop in report["hops"]:
        pcap = Path(hop["pcap"])
        assert pcap.exists() and pcap.stat().st_size > 0, pcap
        assert read_capture(pcap).packets, f"no packets in {pcap}"
        if shutil.which("tshark") is None:
            continue
        _, _, service, dissector = EXPECTED_HOPS[(hop["client_role"], hop["server_role"])]
        port = plan.port(hop["server_role"], service)
        result = subprocess.run(
            ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},{dissector}", "-Y", dissector],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip(), f"tshark sees no {dissector} in {pcap}"
