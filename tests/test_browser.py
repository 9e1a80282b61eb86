"""Browser tests: Debian's Chromium, driven by Playwright, against the real ``medkg serve``.

They run an example query in the editor, open an entity page, follow a link, open the
explanation of an inferred fact, use the search box, read a page without JavaScript and
draw the graph view. Every request the browser makes is recorded, and any request to a
host other than the loopback server fails the test: the pages must work offline.

Chromium is the system's (``apt-get install chromium``); set ``CHROMIUM`` to use another
binary. Playwright's own browser downloads are never used. Without Chromium the tests
fail when ``CI`` is set and are skipped otherwise.

Screenshots for the README: ``MEDKG_SCREENSHOTS=docs/images pytest tests/test_browser.py``
writes ``editor.png``, ``entity.png``, ``graph.png`` and ``explanation.png`` there (by
default they go to a temporary directory).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import Bundled
from server_process import RunningServer, running_server

SCREENSHOTS = os.environ.get("MEDKG_SCREENSHOTS")  # read before the fixtures clear MEDKG_*
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
pytestmark = pytest.mark.timeout(120)


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM"),
        shutil.which("chromium"),
        "/usr/lib/chromium/chromium",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason} (install Debian's chromium; CI fails instead)")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        _unavailable("no Chromium binary (apt-get install chromium, or set CHROMIUM)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def server(bundled: Bundled, chromium_path: str) -> Iterator[RunningServer]:
    with running_server("--cache-dir", str(bundled.cache_dir), "--workers", "1") as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install '.[test]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Session:
    """A page of a fresh browser context that records requests leaving the machine."""

    def __init__(self, browser: Any, server: RunningServer, **options: Any) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", self._note)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _note(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            self.external.append(request.url)

    def open(self, path: str) -> Any:
        self.page.goto(self.server.base_url + path)
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.external == [], f"requests left the machine: {self.external}"
        assert self.errors == [], f"script errors: {self.errors}"


@pytest.fixture
def session(browser: Any, server: RunningServer) -> Iterator[Session]:
    current = Session(browser, server)
    yield current
    current.close()


def test_run_an_example_query_in_the_editor(session: Session, shots: Path) -> None:
    page = session.open("/")
    page.locator(".tabsList a", has_text="All agreements").first.click()
    page.locator(".tabPanel.active .yasqe_queryButton").click()
    rows = page.locator(".tabPanel.active .yasr table.dataTable tbody tr")
    rows.first.wait_for()
    assert rows.count() >= 10
    assert "res:agreement-2026-sjtusm-ntu-student-exchange" in rows.first.inner_text()
    page.screenshot(path=str(shots / "editor.png"))
    # A CONSTRUCT answer drawn as a graph.
    page.locator(".tabsList a", has_text="Partnership network").first.click()
    page.locator(".tabPanel.active .yasqe_queryButton").click()
    page.locator(".tabPanel.active .yasr_btn", has_text="Graph").first.click()
    page.locator(".tabPanel.active .yasr-graph canvas").first.wait_for()


def test_entity_page_links_and_explanations(session: Session, shots: Path) -> None:
    page = session.open("/resource/joseph-sung")  # 303 to the page
    assert page.url.endswith("/resource/joseph-sung.html")
    assert page.locator("h1").inner_text() == "Joseph Sung"
    page.get_by_role("link", name="Lee Kong Chian School of Medicine").first.click()
    page.wait_for_url("**/resource/lkcmedicine.html")
    assert page.locator("h1").inner_text() == "Lee Kong Chian School of Medicine"
    page.locator("a.badge.inferred").first.click()
    page.wait_for_url("**/explain?**")
    assert page.locator("h1").inner_text() == "Why does this hold?"
    assert page.locator("li.derivation").count() >= 1
    page = session.open("/resource/sjtusm.html")
    page.screenshot(path=str(shots / "entity.png"))
    query = (
        "/explain?s=%3Chttps%3A%2F%2Fw3id.org%2Fmedkg%2Fresource%2Fsjtusm%3E"
        "&p=%3Chttps%3A%2F%2Fw3id.org%2Fmedkg%2Fontology%23partnerOf%3E"
        "&o=%3Chttps%3A%2F%2Fw3id.org%2Fmedkg%2Fresource%2Fntu%3E"
    )
    page = session.open(query)
    assert "rule partnership.rq" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "explanation.png"), full_page=True)


def _poll(page: Any, script: str, until: Any, limit_ms: int = 15_000) -> Any:
    """Evaluate ``script`` until ``until(value)`` (no string eval: the pages' CSP forbids it)."""
    value = page.evaluate(script)
    waited = 0
    while not until(value) and waited < limit_ms:
        page.wait_for_timeout(100)
        waited += 100
        value = page.evaluate(script)
    assert until(value), f"{script} gave {value!r}"
    return value


def test_graph_view(session: Session, shots: Path) -> None:
    page = session.open("/resource/lkcmedicine.html")
    status = page.locator("#network-status")
    _poll(page, "document.getElementById('network-status').textContent", lambda t: "entities" in t)
    before = page.evaluate("window.medkgNetwork.nodes().length")
    assert before >= 5
    ntu = "https://w3id.org/medkg/resource/ntu"
    page.evaluate(f"window.medkgNetwork.getElementById('{ntu}').emit('tap')")
    _poll(page, "window.medkgNetwork.nodes().length", lambda n: n > before)
    assert "entities" in status.inner_text()
    page.wait_for_timeout(300)
    page.locator("section.network").screenshot(path=str(shots / "graph.png"))


def test_search_box(session: Session) -> None:
    page = session.open("/resource/sjtusm.html")
    box = page.get_by_role("combobox", name="Search entities")
    box.fill("ruijin")
    page.get_by_role("option", name="Ruijin Hospital").first.wait_for()
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url("**/resource/ruijin-hospital.html")
    # Without the suggestions: the form submits to the result page.
    page = session.open("/")
    page.get_by_role("combobox", name="Search entities").fill("Paris Cite")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=Paris+Cite")
    assert page.get_by_role("link", name="Université Paris Cité", exact=True).count() == 1


def test_pages_read_without_javascript(browser: Any, server: RunningServer) -> None:
    reader = Session(browser, server, java_script_enabled=False)
    page = reader.open("/resource/ntu.html")
    assert page.locator("h1").inner_text() == "Nanyang Technological University"
    page.get_by_role("link", name="Lee Kong Chian School of Medicine").first.click()
    page.wait_for_url("**/resource/lkcmedicine.html")
    assert page.locator("table.facts").count() >= 1
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reader.close()
