"""A real browser opens a run's report.html: headless Chromium (Debian's package, which
scripts/test.sh installs when missing) driven by Playwright, offline, from the file itself.
It checks that every figure rendered with a non-zero size and that the metrics table is on the
page, and keeps a screenshot beside the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paperpred.cli.main import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")

if CHROMIUM is None:
    pytest.fail("Chromium is missing: scripts/test.sh installs Debian's chromium package "
                "(apt-get install chromium)", pytrace=False)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(embedded_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "run"
    assert main(["predict", "--limit", "24", "--output-dir", str(out), "--no-progress"]) == 0
    return out / "report.html"


def test_chromium_renders_every_figure_and_the_table(report):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.alt, e.naturalWidth, e.naturalHeight, "
            "e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
        headers = page.eval_on_selector_all("table th", "els => els.map(e => e.textContent)")
        rows = page.eval_on_selector_all("table td:first-child",
                                         "els => els.map(e => e.textContent)")
        page.screenshot(path=str(report.with_name("report.png")), full_page=True)
        browser.close()
    assert len(sizes) == 4
    for alt, natural_w, natural_h, shown_w, shown_h in sizes:
        assert natural_w > 100 and natural_h > 100 and shown_w > 100 and shown_h > 100, alt
    assert "bal. acc." in headers and "AUC" in headers
    assert {"model", "model, calibrated threshold", "majority", "tfidf_logreg"} <= set(rows)
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert report.with_name("report.png").stat().st_size > 20_000
