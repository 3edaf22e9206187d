# maillab's lab control: the lab model, protocol grammar, traffic analysis, capture,
# runtimes (compose, local), the FastAPI controller, scenarios, reports and the CLI.
__version__ = "0.1.0"
