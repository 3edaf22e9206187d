# Controller settings, read from MAILLAB_* environment variables through a cached
# function (never at import time), so tests and runtimes each build their own.
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from labctl.capture.recorder import MIN_LIMIT_BYTES
from labctl.model import DEFAULT_INSTANCE, Addressing, LabInstance, Runtime, addressing


class ControllerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILLAB_")

    runtime: Runtime = Runtime.COMPOSE
    instance: str = DEFAULT_INSTANCE.name  # the lab instance (MAILLAB_INSTANCE)
    captures_dir: Path = Path("captures")  # where this process writes pcaps
    captures_public_dir: str | None = None  # how reports name that folder for the user
    capture_mode: str = "auto"  # auto | tcpdump | relay
    capture_limit_mb: float = 100.0  # the most one network's pcap may hold, in MB (10^6 bytes)
    host: str = "127.0.0.1"
    port: int | None = None
    agent_token_file: Path | None = None  # the lab token the agents demand (see agent_auth)

    @field_validator("capture_limit_mb")
    @classmethod
    def _limit_holds_a_packet(cls, limit: float) -> float:
        if limit * 1e6 < MIN_LIMIT_BYTES:
            raise ValueError(f"MAILLAB_CAPTURE_LIMIT_MB must be at least "
                             f"{MIN_LIMIT_BYTES / 1e6:g}, not {limit:g}")
        return limit

    @field_validator("instance")
    @classmethod
    def _known_instance(cls, name: str) -> str:
        LabInstance.named(name)  # raises ValueError naming the problem
        return name

    def plan(self) -> Addressing:
        """The addressing plan of this controller's runtime and instance."""
        return addressing(self.runtime, instance=LabInstance.named(self.instance))

    def capture_limit_bytes(self) -> int:
        """The capture size limit per network's pcap, in bytes."""
        return int(self.capture_limit_mb * 1_000_000)

    def agent_token(self) -> str | None:
        """The lab token (None when no token file is configured: the agents will refuse)."""
        return self.agent_token_file.read_text().strip() if self.agent_token_file else None

    def public_pcap_path(self, pcap: Path) -> str:
        """The pcap's path as the user sees it (the compose runtime bind-mounts the folder)."""
        if self.captures_public_dir is None:
            return str(pcap.resolve())
        return str(Path(self.captures_public_dir) / pcap.relative_to(self.captures_dir))


@lru_cache
def get_settings() -> ControllerSettings:
    """The process's settings (cached)."""
    return ControllerSettings()
