"""The quality report's page in a real browser: Debian's chromium driven by Playwright (no
browser download). It loads without console errors or requests, every chart draws its bars
with the report's values, and it fits a phone's width without scrolling sideways.

Skips, saying why, only where chromium is missing or cannot start (``make install`` installs
it as root where apt-get exists).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from etl_handlers.aws.jobs import JobStore
from etl_handlers.quality_check.page import render_page
from playwright.sync_api import Browser, Error, sync_playwright

from . import report_scene

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

CHROMIUM = Path(os.environ.get("ETL_TEST_CHROMIUM", "/usr/bin/chromium"))
# Headless, and quiet: the machine has no network but the registries, so background
# connections (updates, sync, safe browsing) would only fail.
CHROMIUM_ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (make install installs Debian's chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except Error as exc:
            pytest.skip(f"{CHROMIUM} does not start here: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


def chart_values(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """What each chart must draw: the report's non-zero figures (zeros are in the tables)."""
    charts = {
        "jobsByStatus": report["jobsByStatus"],
        "rowsValidPerDay": {d["date"]: d["rowsValid"] for d in report["days"]},
        "rowsRejectedPerDay": {d["date"]: d["rowsRejected"] for d in report["days"]},
        "rejectsByCode": report["rejectsByCode"],
        "rowsPerCurrency": {c: f["count"] for c, f in report["currencies"].items()},
    }
    return {
        name: {label: value for label, value in figures.items() if value}
        for name, figures in charts.items()
        if any(figures.values())
    }


def open_page(browser: Browser, html: str, path: Path, viewport: dict[str, int]) -> Any:
    """The page opened from a file, with what went wrong on the way collected."""
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport=viewport)
    page.problems = []  # type: ignore[attr-defined]
    page.requests = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type in {"error", "warning"} and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page


def drawn_bars(page: Any) -> dict[str, dict[str, dict[str, Any]]]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('svg[data-chart]')].map(svg =>
            [svg.dataset.chart, Object.fromEntries([...svg.querySelectorAll('rect[data-value]')]
              .map(r => { const box = r.getBoundingClientRect();
                return [r.dataset.label, {value: Number(r.dataset.value), width: box.width,
                  height: box.height, title: r.querySelector('title').textContent}]; }))]))"""
    )


@pytest.fixture
def scene(s3: Any, store: JobStore, clock: Any) -> report_scene.Scene:
    return report_scene.build(s3, store, clock)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_page_in_chromium(
    browser: Browser, scene: report_scene.Scene, tmp_path: Path, viewport: dict[str, int]
) -> None:
    page = open_page(browser, scene.page, tmp_path / "report.html", viewport)
    try:
        assert page.problems == []
        assert page.requests == [(tmp_path / "report.html").as_uri()]  # the page, nothing else
        bars = drawn_bars(page)
        assert {name: {k: v["value"] for k, v in b.items()} for name, b in bars.items()} == (
            chart_values(scene.report)
        )
        for chart in bars.values():
            for label, bar in chart.items():
                assert bar["width"] > 0 and bar["height"] > 0, label
                assert bar["title"] == f"{label}: {bar['value']:,}"
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1] == viewport["width"]
        # the long job ids and file names stay inside their tables' own boxes
        boxes = page.evaluate(
            "[...document.querySelectorAll('.box')].map(b => b.getBoundingClientRect().right)"
        )
        assert boxes and max(boxes) <= viewport["width"]
    finally:
        page.close()


def test_an_empty_report_in_chromium_at_phone_width(
    browser: Browser, s3: Any, store: JobStore, tmp_path: Path
) -> None:
    from etl_handlers.quality_check.logic import run_quality_check

    from .handlers_testkit import BUCKET, read

    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=report_scene.TWO_DAYS)
    html = read(s3, summary["pageKey"]).decode("utf-8")
    page = open_page(browser, html, tmp_path / "empty.html", PHONE)
    try:
        assert page.problems == []
        assert drawn_bars(page) == {}
        assert "nothing to report" in page.inner_text("body")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
    finally:
        page.close()


def test_a_script_in_the_data_does_not_run(
    browser: Browser, scene: report_scene.Scene, tmp_path: Path
) -> None:
    report = dict(scene.report)
    report["failed"] = [
        dict(job, fileName="raw/<img src=x onerror=alert(1)>.csv") for job in report["failed"]
    ]
    page = open_page(browser, render_page(report), tmp_path / "hostile.html", PHONE)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.wait_for_timeout(100)
        assert dialogs == [] and page.problems == []
        assert page.locator("img").count() == 0
        cell = page.locator("table[data-table=failed] td.file").first.inner_text()
        assert cell == "raw/<img src=x onerror=alert(1)>.csv"
    finally:
        page.close()
