"""The quality report as a self-contained HTML page: a pure function of the JSON report.

Everything the page shows comes from the report dict (:func:`render_page` reads nothing
else), so the page and the JSON cannot disagree. The page loads nothing: inline CSS, charts
as inline SVG, no script, and a Content-Security-Policy that forbids anything else. Every
value from the data is escaped (file names are chosen by whoever uploads).

Hooks for machines reading the page (the tests): each figure's element carries
``data-figure="<path in the JSON>"``, each chart ``data-chart``, each bar ``data-label`` and
``data-value`` (and its value in a ``<title>``), each job table ``data-table`` and each of its
rows ``data-job``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from string import Template
from typing import Any

__all__ = ["CONTENT_SECURITY_POLICY", "CONTENT_TYPE", "render_page"]

CONTENT_TYPE = "text/html; charset=utf-8"
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# Chart geometry, in SVG user units (the SVG scales to its box's width).
_WIDTH, _LABEL, _VALUE, _BAR, _GAP = 420, 150, 80, 22, 8
_BAR_SPACE = _WIDTH - _LABEL - _VALUE - 10
_MIN_BAR = 2  # a non-zero figure never draws as an invisible bar
_LABEL_CHARS = 20

_NOTHING = '<p class="empty" data-empty="report">No jobs in this window: nothing to report.</p>\n'
_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="generator" content="etl-constructs quality check">
<link rel="icon" href="data:,">
<title>$title</title>
<style>
*{box-sizing:border-box}
body{margin:0 auto;max-width:60rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
p,dd{overflow-wrap:anywhere}
.meta{color:#57606a;margin:0 0 1rem}
.tiles{display:flex;flex-wrap:wrap;gap:.6rem;margin:0;padding:0}
.tile{flex:1 1 8rem;border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;margin:0}
.tile dt{color:#57606a;font-size:.85rem}.tile dd{margin:0;font-size:1.6rem;font-weight:600}
.tile.alert dd{color:#cf222e}
.box{max-width:100%;overflow-x:auto;-webkit-overflow-scrolling:touch;
border:1px solid #d0d7de;border-radius:6px;margin:.4rem 0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem;word-break:break-all;
min-width:9rem}
td.file{overflow-wrap:anywhere;min-width:8rem}
svg.chart{display:block;width:100%;height:auto;max-width:30rem}
svg.chart text{font:13px system-ui,sans-serif;fill:#1f2328}
svg.chart rect.bar{fill:#0969da}svg.chart rect.bar.alert{fill:#cf222e}
.empty{color:#57606a;font-style:italic}
figure{margin:.6rem 0}figcaption{font-size:.85rem;color:#57606a}
td.day{white-space:nowrap}
</style>
</head>
<body>
<h1>$title</h1>
<p class="meta">Generated $generated; jobs whose status changed since $since
(the last $hours h). A job counts as stuck after $stuck min in a running status.</p>
$nothing<dl class="tiles">$tiles</dl>
$sections
</body>
</html>
""")


def render_page(report: Mapping[str, Any]) -> str:
    """The HTML page of ``report`` (the dict the quality check writes as JSON)."""
    day = str(report["generatedAt"])[:10]
    counts = report["counts"]
    tiles = "".join(
        f'<div class="tile{" alert" if counts[name] else ""}"><dt>{label}</dt>'
        f'<dd data-figure="counts.{name}">{_int(counts[name])}</dd></div>'
        for name, label in (
            ("failed", "Failed jobs"),
            ("stuck", "Stuck jobs"),
            ("unreconciled", "Unreconciled jobs"),
        )
    )
    sections = [
        _jobs_by_status(report["jobsByStatus"]),
        _days(report["days"]),
        _rejects(report["rejectsByCode"], report.get("rejectsUnread") or []),
        _currencies(report["currencies"]),
        _job_table(
            "stuck",
            "Stuck jobs",
            report["stuck"],
            "No job is stuck.",
        ),
        _job_table(
            "unreconciled",
            "Unreconciled jobs",
            report["unreconciled"],
            "Every job that succeeded in the window reconciles.",
            detail=lambda job: "; ".join(str(p) for p in job.get("problems") or []),
        ),
        _job_table(
            "failed",
            "Failed jobs",
            report["failed"],
            "No job failed in the window.",
            detail=_error_text,
        ),
    ]
    return _PAGE.substitute(
        csp=CONTENT_SECURITY_POLICY,
        title=_e(f"ETL quality report {day}"),
        generated=_e(report["generatedAt"]),
        since=_e(report["windowStart"]),
        hours=_e(f"{float(report['windowHours']):g}"),
        stuck=_e(f"{float(report['stuckAfterMinutes']):g}"),
        tiles=tiles,
        nothing="" if any(report["jobsByStatus"].values()) or report["stuck"] else _NOTHING,
        sections="\n".join(sections),
    )


# -- sections -----------------------------------------------------------------------------


def _jobs_by_status(by_status: Mapping[str, int]) -> str:
    rows = [
        [_e(status), _num(f"jobsByStatus.{status}", count)] for status, count in by_status.items()
    ]
    chart = _chart(
        "jobsByStatus",
        "Jobs by status",
        [(status, count, status == "FAILED") for status, count in by_status.items()],
        empty="No job changed status in the window.",
    )
    return _section("Jobs by status", chart + _table(["status", _n("jobs")], rows))


def _days(days: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [
            f'<td class="day">{_e(day["date"])}</td>',
            *(
                _num(f"days.{day['date']}.{name}", day[name])
                for name in ("jobs", "rowsInput", "rowsValid", "rowsRejected")
            ),
        ]
        for day in days
    ]
    charts = _chart(
        "rowsValidPerDay",
        "Valid rows per day",
        [(day["date"], day["rowsValid"], False) for day in days],
        empty="No rows were delivered in the window.",
    ) + _chart(
        "rowsRejectedPerDay",
        "Rejected rows per day",
        [(day["date"], day["rowsRejected"], True) for day in days],
        empty="No row was rejected in the window.",
    )
    headers = ["day (UTC)", _n("jobs succeeded"), _n("rows in"), _n("valid"), _n("rejected")]
    return _section("Rows and rejects per day", charts + _table(headers, rows))


def _rejects(by_code: Mapping[str, int], unread: Sequence[str]) -> str:
    rows = [[_e(code), _num(f"rejectsByCode.{code}", count)] for code, count in by_code.items()]
    body = _chart(
        "rejectsByCode",
        "Rejected rows by code",
        [(code, count, True) for code, count in by_code.items()],
        empty="No row was rejected in the window.",
    )
    if rows:
        body += _table(["code", _n("rows")], rows)
    if unread:
        ids = ", ".join(f'<span data-figure="rejectsUnread">{_e(j)}</span>' for j in unread)
        body += (
            f'<p class="empty">The reject lines of {_int(len(unread))} job(s) could not be read '
            f"and are not counted above: {ids}.</p>"
        )
    return _section("Rejected rows by code", body)


def _currencies(volumes: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [
        [
            _e(currency),
            _num(f"currencies.{currency}.count", figures["count"]),
            _cell(f"currencies.{currency}.debit", figures["debit"]),
            _cell(f"currencies.{currency}.credit", figures["credit"]),
        ]
        for currency, figures in volumes.items()
    ]
    chart = _chart(
        "rowsPerCurrency",
        "Delivered rows per currency",
        [(currency, figures["count"], False) for currency, figures in volumes.items()],
        empty="No amounts were delivered in the window.",
    )
    if rows:
        chart += _table(["currency", _n("rows"), _n("debit"), _n("credit")], rows)
    return _section("Volumes per currency (delivered)", chart)


def _error_text(job: Mapping[str, Any]) -> str:
    error = job.get("error") or {}
    return ": ".join(str(part) for part in (error.get("code"), error.get("message")) if part)


def _job_table(
    name: str,
    title: str,
    jobs: Sequence[Mapping[str, Any]],
    empty: str,
    *,
    detail: Any = None,
) -> str:
    if not jobs:
        return _section(title, f'<p class="empty" data-table="{name}">{_e(empty)}</p>')
    headers = ["job id", "file", "status", _n("age"), *(["details"] if detail else [])]
    lines = []
    for job in jobs:
        cells = [
            f'<td class="id">{_e(job.get("jobId"))}</td>',
            f'<td class="file">{_e(job.get("fileName"))}</td>',
            f"<td>{_e(job.get('status'))}</td>",
            f'<td class="n" data-minutes="{_e(job.get("ageMinutes"))}">'
            f"{_e(_age(job.get('ageMinutes')))}</td>",
        ]
        if detail:
            cells.append(f"<td>{_e(detail(job))}</td>")
        lines.append(f'<tr data-job="{_e(job.get("jobId"))}">{"".join(cells)}</tr>')
    head = "".join(f"<th{_cls(h)}>{_e(h)}</th>" for h in headers)
    table = (
        f'<div class="box"><table data-table="{name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )
    return _section(f"{title} ({_int(len(jobs))})", table)


# -- building blocks ------------------------------------------------------------------------


class _Numeric(str):
    """A header of a right-aligned (numeric) column."""


def _n(text: str) -> _Numeric:
    return _Numeric(text)


def _cls(header: str) -> str:
    return ' class="n"' if isinstance(header, _Numeric) else ""


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>\n{body}\n</section>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table in its own scrolling box; ``rows`` hold ready cells (``<td>...</td>``) or
    escaped text."""
    head = "".join(f"<th{_cls(h)}>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="box"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def _num(figure: str, value: Any) -> str:
    return f'<td class="n" data-figure="{_e(figure)}">{_int(value)}</td>'


def _cell(figure: str, value: Any) -> str:
    return f'<td class="n" data-figure="{_e(figure)}">{_e(value)}</td>'


def _chart(name: str, title: str, bars: Sequence[tuple[str, int, bool]], *, empty: str) -> str:
    """A horizontal bar chart of the non-zero figures (the table beside it has them all);
    a sentence instead when every figure is zero."""
    shown = [(label, int(value), alert) for label, value, alert in bars if int(value) > 0]
    if not shown:
        return f'<p class="empty" data-chart="{_e(name)}">{_e(empty)}</p>'
    top = max(value for _, value, _ in shown)
    height = len(shown) * (_BAR + _GAP) + _GAP
    parts = []
    for index, (label, value, alert) in enumerate(shown):
        y = _GAP + index * (_BAR + _GAP)
        width = max(_MIN_BAR, round(_BAR_SPACE * value / top))
        short = label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "\u2026"
        parts.append(
            f'<text x="{_LABEL - 6}" y="{y + _BAR * 0.7:g}" text-anchor="end">{_e(short)}</text>'
            f'<rect class="bar{" alert" if alert else ""}" x="{_LABEL}" y="{y}" '
            f'width="{width}" height="{_BAR}" data-label="{_e(label)}" data-value="{value}">'
            f"<title>{_e(label)}: {_int(value)}</title></rect>"
            f'<text x="{_LABEL + width + 6}" y="{y + _BAR * 0.7:g}">{_int(value)}</text>'
        )
    return (
        f"<figure><figcaption>{_e(title)}</figcaption>"
        f'<svg class="chart" data-chart="{_e(name)}" viewBox="0 0 {_WIDTH} {height}" '
        f'role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(title)}</title>{''.join(parts)}</svg></figure>"
    )


def _int(value: Any) -> str:
    return f"{int(value):,}"


def _age(minutes: Any) -> str:
    minutes = int(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {mins} min"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
