# Reports of scenario runs and offline analyses: the Report model (the JSON contract),
# its renderers (table, JSON, the streamed analysis output, the HTML page) and the
# roles file that names hosts in captures taken outside the lab.
from labctl.reports.analysis_stream import FORMATS, AnalysisStream
from labctl.reports.conversation import ConversationReport, PhasesReport
from labctl.reports.html_page import render_page, render_run_page
from labctl.reports.model import CheckResult, HopReport, Report
from labctl.reports.render import points, render_json, render_table
from labctl.reports.roles_file import RolesError, RolesFile, load_roles

__all__ = [
    "FORMATS",
    "AnalysisStream",
    "CheckResult",
    "ConversationReport",
    "HopReport",
    "PhasesReport",
    "Report",
    "RolesError",
    "RolesFile",
    "load_roles",
    "points",
    "render_json",
    "render_page",
    "render_run_page",
    "render_table",
]
