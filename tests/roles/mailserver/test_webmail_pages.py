# The webmail's HTML pages over real HTTP, as a browser without JavaScript uses them:
# the login form and its session cookie (HttpOnly, SameSite=Strict, a new token once
# logged in), CSRF tokens on every POST, escaping of everything a message carries,
# HTML parts never rendered, move, delete, send and logout; and the session store's
# idle expiry.
from __future__ import annotations

import re

import httpx

from roles.mailserver.webmail_auth import SESSION_COOKIE, SessionStore

from .webmail_peer import BOB, BOB_PASSWORD, Webmail, browser_client, webmail

__all__ = ["webmail"]  # the fixture
SCRIPT = "<script>alert(1)</script>"
HOSTILE = (f"From: \"{SCRIPT}\" <mallory@internet.test>\r\nTo: bob@hamburger.edu\r\n"
           f"Subject: {SCRIPT}\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/alternative; boundary=B\r\n\r\n"
           f"--B\r\nContent-Type: text/plain\r\n\r\n{SCRIPT} & </pre>\r\n"
           "--B\r\nContent-Type: text/html\r\n\r\n<img src=x onerror=alert(2)>\r\n--B--\r\n"
           ).encode()


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def logged_in(client: httpx.AsyncClient) -> httpx.Response:
    """Log in as Bob through the form; the page the login leads to."""
    form = await client.get("/login")
    answer = await client.post("/login", data={"csrf": csrf_of(form), "login": BOB,
                                               "password": BOB_PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/folders"
    return await client.get("/folders")


async def test_login_sets_a_strict_httponly_cookie_and_starts_a_new_session(
        webmail: Webmail) -> None:
    async with browser_client(str(webmail.api.base_url)) as browser:
        assert (await browser.get("/folders")).headers["location"] == "/login"
        form = await browser.get("/login")
        cookie = form.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        anonymous = browser.cookies[SESSION_COOKIE]
        wrong = await browser.post("/login", data={"csrf": csrf_of(form), "login": BOB,
                                                   "password": "nope"})
        assert wrong.status_code == 401 and "Wrong address or password" in wrong.text
        folders = await logged_in(browser)
        assert browser.cookies[SESSION_COOKIE] != anonymous  # no session fixation
        assert folders.status_code == 200 and 'href="/folders/INBOX"' in folders.text
        assert (await browser.get("/login")).headers["location"] == "/folders"
        assert "script-src" not in folders.headers["content-security-policy"]
        assert "default-src 'none'" in folders.headers["content-security-policy"]
        out = await browser.post("/logout", data={"csrf": csrf_of(folders)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await browser.get("/folders")).headers["location"] == "/login"


async def test_a_post_without_the_sessions_csrf_token_changes_nothing(
        webmail: Webmail) -> None:
    message_id = webmail.deliver(HOSTILE)
    async with browser_client(str(webmail.api.base_url)) as browser:
        form = await browser.get("/login")
        no_token = await browser.post("/login", data={"login": BOB, "password": BOB_PASSWORD})
        assert no_token.status_code == 403 and SESSION_COOKIE in browser.cookies
        folders = await logged_in(browser)
        delete = f"/folders/INBOX/messages/{message_id}/delete"
        forged = await browser.post(delete, data={"csrf": csrf_of(form)})  # the old session's
        assert forged.status_code == 403 and "expired" in forged.text
        assert [m.id for m in webmail.server.mailboxes.list(BOB)] == [message_id]
        done = await browser.post(delete, data={"csrf": csrf_of(folders)})
        assert done.status_code == 303 and webmail.server.mailboxes.list(BOB) == []


async def test_everything_a_message_carries_is_shown_as_text(webmail: Webmail) -> None:
    message_id = webmail.deliver(HOSTILE)
    async with browser_client(str(webmail.api.base_url)) as browser:
        await logged_in(browser)
        listing = await browser.get("/folders/INBOX")
        message = await browser.get(f"/folders/INBOX/messages/{message_id}")
    for page in (listing, message):
        assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img" not in message.text and "&lt;img src=x onerror=alert(2)&gt;" in message.text
    assert "&lt;/pre&gt;" in message.text and "&amp;" in message.text


async def test_move_send_and_delete_through_the_forms(webmail: Webmail) -> None:
    message_id = webmail.deliver(HOSTILE)
    async with browser_client(str(webmail.api.base_url)) as browser:
        folders = await logged_in(browser)
        made = await browser.post("/folders", data={"csrf": csrf_of(folders),
                                                    "name": "Ketchup & Co"})
        assert made.status_code == 303 and "Ketchup & Co" in webmail.server.mailboxes.folders(BOB)
        again = await browser.post("/folders", data={"csrf": csrf_of(folders),
                                                     "name": "Ketchup & Co"})
        assert again.status_code == 409 and "exists already" in again.text
        page = await browser.get(f"/folders/INBOX/messages/{message_id}")
        assert '<option value="Ketchup &amp; Co">' in page.text
        moved = await browser.post(f"/folders/INBOX/messages/{message_id}/move",
                                   data={"csrf": csrf_of(page), "to": "Ketchup & Co"})
        assert moved.headers["location"] == "/folders/INBOX"
        assert "Moved to Ketchup &amp; Co." in (await browser.get("/folders/INBOX")).text
        (there,) = webmail.server.mailboxes.list(BOB, "Ketchup & Co")
        assert there.flags == {"Seen"}
        compose = await browser.get("/compose")
        bad = await browser.post("/compose", data={"csrf": csrf_of(compose), "to": "x y",
                                                   "subject": "s", "body": "b"})
        assert bad.status_code == 422 and "to: Value error" in bad.text
        assert 'value="x y"' in bad.text  # what was typed is kept
        sent = await browser.post("/compose", data={"csrf": csrf_of(compose), "to": BOB,
                                                    "subject": "from the form",
                                                    "body": "line 1\r\nline 2"})
        assert sent.headers["location"] == "/folders/Sent"
        assert "Message sent: queued as" in (await browser.get("/folders/Sent")).text
    (received,) = webmail.server.mailboxes.list(BOB)
    assert b"line 1\r\nline 2" in webmail.server.mailboxes.read(BOB, received.id)


async def test_unknown_folders_and_messages_are_error_pages(webmail: Webmail) -> None:
    async with browser_client(str(webmail.api.base_url)) as browser:
        await logged_in(browser)
        folder = await browser.get("/folders/Nowhere")
        message = await browser.get("/folders/INBOX/messages/nothing-here")
    assert folder.status_code == 404 and "no folder &#x27;Nowhere&#x27;" in folder.text
    assert message.status_code == 404 and 'href="/compose"' in message.text


def test_sessions_expire_when_idle() -> None:
    now = [1000.0]
    store = SessionStore(idle_seconds=60, clock=lambda: now[0])
    session = store.start(BOB)
    now[0] += 59
    assert store.get(session.token) is session  # used: idle time starts over
    now[0] += 59
    assert store.get(session.token) is session
    now[0] += 61
    assert store.get(session.token) is None and len(store) == 0
    assert store.get(None) is None and store.get("forged") is None


def test_the_session_store_is_bounded() -> None:
    now = [0.0]
    store = SessionStore(idle_seconds=60, clock=lambda: now[0], max_sessions=3)
    sessions = []
    for _ in range(4):
        now[0] += 1
        sessions.append(store.start(None))
    assert len(store) == 3 and store.get(sessions[0].token) is None  # the oldest made room
    assert all(store.get(s.token) is s for s in sessions[1:])


async def test_the_message_form_sends_attachments(webmail: Webmail) -> None:
    photo = bytes(range(256)) + b"\r\n\n\r--not-a-boundary\r\n"
    async with browser_client(str(webmail.api.base_url)) as browser:
        await logged_in(browser)
        compose = await browser.get("/compose")
        assert 'enctype="multipart/form-data"' in compose.text
        fields = {"csrf": csrf_of(compose), "to": BOB, "subject": "Fotos", "body": "Anbei."}
        sent = await browser.post("/compose", data=fields, files=[
            ("attachment", ("kétchup.bin", photo, "application/octet-stream")),
            ("attachment", ("", b"", "application/octet-stream"))])  # an empty file input
        assert sent.status_code == 303, sent.text
        bad = await browser.post("/compose", data=fields, files=[
            ("attachment", ("a" * 999, b"x", "text/plain"))])  # longer than a header line
        assert bad.status_code == 422 and "attachments.0.filename" in bad.text
    (received,) = webmail.server.mailboxes.list(BOB)
    message = (await webmail.api.get(f"/api/mailboxes/{BOB}/folders/INBOX/messages/"
                                     f"{received.id}")).json()
    assert message["body"] == "Anbei.\n"
    assert message["attachments"] == [
        {"name": "kétchup.bin", "type": "application/octet-stream", "size": len(photo)}]


async def test_unreadable_forms_are_refused(webmail: Webmail) -> None:
    async with browser_client(str(webmail.api.base_url)) as browser:
        folders = await logged_in(browser)
        token = csrf_of(folders)
        as_json = await browser.post("/folders", json={"csrf": token, "name": "X"})
        broken = await browser.post("/folders", content=b"--B\r\nno headers\r\n",
                                    headers={"content-type": "multipart/form-data; boundary=Z"})
        not_utf8 = await browser.post("/folders", content=b"csrf=" + token.encode() + b"&name=\xff",
                                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert as_json.status_code == 415 and broken.status_code == 400
    assert not_utf8.status_code == 400
    assert webmail.server.mailboxes.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]
