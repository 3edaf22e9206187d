# The CLI's client of the controller API: each call returns JSON or raises
# ControllerError with one line saying what failed.
from __future__ import annotations

import json
from typing import Any

import httpx


class ControllerError(RuntimeError):
    """The controller could not be reached or refused the request."""


class ControllerClient:
    def __init__(self, base_url: str, timeout: float = 300.0,
                 http: httpx.Client | None = None) -> None:
        """A client of the controller at `base_url` (through `http` when given)."""
        self.base_url = base_url
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call the controller and return its JSON; ControllerError carries its `detail`."""
        return self._send(method, path, body).json()

    def text(self, path: str) -> str:
        """GET `path` and return the text (a raw message, say); ControllerError on failure."""
        return self._send("GET", path, None).text

    def content(self, path: str) -> bytes:
        """GET `path` and return the bytes (a pcap, say); ControllerError on failure."""
        return self._send("GET", path, None).content

    def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        # ASCII JSON: any string travels, even one the controller will refuse (a lone
        # surrogate from a command-line argument), so the refusal names the field.
        content = None if body is None else json.dumps(body).encode("ascii")
        headers = {} if body is None else {"Content-Type": "application/json"}
        try:
            response = self._http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as error:
            raise ControllerError(f"controller at {self.base_url} unreachable: {error}") from None
        if response.status_code >= 400:
            detail = error_detail(response)
            raise ControllerError(f"{method} {path}: {response.status_code}: {detail}")
        return response


def error_detail(response: httpx.Response) -> str:
    """What a maillab API error response says, in one line (fields named for a 422)."""
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text.strip()
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', []))}: {error.get('msg')}"
            for error in detail
        )
    return str(detail)
