# One check for every runtime: Alice sends, Bob's user agent fetches over IMAP through
# the controller, and the capture of bob-lan shows IMAP (identified from the bytes).
from __future__ import annotations

from labctl.client import ControllerClient
from tests.e2e.local_labs import wait_delivered


def assert_imap_fetch_captured(lab: ControllerClient) -> None:
    """Send Alice -> Bob, fetch over IMAP while capturing; the bob-lan hop shows IMAP."""
    capture = lab.request("POST", "/captures")
    sent = lab.request("POST", "/messages", {"to": "bob@hamburger.edu", "subject": "IMAP"})
    wait_delivered(lab, sent["message_id"])
    fetched = lab.request("POST", "/fetches", {"protocol": "imap"})
    assert fetched["protocol"] == "imap"
    assert [m for m in fetched["messages"] if sent["message_id"] in m]
    lab.request("POST", f"/captures/{capture['id']}/stop")
    hops = lab.request("GET", f"/captures/{capture['id']}/analysis")
    [bob_lan] = [h for h in hops if h["network"] == "bob-lan"]
    assert (bob_lan["client_role"], bob_lan["server_role"]) == ("receiver-ua", "receiver-mta")
    assert "IMAP" in bob_lan["protocols"]
    [imap] = [c for c in bob_lan["conversations"] if c["protocol"] == "IMAP"]
    assert any(line.startswith("S: * OK [CAPABILITY IMAP4rev1") for line in imap["transcript"])
