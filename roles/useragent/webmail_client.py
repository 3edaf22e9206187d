# The user agent's webmail client: the third way to reach a mailbox, HTTP, next to
# SMTP submission and POP3 (mail_clients.py). It speaks the mail server's webmail JSON
# API (roles/mailserver/webmail_api.py) with HTTP Basic credentials, through httpx bound
# to the UA's own address, so that in the local runtime each link's packets carry the
# right hosts.
#
# Fetching lists a folder, downloads each message raw (exactly as stored) and, when
# asked, deletes each one (the webmail moves it to Trash). Sending posts the SendRequest
# itself: the webmail composes the message, as the user agent does for SMTP, and answers
# with the message it made. Any failure, from the connection or an error answer, is a
# WebmailError saying where and why.
from __future__ import annotations

from urllib.parse import quote

import httpx

from labctl.agent_contract import SendRequest
from roles.mailserver.maildir_layout import INBOX
from roles.useragent.mail_clients import Account, Endpoint, Submitted

API = "/api/mailboxes"


class WebmailError(Exception):
    """The webmail could not be reached or refused the request."""


def _client(server: Endpoint, account: Account, source: str, timeout: float) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://{server.host}:{server.port}", auth=(account.address, account.password),
        transport=httpx.HTTPTransport(local_address=source), timeout=timeout,
    )


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise WebmailError(f"{response.request.method} {response.request.url} answered "
                       f"{response.status_code}: {detail}")


def _segment(text: str) -> str:
    return quote(text, safe="@")


def fetch_webmail(server: Endpoint, account: Account, source: str, delete: bool,
                  folder: str = INBOX, timeout: float = 30) -> list[bytes]:
    """Download every message of a folder raw over the webmail (then DELETE each if asked)."""
    messages = f"{API}/{_segment(account.address)}/folders/{_segment(folder)}/messages"
    fetched: list[bytes] = []
    try:
        with _client(server, account, source, timeout) as client:
            listing = _checked(client.get(messages)).json()["messages"]
            for entry in listing:
                one = f"{messages}/{_segment(str(entry['id']))}"
                fetched.append(_checked(client.get(f"{one}/raw")).content)
                if delete:
                    _checked(client.delete(one))
    except httpx.HTTPError as error:
        raise WebmailError(f"webmail at {server.host}:{server.port}: {error}") from None
    return fetched


def send_webmail(request: SendRequest, server: Endpoint, account: Account, source: str,
                 timeout: float = 30) -> Submitted:
    """Have the webmail compose and send `request` as the account's user."""
    outbox = f"{API}/{_segment(account.address)}/outbox"
    try:
        with _client(server, account, source, timeout) as client:
            response = _checked(client.post(outbox, json=request.model_dump(mode="json")))
    except httpx.HTTPError as error:
        raise WebmailError(f"webmail at {server.host}:{server.port}: {error}") from None
    accepted = response.json()
    return Submitted(f"{response.status_code} queued as {accepted['queue_id']}",
                     str(accepted["raw"]).encode("utf-8"))
