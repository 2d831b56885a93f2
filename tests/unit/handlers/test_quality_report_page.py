"""The quality report's HTML page, read back from its HTML: every figure of the JSON report
is on it and equal, the jobs to follow up are listed, data is escaped, nothing is loaded."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from etl_handlers.aws.jobs import JobStore
from etl_handlers.quality_check import figures
from etl_handlers.quality_check.logic import run_quality_check
from etl_handlers.quality_check.page import CONTENT_SECURITY_POLICY, render_page

from . import report_scene
from .handlers_testkit import BUCKET, read
from .report_scene import PAN, PAN_NAME, SCRIPT_NAME, TWO_DAYS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

VOID = {"meta", "link", "br", "img", "input", "hr"}


class PageReader(HTMLParser):
    """What a machine can read off the page: figures, chart bars, job tables, and every tag
    and attribute that could load or run something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.figures: dict[str, list[str]] = defaultdict(list)
        self.charts: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.empty_charts: set[str] = set()
        self.tables: dict[str, list[list[str]]] = defaultdict(list)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.meta: dict[str, str] = {}
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._table: str | None = None
        self._figure: list[str] | None = None
        self._bar: dict[str, str] | None = None
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.links += [v for k, v in a.items() if k in {"src", "href", "action", "srcset"}]
        if tag == "meta":
            self.meta[a.get("name") or a.get("http-equiv") or "charset"] = a.get(
                "content"
            ) or a.get("charset", "")
        if "data-figure" in a:
            self._figure = [a["data-figure"]]
        if tag == "svg":
            self._chart = a["data-chart"]
        elif "data-chart" in a:
            self.empty_charts.add(a["data-chart"])
        if tag == "rect" and self._chart:
            self._bar = {"label": a["data-label"], "value": a["data-value"], "title": ""}
            self.charts[self._chart].append(self._bar)
        if tag == "table" and "data-table" in a:
            self._table = a["data-table"]
        elif "data-table" in a:
            self.tables[a["data-table"]] = []
        if tag == "tr" and self._table:
            self._row = []
        if tag in {"td"} and self._row is not None:
            self._cell = []
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, attrs = self.stack.pop()
            if "data-figure" in attrs and self._figure is not None:
                self.figures[self._figure[0]].append("".join(self._figure[1:]).strip())
                self._figure = None
            if open_tag == "rect":
                self._bar = None
            if open_tag == "svg":
                self._chart = None
            if open_tag == "td" and self._cell is not None and self._row is not None:
                self._row.append("".join(self._cell).strip())
                self._cell = None
            if open_tag == "tr" and self._row is not None and self._table:
                if self._row:
                    self.tables[self._table].append(self._row)
                self._row = None
            if open_tag == "table":
                self._table = None
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for sink in (self._figure, self._cell):
            if sink is not None:
                sink.append(data)
        if self._bar is not None:
            self._bar["title"] += data


def read_page(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    return reader


def number(text: str) -> int:
    return int(text.replace(",", ""))


def expected_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the JSON report, by the path the page names it with."""
    found: dict[str, Any] = {f"counts.{k}": v for k, v in report["counts"].items()}
    found |= {f"jobsByStatus.{k}": v for k, v in report["jobsByStatus"].items()}
    for day in report["days"]:
        found |= {f"days.{day['date']}.{k}": v for k, v in day.items() if k != "date"}
    found |= {f"rejectsByCode.{k}": v for k, v in report["rejectsByCode"].items()}
    for currency, totals in report["currencies"].items():
        found |= {f"currencies.{currency}.{k}": v for k, v in totals.items()}
    return found


def assert_page_shows(report: dict[str, Any], page: PageReader) -> None:
    """The page holds each figure of ``report`` once, equal to it (counts may be grouped with
    commas; amounts are the report's exact decimal strings), and lists exactly its jobs."""
    wanted = expected_figures(report)
    shown = {k: v for k, v in page.figures.items() if k != "rejectsUnread"}
    assert set(shown) == set(wanted)
    for path, value in wanted.items():
        [text] = shown[path]
        assert (text if isinstance(value, str) else number(text)) == value, path
    assert page.figures.get("rejectsUnread", []) == report["rejectsUnread"]
    for table in ("stuck", "unreconciled", "failed"):
        rows = page.tables[table]
        assert [r[0] for r in rows] == [job["jobId"] for job in report[table]], table
        assert [r[1] for r in rows] == [job["fileName"] for job in report[table]], table
        assert [r[2] for r in rows] == [job["status"] for job in report[table]], table


@pytest.fixture
def scene(s3: Any, store: JobStore, clock: Any) -> report_scene.Scene:
    return report_scene.build(s3, store, clock)


def test_the_json_report_has_the_days_figures(scene: report_scene.Scene) -> None:
    report = scene.report
    assert report["jobsByStatus"] == {
        "PENDING": 0,
        "VALIDATING": 1,
        "TRANSFORMING": 0,
        "ENRICHING": 0,
        "SUCCEEDED": 3,
        "FAILED": 1,
        "DUPLICATE": 0,
    }
    assert [
        (d["date"], d["jobs"], d["rowsInput"], d["rowsValid"], d["rowsRejected"])
        for d in report["days"]
    ] == [
        ("2026-11-19", 0, 0, 0, 0),
        ("2026-11-20", 1, 5, 3, 2),
        ("2026-11-21", 2, 7, 4, 3),
    ]
    assert report["rejectsByCode"] == {"INVALID_AMOUNT": 2, "INVALID_CURRENCY": 3}
    assert report["rejectsUnread"] == []
    assert report["currencies"] == {
        "EUR": {"count": 4, "debit": "1234585.39", "credit": "0.10"},
        "JPY": {"count": 1, "debit": "1500", "credit": "0"},
        "USD": {"count": 2, "debit": "20.05", "credit": "3.00"},
    }
    [stuck] = report["stuck"]
    assert stuck["jobId"] == scene.ids["stuck"] and stuck["ageMinutes"] == 600
    assert [j["jobId"] for j in report["unreconciled"]] == [scene.ids["unreconciled"]]
    assert report["unreconciled"][0]["ageMinutes"] == 480


def test_every_figure_of_the_json_is_on_the_page(scene: report_scene.Scene) -> None:
    page = read_page(scene.page)
    assert_page_shows(scene.report, page)
    assert scene.page == render_page(scene.report)  # a pure function of the JSON
    bars = {name: {b["label"]: int(b["value"]) for b in bars} for name, bars in page.charts.items()}
    assert bars == {
        "jobsByStatus": {"VALIDATING": 1, "SUCCEEDED": 3, "FAILED": 1},
        "rowsValidPerDay": {"2026-11-20": 3, "2026-11-21": 4},
        "rowsRejectedPerDay": {"2026-11-20": 2, "2026-11-21": 3},
        "rejectsByCode": {"INVALID_AMOUNT": 2, "INVALID_CURRENCY": 3},
        "rowsPerCurrency": {"EUR": 4, "JPY": 1, "USD": 2},
    }
    for chart in page.charts.values():
        for bar in chart:
            assert bar["title"] == f"{bar['label']}: {number(bar['value']):,}"
    ages = {row[0]: row[3] for rows in page.tables.values() for row in rows}
    assert ages[scene.ids["stuck"]] == "10 h 0 min"
    assert ages[scene.ids["unreconciled"]] == "8 h 0 min"


def test_the_page_is_uploaded_beside_the_json_as_html(s3: Any, scene: report_scene.Scene) -> None:
    assert scene.summary["reportKey"] == "reports/2026-11-21.json"
    assert scene.summary["pageKey"] == "reports/2026-11-21.html"
    head = s3.head_object(Bucket=BUCKET, Key=scene.summary["pageKey"])
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert s3.head_object(Bucket=BUCKET, Key=scene.summary["reportKey"])["ContentType"] == (
        "application/json"
    )


def test_the_page_loads_and_runs_nothing(scene: report_scene.Scene) -> None:
    page = read_page(scene.page)
    assert "script" not in page.tags and "iframe" not in page.tags and "img" not in page.tags
    assert page.links == ["data:,"]  # the icon: else a browser asks the server for one
    assert page.meta["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.meta["viewport"] == "width=device-width, initial-scale=1"
    assert scene.page.startswith("<!DOCTYPE html>")


def test_a_file_name_is_shown_as_text_never_as_markup(scene: report_scene.Scene) -> None:
    page = read_page(scene.page)
    assert "<script>" not in scene.page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in scene.page
    assert page.tables["stuck"][0][1] == SCRIPT_NAME
    report = json.loads(json.dumps(scene.report))
    report["failed"][0]["error"]["message"] = '"><svg onload=alert(2)>'
    page = read_page(render_page(report))
    assert page.tables["failed"][0][4].endswith('"><svg onload=alert(2)>')
    assert "script" not in page.tags and page.tags.count("svg") == len(page.charts)


def test_no_card_number_in_the_report_or_the_page(scene: report_scene.Scene) -> None:
    [failed] = scene.report["failed"]
    assert failed["jobId"] == scene.ids["failed"]
    assert failed["fileName"] == PAN_NAME.replace(PAN[:12], "*" * 12)
    assert PAN not in json.dumps(scene.report) and PAN not in scene.page
    assert read_page(scene.page).tables["failed"][0][1] == failed["fileName"]


def test_a_day_without_jobs_is_still_a_page_that_says_so(s3: Any, store: JobStore) -> None:
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=TWO_DAYS)
    report = json.loads(read(s3, summary["reportKey"]))
    html = read(s3, summary["pageKey"]).decode("utf-8")
    page = read_page(html)
    assert_page_shows(report, page)
    assert report["rejectsByCode"] == report["currencies"] == {}
    assert page.charts == {}
    assert page.empty_charts >= {"jobsByStatus", "rejectsByCode", "rowsPerCurrency"}
    assert set(page.tables) == {"stuck", "unreconciled", "failed"}
    assert all(rows == [] for rows in page.tables.values())
    assert "No jobs in this window: nothing to report." in "".join(page.text)
    assert html.rstrip().endswith("</html>")


def test_rejects_that_cannot_be_read_are_named_not_counted(
    s3: Any, store: JobStore, clock: Any
) -> None:
    job = report_scene.run_job(
        s3,
        store,
        "raw/gone.csv",
        report_scene.csv_bytes(report_scene.row(1, amount="x"), report_scene.row(2)),
    )
    rejected = store.require(job)["outputs"]["rejected"]
    s3.delete_object(Bucket=BUCKET, Key=rejected)
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=TWO_DAYS)
    report = json.loads(read(s3, summary["reportKey"]))
    assert report["rejectsByCode"] == {} and report["rejectsUnread"] == [job]
    page = read_page(read(s3, summary["pageKey"]).decode("utf-8"))
    assert page.figures["rejectsUnread"] == [job]
    assert "could not be read" in "".join(page.text)


def test_reject_codes_of_a_big_file_are_read_from_its_parts(s3: Any) -> None:
    prefix = "rejected/job/parts/"
    lines = {
        "part-000000000001.rejected.jsonl": ['{"row": 3, "code": "REQUIRED"}', "", ""],
        "part-000000000001.duplicates.jsonl": ['{"row": 9, "code": "DUPLICATE_ID"}'],
        # another layout of the same JSON counts the same
        "part-000000000101.rejected.jsonl": ['{"code": "REQUIRED", "row": 101}'],
        "notes.txt": ['{"row": 1, "code": "NOT_A_REJECT"}'],
    }
    for name, body in lines.items():
        s3.put_object(Bucket=BUCKET, Key=prefix + name, Body="\n".join(body).encode())
    s3.put_object(Bucket=BUCKET, Key="rejected/bad.jsonl", Body=b"not json\n")
    jobs = [
        {"jobId": "big", "rows": {"rejected": 3}, "outputs": {"rejected": prefix}},
        {"jobId": "none", "rows": {"rejected": 0}, "outputs": {"rejected": "rejected/x.jsonl"}},
        {"jobId": "bad", "rows": {"rejected": 1}, "outputs": {"rejected": "rejected/bad.jsonl"}},
        {"jobId": "unrecorded", "rows": {"rejected": 1}, "outputs": {}},
    ]
    codes, unread = figures.reject_codes(jobs, s3=s3, bucket=BUCKET)
    assert codes == {"DUPLICATE_ID": 1, "REQUIRED": 2}
    assert unread == ["bad", "unrecorded"]


def test_volumes_skip_totals_that_cannot_be_read() -> None:
    jobs = [
        {"totals": {"enrich": {"EUR": {"count": 1, "debit": "1.10", "credit": "0.00"}}}},
        {"totals": {"enrich": {"XXQ": {"count": 1, "debit": "1", "credit": "0"}}}},
        {"totals": {}},
        {"totals": {"enrich": {"EUR": {"count": 2, "debit": "0.00", "credit": "2.25"}}}},
    ]
    assert figures.currency_volumes(jobs) == {
        "EUR": {"count": 3, "debit": "1.10", "credit": "2.25"}
    }


def test_ages_read_as_a_person_says_them(scene: report_scene.Scene) -> None:
    report = json.loads(json.dumps(scene.report))
    report["stuck"][0]["ageMinutes"] = 3 * 24 * 60 + 2 * 60 + 5
    report["failed"][0]["ageMinutes"] = 7
    page = read_page(render_page(report))
    assert page.tables["stuck"][0][3] == "3 d 2 h 5 min"
    assert page.tables["failed"][0][3] == "7 min"


def test_days_cover_the_window_and_only_it() -> None:
    start = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    end = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)

    def at(moment: datetime, **rows: int) -> dict[str, Any]:
        return {"timestamp": moment.timestamp(), "rows": rows}

    jobs = [
        at(datetime(2026, 11, 19, 23, 30, tzinfo=UTC), input=3, valid=2, rejected=1),
        at(datetime(2026, 11, 21, 0, 30, tzinfo=UTC)),  # a record without rows: a job, 0 rows
        at(datetime(2026, 11, 22, 0, 0, tzinfo=UTC), input=9, valid=9, rejected=0),  # after end
    ]
    assert figures.daily_rows(jobs, start=start, end=end) == [
        {"date": "2026-11-19", "jobs": 1, "rowsInput": 3, "rowsValid": 2, "rowsRejected": 1},
        {"date": "2026-11-20", "jobs": 0, "rowsInput": 0, "rowsValid": 0, "rowsRejected": 0},
        {"date": "2026-11-21", "jobs": 1, "rowsInput": 0, "rowsValid": 0, "rowsRejected": 0},
    ]
