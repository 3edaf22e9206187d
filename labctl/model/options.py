# Lab options: the switches of a lab that a scenario's setup or `labctl up` may set.
#
# They change how the mail servers behave (SPF checking, trusting Alice's LAN on port 25,
# relay concurrency, tying the submission sender to the login), so the lecture's
# exercises can be shown both ways. LabOptions is the one definition of them (names,
# types, bounds, defaults); everything else is derived from it:
# - the environment: they travel to every role process as MAILLAB_* variables (compose
#   passes them through compose.yaml, the local runtime through the processes'
#   environment); LabOptions.from_env() reads them back and refuses a bad value with a
#   message naming the variable;
# - the wire: a mail server's control agent answers its options at OPTIONS_PATH (GET: a
#   LabOptions as JSON); a PATCH there with a LabOptionChanges changes the options it
#   names, keeps the others, and answers the options now (a bad value: 422 naming it);
# - a scenario's setup: LabOptionChanges has every option, optional (None: the lab's own).
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

SpfMode = Literal["off", "junk", "reject"]
OPTIONS_PATH = "/options"


class OptionError(ValueError):
    """A lab option with a value it cannot take; the message names the option."""


class LabOptions(BaseModel):
    """The lab's switches, with the defaults the lecture starts from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spf: Annotated[SpfMode, Field(description=(
        "SPF check on port 25: off accepts forged senders; junk files SPF failures in "
        "Junk; reject refuses them (550)"))] = "off"
    trust_lan: Annotated[bool, Field(description=(
        "port 25 relays for the server's own LAN (Postfix permit_mynetworks)"))] = False
    relay_concurrency: Annotated[int, Field(ge=1, le=100, description=(
        "connections per destination server (1 shows two messages on one connection)"))] = 20
    sender_login_match: Annotated[bool, Field(description=(
        "on 587 the MAIL FROM must be the logged-in user's address"))] = True

    @staticmethod
    def env_name(option: str) -> str:
        """The environment variable carrying `option`."""
        return f"MAILLAB_{option.upper()}"

    def to_env(self) -> dict[str, str]:
        """The options as environment variables."""
        env = {}
        for name, value in self.model_dump().items():
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            env[self.env_name(name)] = text
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LabOptions:
        """The options set in `environ` (default os.environ); OptionError on a bad value."""
        source = os.environ if environ is None else environ
        raw = {name: source.get(cls.env_name(name), "").strip() for name in cls.model_fields}
        given = {name: text.lower() for name, text in raw.items() if text}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            raise OptionError(f"{cls.env_name(name)}={raw[name]!r}: {error['msg']}") from None

    def changed_by(self, changes: LabOptionChanges) -> LabOptions:
        """These options with the ones `changes` sets replaced."""
        return self.model_copy(update=changes.option_values())

    def as_changes(self) -> LabOptionChanges:
        """Changes that set every option to these options' value."""
        return LabOptionChanges.model_validate(self.model_dump())


class _OptionChanges(BaseModel):
    """Some lab options, each optional (None: left as it is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def option_values(self) -> dict[str, Any]:
        """The options set, by name."""
        values = self.model_dump(include=set(LabOptions.model_fields))
        return {name: value for name, value in values.items() if value is not None}


def _optional_options() -> type[_OptionChanges]:
    """LabOptions' fields, each with the same type and bounds but optional (default None)."""
    fields: dict[str, Any] = {}
    for name, info in LabOptions.model_fields.items():
        described = Field(description=f"{info.description} (unset: the lab's own)")
        annotation: Any = info.annotation
        fields[name] = (Annotated[(annotation | None, *info.metadata, described)], None)
    return create_model("LabOptionChanges", __base__=_OptionChanges, **fields)


if TYPE_CHECKING:
    LabOptionChanges = _OptionChanges
else:
    LabOptionChanges = _optional_options()
