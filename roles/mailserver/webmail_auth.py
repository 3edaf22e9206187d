# Who is using the webmail: lab users, by their address (or local part) and password.
#
# The JSON API takes HTTP Basic credentials on every request (RFC 7617; a missing or
# wrong one is a 401 with the realm's challenge) and serves only the logged-in user's
# own mailbox (another address is a 403, whether or not it exists); a wrong password is
# answered after the server's AUTH failure delay, as on port 587. The HTML pages log
# in once with a form and then carry a session cookie: a random token naming a
# server-side session, kept in memory with an idle expiry, HttpOnly and
# SameSite=Strict. Every session, the anonymous one the login form gets included, holds
# a CSRF token that each POST form must send back. Logging in starts a new session (no
# session fixation); logging out ends it.
from __future__ import annotations

import asyncio
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from labctl.model import User
from roles.mailserver.settings import MailServerSettings

REALM = "maillab webmail"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
SESSION_COOKIE = "maillab_webmail"
SESSION_IDLE_SECONDS = 30 * 60
MAX_SESSIONS = 10_000  # beyond this, the sessions closest to expiring make room
_NOBODY = secrets.token_bytes(16)  # compared against when the login names no user

basic_credentials = HTTPBasic(realm=REALM, auto_error=False)
Credentials = Annotated[HTTPBasicCredentials | None, Depends(basic_credentials)]


def check_login(settings: MailServerSettings, login: str, password: str) -> User | None:
    """The lab user whose address (or local part) and password these are, else None."""
    user = settings.local_user(login) if login.isascii() and login.isprintable() else None
    expected = user.password.encode() if user is not None else _NOBODY
    matches = hmac.compare_digest(password.encode("utf-8", "surrogatepass"), expected)
    return user if matches and user is not None else None


async def refuse_slowly(settings: MailServerSettings) -> None:
    """Wait before answering a failed login, as a failed SMTP AUTH does (no fast guessing)."""
    await asyncio.sleep(settings.auth_failure_delay_seconds)


def api_owner(settings: MailServerSettings,
              ) -> Callable[[str, HTTPBasicCredentials | None], Awaitable[str]]:
    """A dependency: the logged-in user's address, when the path names their mailbox."""

    async def owner(
            address: Annotated[str, Path(description="your address, e.g. bob@hamburger.edu")],
            credentials: Credentials) -> str:
        user = None if credentials is None else check_login(
            settings, credentials.username, credentials.password)
        if user is None:
            if credentials is not None:
                await refuse_slowly(settings)
            raise HTTPException(401, "log in with your lab address and password (HTTP Basic)",
                                headers=CHALLENGE)
        if address.lower() != user.address:
            raise HTTPException(403, f"you are logged in as {user.address}; "
                                     "you can only use your own mailbox")
        return user.address

    return owner


@dataclass
class WebSession:
    """A browser's session: who is logged in (None: nobody yet) and its CSRF token."""

    token: str
    csrf: str
    address: str | None
    expires: float
    notice: str = ""  # what the last action did, shown on the next page


class SessionStore:
    """The webmail's sessions, in memory; a session idle for `idle_seconds` is gone.

    Pages run in worker threads and in the event loop, so every access holds a lock.
    """

    def __init__(self, idle_seconds: float = SESSION_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def start(self, address: str | None) -> WebSession:
        """A new session for `address` (None: the login form's anonymous session)."""
        session = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), address,
                             self.clock() + self.idle_seconds)
        with self._lock:
            self._prune()
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> WebSession | None:
        """The live session of a cookie's token (its idle time starts over), else None."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None:
                return None
            if session.expires <= now:
                del self._sessions[session.token]
                return None
            session.expires = now + self.idle_seconds
            return session

    def end(self, token: str) -> None:
        """Forget a session (logout)."""
        with self._lock:
            self._sessions.pop(token, None)

    def _prune(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[token]
        if len(self._sessions) >= self.max_sessions:
            by_expiry = sorted(self._sessions.values(), key=lambda session: session.expires)
            for session in by_expiry[:len(self._sessions) - self.max_sessions + 1]:
                del self._sessions[session.token]

    def __len__(self) -> int:
        return len(self._sessions)


def csrf_matches(session: WebSession, submitted: str) -> bool:
    """True when a form sent back its session's CSRF token."""
    return hmac.compare_digest(session.csrf.encode(), submitted.encode("utf-8", "replace"))


def set_session_cookie(response: Response, session: WebSession) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Strict, whole site."""
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        path="/")
