# The webmail's HTML pages, rendered on the server: plain forms and links, no
# JavaScript, no external assets (the only style is the inline sheet below), so they
# work in any browser inside a lab with no Internet.
#
# Every piece of text that comes from a message, a user or a request goes through
# esc() (html.escape, quotes included) and every path segment through quote(); HTML
# parts of a message are shown as escaped source and never rendered. As a second line
# of defence each page is sent with a Content-Security-Policy that allows no script at
# all and forms posting only to this site. Every POST form carries the session's CSRF
# token.
from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import quote

from fastapi.responses import HTMLResponse

from roles.mailserver.storage import Flag
from roles.mailserver.webmail_auth import WebSession
from roles.mailserver.webmail_mailboxes import TRASH, FolderSummary
from roles.mailserver.webmail_message_view import MessageSummary, MessageView

CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
STYLE = """
body { font-family: sans-serif; margin: 0; color: #222; }
header { background: #2d4f6c; color: #fff; padding: .5em 1em; display: flex; gap: 1em;
         align-items: center; }
header a, header button { color: #fff; background: none; border: none; font: inherit;
                          cursor: pointer; text-decoration: underline; }
main { padding: 1em; max-width: 60em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #ddd; }
tr.unseen td { font-weight: bold; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .5em; }
.error { color: #a00; font-weight: bold; }
label { display: block; margin-top: .5em; }
input[type=text], input[type=password], textarea { width: 100%; box-sizing: border-box; }
form.inline { display: inline; }
"""


def esc(text: object) -> str:
    """Text made safe to place in HTML, in an element or an attribute value."""
    return html.escape(str(text), quote=True)


def path(*segments: str) -> str:
    """A site path whose every segment is percent-encoded (a folder may hold '.' or ' ')."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def csrf_field(session: WebSession) -> str:
    """The hidden field carrying the session's CSRF token."""
    return f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'


def page(title: str, content: str, session: WebSession | None, status: int = 200) -> HTMLResponse:
    """A whole page: navigation for a logged-in user, then `content` (already escaped)."""
    nav = ""
    if session is not None and session.address is not None:
        nav = (f'<a href="/folders">Folders</a><a href="/compose">Write</a>'
               f'<span>{esc(session.address)}</span>'
               f'<form class="inline" method="post" action="/logout">{csrf_field(session)}'
               f'<button type="submit" id="logout">Log out</button></form>')
    if session is not None and session.notice:  # what the last POST did, shown once
        content = f'<p id="notice" role="status">{esc(session.notice)}</p>{content}'
        session.notice = ""
    body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<title>{esc(title)} - maillab webmail</title><style>{STYLE}</style></head>'
            f'<body><header><strong>maillab webmail</strong>{nav}</header>'
            f'<main><h1>{esc(title)}</h1>{content}</main></body></html>')
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def error_line(error: str) -> str:
    """An error message paragraph (empty when there is no error)."""
    return f'<p class="error" role="alert">{esc(error)}</p>' if error else ""


def login_form(session: WebSession, login: str = "", error: str = "") -> str:
    """The login form."""
    return (f'{error_line(error)}<form method="post" action="/login">{csrf_field(session)}'
            f'<label>Address <input type="text" name="login" id="login" value="{esc(login)}" '
            f'autocomplete="username"></label>'
            f'<label>Password <input type="password" name="password" id="password" '
            f'autocomplete="current-password"></label>'
            f'<p><button type="submit" id="sign-in">Log in</button></p></form>')


def folder_list(session: WebSession, folders: Sequence[FolderSummary], error: str = "") -> str:
    """The user's folders with their counts, and a form to make one."""
    rows = "".join(
        f'<tr><td><a href="{path("folders", f.name)}">{esc(f.name)}</a></td>'
        f'<td>{f.messages}</td><td>{f.unseen}</td></tr>' for f in folders)
    return (f'{error_line(error)}<table><tr><th>Folder</th><th>Messages</th><th>Unseen</th>'
            f'</tr>{rows}</table>'
            f'<form method="post" action="/folders">{csrf_field(session)}'
            f'<label>New folder <input type="text" name="name" id="new-folder"></label>'
            f'<p><button type="submit">Create</button></p></form>')


def message_list(folder: str, messages: Sequence[MessageSummary]) -> str:
    """A folder's messages, newest last, unseen ones in bold."""
    if not messages:
        return "<p>No messages.</p>"
    rows = "".join(
        f'<tr class="{"seen" if Flag.SEEN in m.flags else "unseen"}">'
        f'<td>{esc(m.sender)}</td><td><a href="{path("folders", folder, "messages", m.id)}">'
        f'{esc(m.subject or "(no subject)")}</a></td><td>{esc(m.date)}</td>'
        f'<td>{m.size}</td></tr>' for m in messages)
    return (f'<table><tr><th>From</th><th>Subject</th><th>Date</th><th>Size</th></tr>'
            f'{rows}</table>')


def message_page(session: WebSession, folder: str, message: MessageView,
                 folders: Sequence[str]) -> str:
    """One message: headers, text (escaped), HTML parts as source, attachments, actions."""
    headers = "".join(f"<tr><th>{name}</th><td>{esc(value)}</td></tr>" for name, value in (
        ("From", message.sender), ("To", message.to), ("Cc", message.cc),
        ("Date", message.date), ("Subject", message.subject)) if value)
    html_parts = "".join(
        f"<h2>HTML part (source, not rendered)</h2><pre>{esc(source)}</pre>"
        for source in message.html)
    attachments = "".join(f"<li>{esc(a.name or '(unnamed)')} ({esc(a.type)}, {a.size} bytes)"
                          f"</li>" for a in message.attachments)
    here = path("folders", folder, "messages", message.id)
    targets = "".join(f'<option value="{esc(name)}">{esc(name)}</option>'
                      for name in folders if name != folder)
    return (f'<table id="headers">{headers}</table><pre id="body">{esc(message.body)}</pre>'
            f'{html_parts}'
            f'{f"<h2>Attachments</h2><ul>{attachments}</ul>" if attachments else ""}'
            f'<form method="post" action="{here}/move">{csrf_field(session)}'
            f'<label>Move to <select name="to" id="move-to">{targets}</select></label>'
            f'<button type="submit" id="move">Move</button></form>'
            f'<form method="post" action="{here}/delete">{csrf_field(session)}'
            f'<p><button type="submit" id="delete">'
            f'{"Delete for good" if folder == TRASH else "Move to Trash"}</button></p></form>')


def compose_form(session: WebSession, values: dict[str, str], error: str = "") -> str:
    """The form to write a message with attachments (the sender is always the logged-in user)."""
    return (f'{error_line(error)}<form method="post" action="/compose" '
            f'enctype="multipart/form-data">{csrf_field(session)}'
            f'<label>To <input type="text" name="to" id="to" value="{esc(values.get("to", ""))}">'
            f'</label><label>Subject <input type="text" name="subject" id="subject" '
            f'value="{esc(values.get("subject", ""))}"></label>'
            f'<label>Message <textarea name="body" id="body-text" rows="12">'
            f'{esc(values.get("body", ""))}</textarea></label>'
            f'<label>Attach files <input type="file" name="attachment" id="attachment" '
            f'multiple></label>'
            f'<p><button type="submit" id="send">Send</button></p></form>')
