"""report.html opens offline in a real headless browser (Debian's Chromium, driven by Playwright) and
shows its summary and every figure."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from edgesim.plots import plot_any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is in the test extras")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)")


def open_offline(report: Path):
    """Load ``report`` in headless Chromium with every network request refused; return what it showed."""
    requests = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda route: (requests.append(route.request.url), route.continue_())
                   if route.request.url.startswith(("file:", "data:")) else route.abort())
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("[...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        headings = page.evaluate("[...document.querySelectorAll('h1, h2')].map(h => h.textContent)")
        tables = page.evaluate("document.querySelectorAll('table').length")
        screenshot = page.screenshot(full_page=True)
        browser.close()
    external = [url for url in requests if not url.startswith(("file:", "data:"))]
    return images, headings, tables, image.imread(io.BytesIO(screenshot)), external


def assert_shows_every_figure(written: list[Path]) -> None:
    report = written[-1]
    assert report.name == "report.html"
    images, headings, tables, shot, external = open_offline(report)
    figures = {p.name for p in written[:-1] if p.suffix == ".png"}
    assert {alt for alt, _ in images} == figures and all(loaded for _, loaded in images)
    assert "Figures" in headings and tables >= 1 and not external
    assert shot.shape[0] > 900 and float(np.std(shot[..., :3])) > 0.05  # a long page, not a blank one


def test_a_sweep_report_shows_its_summary_and_every_figure(sweep_dir: Path) -> None:
    written = plot_any(sweep_dir)
    assert_shows_every_figure(written)
    assert "Summary (seeds pooled)" in written[-1].read_text()


def test_a_run_report_shows_its_summary_and_every_figure(async_run: Path) -> None:
    assert_shows_every_figure(plot_any(async_run))
