# The HTML page in a real browser: headless Chromium (Debian's chromium and
# chromium-driver, the fixture of the webmail's browser test) opens the page from disk
# with its pcaps beside it and checks what a student sees: a lane per role, each link
# coloured and labelled by its protocol, the transcripts, a <script> Subject shown as
# text (no script element, no alert) and pcap links that lead to the files.
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from labctl.model import LAB
from labctl.reports import render_page
from labctl.reports.html_svg import PROTOCOL_COLOURS
from tests.reports.report_samples import SCRIPT_SUBJECT, sample_report
from tests.roles.mailserver.test_webmail_browser import chromium

pytestmark = pytest.mark.browser
__all__ = ["chromium"]


def write_page(directory: Path) -> Path:
    hops = sample_report().hops
    for hop in hops:
        (directory / Path(hop.pcap).name).write_bytes(b"pcap of " + hop.network.encode())
    page = directory / "report.html"
    page.write_text(render_page(hops, "Scenario basic-delivery", lab=LAB))
    return page


def test_the_page_shows_lanes_links_transcripts_and_escapes(chromium: Any,
                                                            tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path)
    chromium.get(page.as_uri())
    assert chromium.title == "Scenario basic-delivery"
    lanes = [lane.text for lane in chromium.find_elements(By.CSS_SELECTOR, ".lane text")]
    assert {"sender-ua", "sender-mta", "receiver-mta", "198.18.2.66"} <= set(lanes)
    link = chromium.find_element(
        By.CSS_SELECTOR, 'g.link[data-client="sender-ua"][data-server="sender-mta"]')
    line = link.find_element(By.TAG_NAME, "line")
    assert line.get_attribute("stroke") == PROTOCOL_COLOURS["SMTP"]
    assert link.find_element(By.CSS_SELECTOR, "text").text == "SMTP"
    body = chromium.find_element(By.TAG_NAME, "body").text
    assert "C: EHLO pc" in body and "S: 220 mail.crepes.fr" in body
    assert f"Subject {SCRIPT_SUBJECT}" in body  # shown as text
    assert chromium.find_elements(By.TAG_NAME, "script") == []
    with pytest.raises(NoAlertPresentException):
        chromium.switch_to.alert.text  # noqa: B018
    hrefs = [a.get_attribute("href") for a in chromium.find_elements(By.CSS_SELECTOR, "a.pcap")]
    assert hrefs == [(tmp_path / "alice-lan.pcap").as_uri(), (tmp_path / "internet.pcap").as_uri()]
    assert [Path(url2pathname(urlparse(href).path)).read_bytes() for href in hrefs if href] == [
        b"pcap of alice-lan", b"pcap of internet"]
