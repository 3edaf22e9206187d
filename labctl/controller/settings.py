# Controller settings, read from MAILLAB_* environment variables through a cached
# function (never at import time), so tests and runtimes each build their own.
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from labctl.model import Runtime


class ControllerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILLAB_")

    runtime: Runtime = Runtime.COMPOSE
    captures_dir: Path = Path("captures")  # where this process writes pcaps
    captures_public_dir: str | None = None  # how reports name that folder for the user
    capture_mode: str = "auto"  # auto | tcpdump | relay
    host: str = "127.0.0.1"
    port: int | None = None

    def public_pcap_path(self, pcap: Path) -> str:
        """The pcap's path as the user sees it (the compose runtime bind-mounts the folder)."""
        if self.captures_public_dir is None:
            return str(pcap.resolve())
        return str(Path(self.captures_public_dir) / pcap.relative_to(self.captures_dir))


@lru_cache
def get_settings() -> ControllerSettings:
    """The process's settings (cached)."""
    return ControllerSettings()
