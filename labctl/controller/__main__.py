# The controller program: `python -m labctl.controller` serves the API with uvicorn,
# configured from MAILLAB_* environment variables (see settings.py).
from __future__ import annotations

import uvicorn

from labctl.controller.app import create_app
from labctl.controller.settings import get_settings
from labctl.model import addressing
from labctl.model.addressing import CONTROLLER_PORTS


def main() -> None:
    """Serve the controller on its runtime's port."""
    settings = get_settings()
    port = settings.port or CONTROLLER_PORTS[addressing(settings.runtime).runtime]
    uvicorn.run(create_app(settings), host=settings.host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
