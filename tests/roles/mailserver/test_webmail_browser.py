# The webmail in a real browser: headless Chromium (Debian's chromium and
# chromium-driver, driven by Selenium with the driver's path given, so Selenium Manager
# never runs and nothing is downloaded) logs in, opens a message whose subject is a
# <script> (shown as text, no alert, no script element), moves it, sends a message with
# an attachment and logs out. The browser may resolve no host name and talks only to the in-process
# server's lab address. Without Chromium the test is skipped, unless
# MAILLAB_REQUIRE_BROWSER is set (as in CI), which turns the skip into a failure.
from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from roles.mailserver.server import MailServer
from tests.roles.conftest import StartServer

from .webmail_peer import BOB, BOB_PASSWORD, webmail_url

pytestmark = pytest.mark.browser
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REQUIRE_BROWSER = "MAILLAB_REQUIRE_BROWSER"
SCRIPT_SUBJECT = "<script>alert(1)</script>"
HOSTILE = (f"From: mallory@internet.test\r\nTo: bob@hamburger.edu\r\nSubject: {SCRIPT_SUBJECT}"
           f"\r\n\r\n{SCRIPT_SUBJECT}\r\n").encode()
WAIT_SECONDS = 20
# No background traffic: no host name resolves (only loopback addresses are reached),
# no updates, no telemetry, no first-run pages.
QUIET_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.*", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-first-run", "--no-default-browser-check", "--no-pings",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
)


def browser_missing() -> str:
    """Why the browser test cannot run here ('' when it can)."""
    if importlib.util.find_spec("selenium") is None:
        return "the selenium package is not installed"
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    return f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)" \
        if missing else ""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium under Selenium (skipped, or failed when required, without one)."""
    problem = browser_missing()
    if problem:
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"{REQUIRE_BROWSER} is set but {problem}")
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*QUIET_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def browse(driver: Any, server: MailServer, attachment: Path) -> None:
    """Bob's session in the browser, checked page by page (blocking: runs in a thread)."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_SECONDS)
    base = webmail_url(server)

    def heading() -> str:
        return str(driver.find_element(By.TAG_NAME, "h1").text)

    driver.get(f"{base}/")
    wait.until(ec.presence_of_element_located((By.ID, "login"))).send_keys(BOB)
    driver.find_element(By.ID, "password").send_keys(BOB_PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait.until(ec.title_contains("Folders"))
    driver.find_element(By.LINK_TEXT, "INBOX").click()
    wait.until(ec.title_contains("INBOX"))
    driver.find_element(By.LINK_TEXT, SCRIPT_SUBJECT).click()  # the link's text is the tag
    wait.until(ec.presence_of_element_located((By.ID, "move")))
    assert heading() == SCRIPT_SUBJECT
    assert driver.find_element(By.ID, "body").text == SCRIPT_SUBJECT
    assert driver.find_elements(By.TAG_NAME, "script") == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check
    Select(driver.find_element(By.ID, "move-to")).select_by_visible_text("Junk")
    driver.find_element(By.ID, "move").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "notice"), "Moved to Junk."))
    assert len(server.mailboxes.list(BOB, "Junk")) == 1
    driver.find_element(By.LINK_TEXT, "Write").click()
    wait.until(ec.presence_of_element_located((By.ID, "to"))).send_keys(BOB)
    driver.find_element(By.ID, "subject").send_keys("sent from Chromium")
    driver.find_element(By.ID, "body-text").send_keys("Ketchup?\nMustard!")
    driver.find_element(By.ID, "attachment").send_keys(str(attachment))
    driver.find_element(By.ID, "send").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "notice"), "Message sent: queued as"))
    assert heading() == "Sent" and driver.find_elements(By.LINK_TEXT, "sent from Chromium")
    driver.find_element(By.ID, "logout").click()
    wait.until(ec.presence_of_element_located((By.ID, "sign-in")))
    driver.get(f"{base}/folders")
    wait.until(ec.presence_of_element_located((By.ID, "sign-in")))  # logged out for good


async def test_bob_reads_moves_sends_and_logs_out_in_chromium(
        start_server: StartServer, chromium: Any, tmp_path: Path) -> None:
    server = await start_server("receiver-mta")
    server.mailboxes.deliver(BOB, HOSTILE)
    recipe = tmp_path / "recipe.txt"
    recipe.write_bytes(b"2 tomatoes\n1 onion\n")
    await asyncio.to_thread(browse, chromium, server, recipe)
    (received,) = server.mailboxes.list(BOB)
    message = message_from_bytes(server.mailboxes.read(BOB, received.id))
    assert message["Subject"] == "sent from Chromium"
    text, attached = [part for part in message.walk() if not part.is_multipart()]
    assert text.get_payload(decode=True) == b"Ketchup?\r\nMustard!\r\n"
    assert attached.get_filename() == "recipe.txt"
    assert attached.get_payload(decode=True) == recipe.read_bytes()
