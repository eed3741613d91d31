"""The console in a real browser: Debian's Chromium, driven by Playwright, keyboard only.

A live `trustline serve` (SQLite, scheduler inside) is the server; the partners act through
the API, the counselor through the console's pages, with Tab and Enter alone. axe-core (from
npm, tests/console/package.json) checks every page; a screenshot of each is saved under
tests/console/screenshots/ (git-ignored). Without Chromium or npm the test is skipped, except
in CI (CI set), where it must run: .ci/run installs both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import free_port, start, stop, wait_until_up

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "a long enough passphrase"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

pytestmark = pytest.mark.slow


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs what they need)")
    pytest.skip(f"{reason}; install Debian's chromium and npm to run the browser tests")


def _axe_source() -> str:
    if not AXE.exists():
        if shutil.which("npm") is None:
            _missing("npm is not installed (axe-core comes from the npm registry)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    return AXE.read_text()


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, installed from tests/console/package-lock.json."""
    return _axe_source()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless; never a browser downloaded by Playwright."""
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - in the test extra
        _missing("playwright is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live `trustline serve` over its own SQLite database."""
    folder = tmp_path_factory.mktemp("console-serve")
    port = free_port()
    process = start(folder, "--port", str(port), env={"TRUSTLINE_SECRET_KEY": "s" * 48})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/readyz", process)
        yield base
    finally:
        stop(process)


class Api:
    """A partner (or counselor) of the live server, through its JSON API."""

    def __init__(self, base: str, email: str, name: str, role: str = "partner") -> None:
        self.base = base
        self.token = ""
        body = {"email": email, "password": PASSWORD, "display_name": name, "role": role}
        self.user = self.call("POST", "/auth/register", body)["user"]
        self.token = self._last["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - the loopback server of this test
            f"{self.base}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method=method,
        )
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            raw = response.read()
        self._last = json.loads(raw) if raw else None
        return self._last

    def answer(self, checkin_id: str, value: int) -> None:
        """Answer every prompt of a check-in, shared, and submit."""
        checkin = self.call("GET", f"/checkins/{checkin_id}")
        answers = []
        for prompt in checkin["prompts"]:
            kind = prompt["kind"]
            if kind == "scale":
                given: Any = min(prompt["max"], max(prompt["min"], value))
            elif kind == "choice":
                given = prompt["options"][0]["value"]
            elif kind == "multi_choice":
                given = [prompt["options"][0]["value"]]
            else:
                given = "A few honest words."
            answers.append({"prompt": prompt["key"], "value": given, "visibility": "shared"})
        self.call("PUT", f"/checkins/{checkin_id}/answers", {"answers": answers, "submit": True})


class Visit:
    """The counselor's page, with what each step checks: axe, CSP, a screenshot."""

    def __init__(self, page: Any, axe: str) -> None:
        self.page = page
        self.axe = axe
        self.csp_violations: list[str] = []
        self.audited: dict[str, list] = {}
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(message.text)

    def check(self, name: str) -> None:
        """axe finds no serious or critical violation; keep a screenshot."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        # evaluated over the DevTools protocol, so the page's CSP (no inline script) holds
        self.page.evaluate(self.axe)
        violations = self.page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
            ".violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
            " target: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))",
            AXE_TAGS,
        )
        self.audited[name] = violations
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, (name, bad)
        assert not self.csp_violations, self.csp_violations

    def focused(self) -> dict[str, str]:
        return self.page.evaluate(
            "() => { const el = document.activeElement; return {tag: el.tagName, id: el.id,"
            " text: (el.innerText || el.value || '').trim()}; }"
        )

    def tab_to(self, *, text: str | None = None, element_id: str | None = None) -> None:
        """Press Tab until the element with this text (or id) has the focus."""
        for _ in range(80):
            self.page.keyboard.press("Tab")
            now = self.focused()
            if (text is not None and now["text"] == text) or (
                element_id is not None and now["id"] == element_id
            ):
                return
        raise AssertionError(f"Tab never reached {text or element_id} on {self.page.url}")

    def activate(self, *, text: str | None = None, element_id: str | None = None) -> None:
        """Tab to a link or button and press Enter; wait for the next page."""
        self.tab_to(text=text, element_id=element_id)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def type_into(self, element_id: str, value: str) -> None:
        self.tab_to(element_id=element_id)
        self.page.keyboard.type(value)

    def choose(self, element_id: str, label: str) -> None:
        """Pick an option of a select with the arrow keys."""
        self.tab_to(element_id=element_id)
        for _ in range(60):
            chosen = self.page.evaluate(
                "(id) => { const s = document.getElementById(id);"
                " return s.options[s.selectedIndex].text; }",
                element_id,
            )
            if chosen == label:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"no option {label!r} in #{element_id}")

    @property
    def text(self) -> str:
        return self.page.inner_text("main")


def test_a_counselors_day_in_the_console_by_keyboard_alone(server, browser, axe_source):
    Api(server, "dr.lee@example.com", "Dr Lee", role="counselor")
    sam = Api(server, "sam@example.com", "Sam")
    alex = Api(server, "alex@example.com", "Alex")
    invite = sam.call("POST", "/pairing-invites")
    couple = alex.call("POST", "/pairing-invites/accept", {"code": invite["code"]})

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    visit = Visit(page, axe_source)

    # Signing in: the skip link comes first, then the form, by keyboard.
    page.goto(f"{server}/console/")
    assert page.url.endswith("/console/sign-in")
    visit.check("sign-in")
    page.keyboard.press("Tab")
    assert visit.focused()["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    visit.type_into("email", "dr.lee@example.com")
    visit.type_into("password", "not my password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "The e-mail or password is not right." in visit.text
    visit.check("sign-in-refused")
    visit.type_into("password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/console/")
    assert "No couple is linked to you yet" in visit.text
    visit.check("couples-empty")

    # A form sent without its CSRF token is refused.
    visit.activate(text="Link codes")
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    visit.activate(text="Make a link code")
    assert "This form could not be accepted" in visit.text
    page.go_back()

    # A link code, which the partners use through the API.
    page.reload()
    visit.activate(text="Make a link code")
    code = page.inner_text("#link-code").strip()
    assert len(code) == 8
    visit.check("link-code")
    proposed = sam.call(
        "POST", "/couple/counselor-links", {"code": code, "scope": "shared_content"}
    )
    page.reload()
    assert "Sam entered your code" in visit.text and "Waiting for their partner" in visit.text
    visit.check("links-pending")
    alex.call("POST", f"/counselor-links/{proposed['id']}/consent")

    # The couple do things; the digest tells what happened since the last visit.
    opened = sam.call("POST", "/couple/checkins", {"prompt_set": "weekly_trust_checkin"})
    sam.answer(opened["id"], 6)
    alex.answer(opened["id"], 4)
    agreement = sam.call(
        "POST",
        "/couple/agreements",
        {"title": "Evenings", "items": [{"category": "plans", "text": "We share our plans."}]},
    )
    sam.call("POST", f"/agreements/{agreement['id']}/withdraw", {})
    visit.activate(text="Couples")
    assert "Check-ins revealed: 1" in visit.text
    assert "Agreements: consents, amendments, withdrawals: 2" in visit.text
    visit.check("couples")

    # The couple's page: the scope banner, the timeline, the chart.
    visit.activate(text="Alex & Sam")
    assert "What this link shows: Progress and shared content" in visit.text
    assert "You both answered" in visit.text
    visit.check("couple")

    # Assigning: first a form with a mistake, then a check-in from a prompt set.
    visit.activate(text="Assign an exercise")
    visit.activate(text="Assign the written task")
    assert "Give the couple something to reflect on." in visit.text
    assert page.get_attribute("#reflection-prompts", "aria-invalid") == "true"
    assert "reflection-prompts-error" in page.get_attribute(
        "#reflection-prompts", "aria-describedby"
    )
    visit.check("assign-errors")
    visit.choose("checkin-template", "Weekly trust check-in")
    visit.type_into("checkin-instructions", "Answer on a calm evening.")
    visit.activate(text="Assign the check-in")
    assert "Check-in assigned." in visit.text
    exercise = sam.call("GET", "/couple/exercises")[0]
    assert exercise["status"] == "open"

    # The partners complete it through the API; the console shows it, and the chart's points.
    sam.answer(exercise["checkin_id"], 7)
    alex.answer(exercise["checkin_id"], 5)
    # Sam answers a PHQ-9 and shares his scores (his login is fresh); Alex shares nothing.
    for partner in (sam, alex):
        taken = partner.call("POST", "/me/measure-responses", {"measure": "phq9"})
        answers = [{"item": f"phq9_{n}", "value": 2 if n <= 5 else 0} for n in range(1, 10)]
        partner.call(
            "PUT", f"/measure-responses/{taken['id']}", {"answers": answers, "submit": True}
        )
    sam.call("PUT", "/me/measure-sharing", {"counselor_link_id": proposed["id"], "share": True})
    page.reload()
    row = page.inner_text("#exercises tbody tr:first-child")
    assert "Weekly trust check-in" in row and "Completed" in row
    points = page.locator("section[aria-labelledby=ratings-title] .point").count()
    assert points == 4, points  # two check-ins, two partners
    assert "Sam (2 ratings)" in visit.text and "Alex (2 ratings)" in visit.text
    scores = page.locator("#questionnaires")
    assert scores.locator(".point").count() == 1  # Sam's one score; nothing of Alex's
    assert "Sam shares questionnaire scores with you." in scores.inner_text()
    assert "Sam (1 score): latest 10, Moderate" in scores.inner_text()
    visit.check("couple-completed")
    chart = page.locator("section[aria-labelledby=ratings-title]")
    chart.screenshot(path=str(SCREENSHOTS / "ratings-chart.png"))
    scores.screenshot(path=str(SCREENSHOTS / "questionnaires.png"))

    # Ending the link, after a confirmation step.
    visit.activate(text="End the link")
    assert "Both partners are told" in visit.text
    visit.check("end-link")
    visit.activate(text="End the link")
    assert "The link has ended" in visit.text
    assert sam.call("GET", "/couple/counselor-links")[0]["status"] == "revoked"
    page.goto(f"{server}/console/couples/{couple['id']}")
    assert "Not found" in visit.text
    visit.check("not-found")

    # Signing out.
    page.goto(f"{server}/console/")
    visit.activate(text="Sign out")
    assert page.url.endswith("/console/sign-in") and "You are signed out." in visit.text
    page.goto(f"{server}/console/links")
    assert page.url.endswith("/console/sign-in")
    context.close()
    report = {
        name: [(v["id"], v["impact"]) for v in found] for name, found in visit.audited.items()
    }
    (SCREENSHOTS / "axe.json").write_text(json.dumps(report, indent=2))
