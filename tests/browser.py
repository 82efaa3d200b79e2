"""Open an HTML page in headless Chromium: console messages, images that did not load, links that do not
resolve. Used by the report tests; CI installs Debian's ``chromium`` (``.ci/run``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--enable-logging=stderr", "--v=0",
)


def chromium() -> str:
    """The Chromium executable; outside CI a missing browser skips the test, in CI (CI=true) it fails it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("chromium is not installed but CI is set: .ci/run must install it (apt-get install chromium)")
    pytest.skip("chromium not installed (apt-get install chromium; CI installs it)")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def unresolved_links(page: Path) -> list[str]:
    """Links (src, href) of ``page`` that are neither data URIs, in-page anchors nor existing local files."""
    parser = _Links()
    parser.feed(page.read_text())
    missing = []
    for link in parser.links:
        url = urlparse(link)
        if url.scheme == "data" or link.startswith("#"):
            continue
        if url.scheme in ("", "file") and (page.parent / unquote(url.path)).exists():
            continue
        missing.append(link)
    return missing


def open_in_chromium(page: Path, profile: Path, timeout: int = 120) -> dict:
    """Load ``page`` headless with a fresh profile; return the DOM after load, console lines and image counts.

    The report's own script writes ``data-images`` and ``data-broken-images`` (images that did not decode) on
    ``<body>`` at the load event; ``--dump-dom`` prints the DOM after it.
    """
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout,
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    body = re.search(r"<body([^>]*)>", result.stdout)
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body.group(1))) if body else {}
    return {"returncode": result.returncode, "dom": result.stdout, "console": console, "body": attrs}


def assert_page_works(page: Path, profile: Path, max_bytes: int) -> dict:
    """The page loads without console messages, every image decodes, every link resolves, size below max."""
    assert page.stat().st_size <= max_bytes, f"{page} is {page.stat().st_size} bytes (limit {max_bytes})"
    assert not unresolved_links(page), f"links that do not resolve: {unresolved_links(page)[:5]}"
    loaded = open_in_chromium(page, profile)
    assert loaded["returncode"] == 0 and "</html>" in loaded["dom"], "chromium did not load the page"
    assert not loaded["console"], f"console messages: {loaded['console'][:5]}"
    assert loaded["body"].get("data-broken-images") == "0", f"images that did not load: {loaded['body']}"
    return loaded
