"""The HTML report: self-contained, escaped, and shown by a real browser (headless Chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import escape, unescape

import pytest

from bench.report.captions import TITLES as TABLE_TITLES
from .report_tree import HOSTILE

N_FIGURES = 9  # see test_report_cli.FIGURES
TITLES = [*TABLE_TITLES.values(), "Protocol: how each number was made"]
N_TABLES = len(TABLE_TITLES)  # every table has rows in this tree (the floor: its toy runs)


def test_self_contained_and_escaped(report):
    out, _ = report
    page = (out / "report.html").read_text()
    assert "<script" not in page.lower()  # no script at all, so none can be injected
    assert HOSTILE not in page and "<b>bold</b>" not in page
    assert escape(f"RuntimeError: boom {HOSTILE}", quote=False) in page  # the failed run's error
    assert escape(f"gap of gan {HOSTILE}", quote=False) in page  # a variant's description in the protocol
    assert escape(json.dumps({"note": HOSTILE}), quote=False) in page  # a --set value in the settings
    srcs = re.findall(r'\s(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") or s.startswith("#") for s in srcs), \
        [s[:40] for s in srcs if not s.startswith(("data:", "#"))]
    assert len(re.findall(r"<img ", page)) == N_FIGURES
    assert "url(" not in page and "@import" not in page  # nothing fetched by the stylesheet either
    for title in TITLES:
        assert f">{title}<" in unescape(page)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.dataset.probe = JSON.stringify({
    images: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length,
    tables: document.querySelectorAll('table.bench').length,
    rows: document.querySelectorAll('table.bench tbody tr').length,
  });
});</script>"""


def _dump(chromium: str, page, tmp_path, name: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / ('profile-' + name)}",
             "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()]
    return subprocess.run([chromium, *flags], capture_output=True, text=True, timeout=180)


def test_html_renders_in_headless_chromium(report, tmp_path):
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/apt-packages.txt lists it for this test")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    out, _ = report
    page = out / "report.html"

    # The page as written: it loads, logs nothing to the console, and shows the tables.
    proc = _dump(chromium, page, tmp_path, "page")
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = proc.stdout
    assert dom.count('<table class="dataframe bench"') >= N_TABLES
    for title in TITLES:
        assert unescape(title) in unescape(dom)

    # A copy with a probe script: every embedded figure decodes and is laid out with a size.
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = _dump(chromium, probed, tmp_path, "probe")
    m = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert m, proc.stderr[-2000:]
    probe = json.loads(unescape(m.group(1)))
    assert probe["images"] == N_FIGURES and probe["loaded"] == N_FIGURES
    assert probe["tables"] >= N_TABLES and probe["rows"] > 30
