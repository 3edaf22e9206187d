# Lab options: the switches of a lab that a scenario's setup or `labctl up` may set.
#
# They change how the mail servers behave (SPF checking, trusting Alice's LAN on port 25,
# relay concurrency, tying the submission sender to the login), so the lecture's
# exercises can be shown both ways. The options travel to every role process as
# MAILLAB_* environment variables (compose passes them through compose.yaml, the local
# runtime through the processes' environment); LabOptions.from_env() reads them back and
# refuses a bad value with a message naming the variable.
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal, get_args

SpfMode = Literal["off", "junk", "reject"]
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class OptionError(ValueError):
    """A lab option with a value it cannot take; the message names the option."""


@dataclass(frozen=True)
class LabOptions:
    """The lab's switches, with the defaults the lecture starts from."""

    spf: SpfMode = "off"  # off: accept forged senders; junk: file SPF failures in Junk; reject: 550
    trust_lan: bool = False  # port 25 relays for the server's own LAN (Postfix permit_mynetworks)
    relay_concurrency: int = 20  # connections per destination server (1 shows persistence)
    sender_login_match: bool = True  # on 587 the MAIL FROM must be the logged-in user's address

    @staticmethod
    def env_name(option: str) -> str:
        """The environment variable carrying `option`."""
        return f"MAILLAB_{option.upper()}"

    def to_env(self) -> dict[str, str]:
        """The options as environment variables."""
        env = {}
        for item in fields(self):
            value = getattr(self, item.name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            env[self.env_name(item.name)] = text
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LabOptions:
        """The options set in `environ` (default os.environ); OptionError on a bad value."""
        source = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in fields(cls):
            raw = source.get(cls.env_name(item.name))
            if raw is None or raw == "":
                continue
            values[item.name] = _parse(cls.env_name(item.name), item.name, raw.strip())
        return cls(**values)  # type: ignore[arg-type]


def _parse(variable: str, name: str, raw: str) -> object:
    default = getattr(LabOptions(), name)
    if isinstance(default, bool):
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise OptionError(f"{variable}={raw!r}: expected 1/0, true/false, yes/no or on/off")
    if isinstance(default, int):
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
            raise OptionError(f"{variable}={raw!r}: expected a whole number from 1 to 100")
        return int(raw)
    allowed = get_args(SpfMode)
    if raw.lower() not in allowed:
        raise OptionError(f"{variable}={raw!r}: expected one of {', '.join(allowed)}")
    return raw.lower()
