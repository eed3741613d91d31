"""Every shell example of docs/api.md runs, in order, against a live `trustline serve`.

The examples are written as one session: each block may use what earlier ones set ($API,
$ANA, $CHECKIN...). This test runs them all as one bash script with `set -e`, records every
request's status, and fails on a server error or on a 404 the docs didn't mean (a path or an
id that went stale), so no example goes stale unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import clockshift
from tests.test_serve import free_port, start, stop, wait_until_up

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
pytestmark = pytest.mark.slow


def script(api: str) -> str:
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", DOCS.read_text(), re.S)
    body = "\n".join(blocks).replace("http://127.0.0.1:8000/api/v1", api)
    # Every request's status and target go to a log, leaving the output to jq and tee.
    return (
        "set -euo pipefail\n"
        "curl() { command curl -w '%{stderr}STATUS %{http_code} %{method} %{url_effective}\\n' "
        '"$@"; }\n' + body
    )


@pytest.mark.skipif(shutil.which("jq") is None, reason="the examples use jq (apt-get install jq)")
def test_every_example_in_the_api_guide_runs(tmp_path):
    port = free_port()
    server = start(tmp_path, "--port", str(port), "--no-scheduler")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server)
        # Dates the examples compute ("three weeks from today") follow the suite's clock.
        shim = clockshift.python_shim(tmp_path / "bin")
        path = f"{shim}:{os.environ['PATH']}" if shim else os.environ["PATH"]
        done = subprocess.run(
            ["bash", "-c", script(f"http://127.0.0.1:{port}/api/v1")],
            cwd=tmp_path,
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stop(server)
    statuses = re.findall(r"STATUS (\d+) (\w+) (\S+)", done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(statuses) >= 60
    server_errors = [s for s in statuses if s[0].startswith("5")]
    assert not server_errors, server_errors
    stale = [s for s in statuses if s[0] == "404"]
    assert not stale, stale
    # A 4xx is an example the guide means to show (a stale If-Match, a turn out of order);
    # any other one is an example gone stale (a date now past, a field renamed).
    refused = [
        s
        for s in statuses
        if s[0].startswith("4")
        and not any(
            s[0] == status and s[1] == method and re.search(path, s[2])
            for status, method, path in MEANT_TO_FAIL
        )
    ]
    assert not refused, refused


# (status, method, path pattern) of the guide's examples that show a refusal on purpose.
MEANT_TO_FAIL = [
    ("412", "POST", r"/agreements/[^/]+/versions$"),
    ("409", "POST", r"/conversations/[^/]+/entries$"),
]


UNQUOTED_URL = re.compile(r"""(?<!['"])(?:\bhttps?://|\$\{?API\}?/)[^\s'"]*""")


def curl_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"\bcurl\b", line)]


def test_every_documented_or_printed_curl_quotes_its_url():
    """zsh (macOS's shell) stops at a bare `?` in a URL, so every curl URL is quoted."""
    from backend.demo import DemoReport, describe

    root = Path(__file__).resolve().parent.parent
    sources = {
        path.name: path.read_text() for path in [root / "README.md", *root.glob("docs/*.md")]
    }
    sources["trustline demo"] = describe(
        DemoReport(created=True, couple_id="c", accounts=(("sam@example.com", "x", "partner"),))
    )
    unquoted = [
        (name, line.strip())
        for name, text in sources.items()
        for line in curl_lines(text)
        if UNQUOTED_URL.search(line)
    ]
    assert not unquoted, unquoted
    assert sum(len(curl_lines(text)) for text in sources.values()) > 50
