# Fixtures of the capture tests: the analysis tests' fixture captures and tshark oracle
# (imported, so both suites read captures the same way).
from __future__ import annotations

from tests.analysis.conftest import fixture_maker, local, pcaps, tshark_streams

__all__ = ["fixture_maker", "local", "pcaps", "tshark_streams"]
