# The webmail's JSON API on a real in-process mail server, over real HTTP from Bob's PC:
# HTTP Basic (401 with the realm's challenge, 403 for another mailbox), folders with
# unseen counts, listings with decoded headers, reading (marks Seen), raw bytes exactly
# as stored, move and delete (to Trash, then for good), and 404/409/422 errors.
from __future__ import annotations

import pytest

from roles.mailserver.storage import Flag

from .webmail_peer import API, BOB, BOBS_SERVER, INBOX_MESSAGES, Webmail, browser_client, webmail

__all__ = ["webmail"]  # the fixture
GREETING = (b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@crepes.fr>\r\nTo: bob@hamburger.edu\r\n"
            b"Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <greeting@crepes.fr>\r\n\r\nHallo Bob\r\n")
MIXED = (b"From: alice@crepes.fr\r\nTo: bob@hamburger.edu\r\nSubject: photos\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
         b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n"
         b"--XX\r\nContent-Type: text/html\r\n\r\n<p onclick=x()>hi</p>\r\n"
         b"--XX\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--XX--\r\n")


async def test_requests_without_valid_credentials_get_the_basic_challenge(
        webmail: Webmail) -> None:
    async with browser_client(str(webmail.api.base_url)) as anonymous:
        missing = await anonymous.get(f"{API}/folders")
        wrong = await anonymous.get(f"{API}/folders", auth=(BOB, "not-bobs"))
        garbled = await anonymous.get(f"{API}/folders", headers={"Authorization": "Basic %%%"})
        local_part = await anonymous.get(f"{API}/folders", auth=("bob", "bob-pw"))
    for refused in (missing, wrong, garbled):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Basic realm="maillab webmail"'
    assert local_part.status_code == 200


@pytest.mark.parametrize("mailbox", ["alice@crepes.fr", "nobody@hamburger.edu", "x%0Ay"])
async def test_another_mailbox_is_forbidden(webmail: Webmail, mailbox: str) -> None:
    response = await webmail.api.get(f"/api/mailboxes/{mailbox}/folders")
    assert response.status_code == 403
    assert "only use your own mailbox" in response.json()["detail"]


async def test_folders_count_messages_and_unseen_ones(webmail: Webmail) -> None:
    seen = webmail.deliver(GREETING)
    webmail.server.mailboxes.set_flags(BOB, seen, {Flag.SEEN})
    webmail.deliver(MIXED)
    webmail.deliver(MIXED, "Junk")
    assert (await webmail.api.get(f"{API}/folders")).json() == {"folders": [
        {"name": "INBOX", "messages": 2, "unseen": 1},
        {"name": "Junk", "messages": 1, "unseen": 1},
        {"name": "Sent", "messages": 0, "unseen": 0},
        {"name": "Trash", "messages": 0, "unseen": 0},
    ]}


async def test_folders_are_made_and_removed(webmail: Webmail) -> None:
    made = await webmail.api.post(f"{API}/folders", json={"name": "Work.Plans"})
    assert made.status_code == 201 and made.json()["name"] == "Work.Plans"
    again = await webmail.api.post(f"{API}/folders", json={"name": "Work.Plans"})
    assert again.status_code == 409
    bad = await webmail.api.post(f"{API}/folders", json={"name": "evil\nname"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "name"]
    assert "control character" in bad.json()["detail"][0]["msg"]
    assert (await webmail.api.post(f"{API}/folders", json={"nom": "x"})).status_code == 422
    assert (await webmail.api.delete(f"{API}/folders/Work.Plans")).status_code == 204
    assert (await webmail.api.delete(f"{API}/folders/Work.Plans")).status_code == 404
    protected = await webmail.api.delete(f"{API}/folders/INBOX")
    assert protected.status_code == 422 and "cannot be renamed or deleted" in protected.text
    names = [f["name"] for f in (await webmail.api.get(f"{API}/folders")).json()["folders"]]
    assert names == ["INBOX", "Junk", "Sent", "Trash"]


async def test_listing_decodes_headers_for_display(webmail: Webmail) -> None:
    message_id = webmail.deliver(GREETING)
    (entry,) = (await webmail.api.get(INBOX_MESSAGES)).json()["messages"]
    assert entry == {"id": message_id, "uid": 1, "size": len(GREETING), "flags": [],
                     "from": "Jürgen <juergen@crepes.fr>", "to": "bob@hamburger.edu",
                     "subject": "Grüße", "date": "Fri, 27 Nov 2026 10:00:00 +0000"}
    unknown = await webmail.api.get(f"{API}/folders/Nowhere/messages")
    assert unknown.status_code == 404 and "Nowhere" in unknown.json()["detail"]
    control = await webmail.api.get(f"{API}/folders/a%01b/messages")
    assert control.status_code == 422 and "control character" in control.json()["detail"]


async def test_reading_decodes_the_body_lists_attachments_and_marks_seen(
        webmail: Webmail) -> None:
    message_id = webmail.deliver(MIXED)
    message = (await webmail.api.get(f"{INBOX_MESSAGES}/{message_id}")).json()
    assert message["body"] == "Schöne Grüße"
    assert message["html"] == ["<p onclick=x()>hi</p>"]
    assert message["attachments"] == [{"name": "a.png", "type": "image/png", "size": 8}]
    assert message["flags"] == ["Seen"] and message["subject"] == "photos"
    (listed,) = (await webmail.api.get(INBOX_MESSAGES)).json()["messages"]
    assert listed["flags"] == ["Seen"]


async def test_raw_is_the_message_exactly_as_stored(webmail: Webmail) -> None:
    message_id = webmail.deliver(MIXED)
    raw = await webmail.api.get(f"{INBOX_MESSAGES}/{message_id}/raw")
    assert raw.status_code == 200 and raw.content == MIXED
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("message_id", ["no-such-message", "..%2F..%2Fetc", "a b"])
async def test_unknown_messages_are_404(webmail: Webmail, message_id: str) -> None:
    for response in (await webmail.api.get(f"{INBOX_MESSAGES}/{message_id}"),
                     await webmail.api.get(f"{INBOX_MESSAGES}/{message_id}/raw"),
                     await webmail.api.delete(f"{INBOX_MESSAGES}/{message_id}")):
        assert response.status_code == 404, response.text


async def test_move_keeps_the_flags_and_refuses_unknown_folders(webmail: Webmail) -> None:
    message_id = webmail.deliver(GREETING)
    webmail.server.mailboxes.set_flags(BOB, message_id, {Flag.FLAGGED})
    await webmail.api.post(f"{API}/folders", json={"name": "Work"})
    nowhere = await webmail.api.post(f"{INBOX_MESSAGES}/{message_id}/move", json={"to": "Nope"})
    assert nowhere.status_code == 404
    assert (await webmail.api.post(f"{INBOX_MESSAGES}/{message_id}/move",
                                   json={})).json()["detail"][0]["loc"] == ["body", "to"]
    moved = await webmail.api.post(f"{INBOX_MESSAGES}/{message_id}/move", json={"to": "Work"})
    assert moved.status_code == 200 and moved.json()["folder"] == "Work"
    assert (await webmail.api.get(INBOX_MESSAGES)).json() == {"messages": []}
    (there,) = (await webmail.api.get(f"{API}/folders/Work/messages")).json()["messages"]
    assert there["id"] == moved.json()["id"] and there["flags"] == ["Flagged"]
    raw = await webmail.api.get(f"{API}/folders/Work/messages/{there['id']}/raw")
    assert raw.content == GREETING


async def test_delete_moves_to_trash_and_deleting_in_trash_removes(webmail: Webmail) -> None:
    message_id = webmail.deliver(GREETING)
    first = (await webmail.api.delete(f"{INBOX_MESSAGES}/{message_id}")).json()
    assert first["deleted"] == message_id and first["trash_id"]
    assert webmail.server.mailboxes.list(BOB) == []
    trash = f"{API}/folders/Trash/messages"
    assert [m["id"] for m in (await webmail.api.get(trash)).json()["messages"]] == [
        first["trash_id"]]
    second = (await webmail.api.delete(f"{trash}/{first['trash_id']}")).json()
    assert second == {"deleted": first["trash_id"], "trash_id": None}
    assert webmail.server.mailboxes.list(BOB, "Trash") == []


async def test_webmail_listens_on_the_lab_addresses_only(webmail: Webmail) -> None:
    hosts = {host for host, _ in webmail.server.bound["webmail"]}
    assert hosts == set(webmail.server.settings.lab_addresses) and BOBS_SERVER in hosts
    assert webmail.server.settings.control_host not in hosts


async def test_the_api_documentation_needs_no_internet(webmail: Webmail) -> None:
    docs = await webmail.api.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert (await webmail.api.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200
    paths = (await webmail.api.get("/api/openapi.json")).json()["paths"]
    assert "/api/mailboxes/{address}/outbox" in paths and "/login" not in paths
