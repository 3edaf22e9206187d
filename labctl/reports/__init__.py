# Reports of scenario runs and offline analyses: the Report model (the JSON contract),
# its renderers (table, JSON, the streamed analysis output, the HTML page) and the
# roles file that names hosts in captures taken outside the lab.
#
# Each name is imported from its module on first use (PEP 562), so a command that needs
# one renderer (labctl analyze's JSON stream) does not load the others (the HTML page).
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labctl.reports.analysis_stream import FORMATS as FORMATS
    from labctl.reports.analysis_stream import AnalysisStream as AnalysisStream
    from labctl.reports.conversation import ConversationReport as ConversationReport
    from labctl.reports.conversation import PhasesReport as PhasesReport
    from labctl.reports.html_page import render_page as render_page
    from labctl.reports.html_page import render_run_page as render_run_page
    from labctl.reports.model import CheckResult as CheckResult
    from labctl.reports.model import HopReport as HopReport
    from labctl.reports.model import Report as Report
    from labctl.reports.render import points as points
    from labctl.reports.render import render_json as render_json
    from labctl.reports.roles_file import RolesError as RolesError
    from labctl.reports.roles_file import RolesFile as RolesFile
    from labctl.reports.roles_file import load_roles as load_roles
    from labctl.reports.table_view import TableLook as TableLook
    from labctl.reports.table_view import render_table as render_table

_HOMES = {
    "analysis_stream": ("FORMATS", "AnalysisStream"),
    "conversation": ("ConversationReport", "PhasesReport"),
    "html_page": ("render_page", "render_run_page"),
    "model": ("CheckResult", "HopReport", "Report"),
    "render": ("points", "render_json"),
    "roles_file": ("RolesError", "RolesFile", "load_roles"),
    "table_view": ("TableLook", "render_table"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    """A public name of the package, imported from its module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
