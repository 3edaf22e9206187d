# Reports of scenario runs: the Report model (the JSON contract) and its renderers.
from labctl.reports.model import CheckResult, ConversationReport, HopReport, Report
from labctl.reports.render import points, render_hops, render_json, render_table

__all__ = [
    "CheckResult",
    "ConversationReport",
    "HopReport",
    "Report",
    "points",
    "render_hops",
    "render_json",
    "render_table",
]
