# The controller program: `python -m labctl.controller` serves the API with uvicorn,
# configured from MAILLAB_* environment variables (see settings.py).
from __future__ import annotations

import uvicorn

from labctl.controller.app import create_app
from labctl.controller.settings import get_settings


def main() -> None:
    """Serve the controller on its instance's port for its runtime."""
    settings = get_settings()
    port = settings.port or settings.plan().controller_port
    uvicorn.run(create_app(settings), host=settings.host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
