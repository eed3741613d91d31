"""Write the console's screenshots for docs/console.md from `trustline serve --demo`.

    .venv/bin/python -m tests.console.docs_screenshots

Not a test: it starts a server with the demo couple, signs in as the demo counselor in
Debian's Chromium and saves one 1280x800 PNG per page in docs/console/. (The demo couple chose
the `progress` scope; docs/console/ratings-chart.png comes from tests/console/test_browser.py,
whose couple chose `shared_content`.)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from backend.demo import COUNSELOR, PASSWORD
from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_serve import free_port, start, stop, wait_until_up

OUT = Path(__file__).parents[2] / "docs" / "console"


def main() -> None:
    """Start the demo, visit each page, save a screenshot of it."""
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    port = free_port()
    process = start(folder, "--port", str(port), "--demo", env={"TRUSTLINE_SECRET_KEY": "d" * 48})
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        wait_until_up(f"{base}/readyz", process, timeout=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})

            def shot(name: str) -> None:
                page.screenshot(path=str(OUT / f"{name}.png"))

            page.goto(f"{base}/console/")
            shot("sign-in")
            page.fill("#email", COUNSELOR)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            shot("couples")
            couple = re.search(r"/console/couples/([^\"/]+)", page.content()).group(1)
            page.goto(f"{base}/console/couples/{couple}")
            shot("couple")
            page.goto(f"{base}/console/couples/{couple}/exercises/new")
            page.click("text=Assign the written task")
            shot("assign")
            page.goto(f"{base}/console/links")
            page.click("text=Make a link code")
            shot("link-code")
            page.goto(f"{base}/console/couples/{couple}/end")
            shot("end-link")
            browser.close()
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(OUT.parents[1])}: {png.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
