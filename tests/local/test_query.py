"""The curated dataset through `etl-pipeline query`: what a local run wrote reads back with
the job's control totals and counts, with the types the Glue tables declare."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bench.generate import generate
from etl_constructs.local import cli, query
from etl_constructs.local.pipeline import LocalPipeline

pytestmark = pytest.mark.xdist_group("moto-runtime")

_TABLES = ("transactions", "rejects")

# A bank export as users send them: BOM, CRLF, a mixed-case header, a quoted line break,
# padded and lower-case codes, non-ASCII text, a card number in free text, a late row,
# three currencies (0, 2 and 3 minor units), and three rejects.
BANK_EXPORT = (
    "\ufeffTransaction_ID,Account_ID,Timestamp,Amount,Currency,Transaction_Type,Merchant,"
    "Category,Card_Number,Country\r\n"
    't-1,ACC1,2024-03-01T23:30:00-02:00,12.30,eur,debit,"Café ""Zürich""\nFiliale 2",'
    "food,4111111111111111,ch\r\n"
    "t-2,ACC1,2024-03-02T08:00:00Z,1000,JPY,CREDIT,Sushi 寿司,food,,jp\r\n"
    "t-3,ACC2,2024-03-02T09:15:00Z,1.5,bhd,DEBIT,  Gulf Air  ,travel,,BH\r\n"
    "t-4,ACC2,2024-02-27T12:00:00Z,0.01,EUR,credit,refund 4111 1111 1111 1111,misc,,de\r\n"
    "t-5,ACC3,not a time,5.00,EUR,DEBIT,Shop,misc,,DE\r\n"
    "t-1,ACC3,2024-03-02T10:00:00Z,5.00,EUR,DEBIT,again,misc,,DE\r\n"
    "t-6,ACC3,2024-03-02T11:00:00Z,7.777,EUR,DEBIT,Shop,misc,,DE\r\n"
    # ordinary rows, so that three rejects stay under the default 5% reject rate
    + "".join(
        f"r-{n},ACC4,2024-03-03T{n % 24:02d}:00:00Z,{n}.{n % 100:02d},EUR,DEBIT,Bäckerei {n},"
        "food,,DE\r\n"
        for n in range(1, 61)
    )
).encode("utf-8")


def _cli(*args: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(list(args))
    return code, stdout.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the default pipeline over a bank export and two generated files."""
    folder = tmp_path_factory.mktemp("files")
    bank = folder / "bank-export.csv"
    bank.write_bytes(BANK_EXPORT)
    realistic = generate(3000, folder / "realistic.csv", profile="realistic", seed=7).path
    clean = generate(2000, folder / "clean.csv", profile="clean", seed=11).path
    out = tmp_path_factory.mktemp("etl-out")
    project = tmp_path_factory.mktemp("project")  # no cdk.json: the default pipeline
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        code, text = _cli("run", str(bank), str(realistic), str(clean), "--out", str(out), "--json")
    results = [json.loads(line) for line in text.splitlines()]
    assert code == cli.EXIT_OK, results
    return out, {Path(r["file"]).name: r for r in results}


def _rows(out: Path, *args: str) -> list[dict]:
    code, text = _cli("query", *args, "--out", str(out), "--json")
    assert code == cli.EXIT_OK, text
    return [json.loads(line) for line in text.splitlines()]


def test_sums_per_currency_and_direction_equal_each_jobs_control_totals(run):
    out, results = run
    for name, result in results.items():
        rows = _rows(
            out,
            "SELECT currency, transaction_type, count(*) AS n, sum(amount) AS total "
            "FROM transactions WHERE job_id = ? GROUP BY ALL",
            "--param",
            result["job_id"],
        )
        got: dict[str, dict] = {}
        for row in rows:
            figures = got.setdefault(
                row["currency"], {"count": 0, "debit": Decimal(0), "credit": Decimal(0)}
            )
            figures["count"] += row["n"]
            figures[row["transaction_type"].lower()] += Decimal(row["total"])
        assert got == {
            currency: {
                "count": values["count"],
                "debit": Decimal(values["debit"]),
                "credit": Decimal(values["credit"]),
            }
            for currency, values in result["totals"].items()
        }, name


def test_row_and_reject_counts_match_the_jobs(run):
    out, results = run
    counts = {
        r["job_id"]: r["n"]
        for r in _rows(out, "SELECT job_id, count(*) AS n FROM transactions GROUP BY job_id")
    }
    rejects = {
        r["job_id"]: r["n"]
        for r in _rows(out, "SELECT job_id, count(*) AS n FROM rejects GROUP BY job_id")
    }
    for result in results.values():
        assert counts[result["job_id"]] == result["rows"]["valid"]
        assert rejects.get(result["job_id"], 0) == result["rows"]["rejected"]
    bank = results["bank-export.csv"]
    codes = _rows(
        out,
        "SELECT row_number, code FROM rejects WHERE job_id = ? ORDER BY row_number",
        "--param",
        bank["job_id"],
    )
    assert codes == [
        {"row_number": 5, "code": "INVALID_TIMESTAMP"},
        {"row_number": 6, "code": "DUPLICATE_ID"},
        {"row_number": 7, "code": "AMOUNT_PRECISION"},
    ]


def test_the_saved_queries_run_offline(run):
    out, results = run
    daily = _rows(out, "--saved", "daily-control-totals")
    assert {"transaction_date", "currency", "row_count", "debit", "credit"} == set(daily[0])
    assert sum(r["row_count"] for r in daily) == sum(r["rows"]["valid"] for r in results.values())
    by_code = _rows(out, "--saved", "rejects-by-code")
    assert sum(r["rejects"] for r in by_code) == sum(
        r["rows"]["rejected"] for r in results.values()
    )
    job = results["bank-export.csv"]["job_id"]
    rows = _rows(out, "--saved", "job-rows", "--param", job)
    assert len(rows) == 64
    # the late row sits in its own day; 23:30 at -02:00 is the next day in UTC
    days = {r["transaction_id"]: r["transaction_date"] for r in rows}
    assert {k: v for k, v in days.items() if k.startswith("t-")} == {
        "t-1": "2024-03-02",
        "t-2": "2024-03-02",
        "t-3": "2024-03-02",
        "t-4": "2024-02-27",
    }
    assert not any("4111111111111111" in json.dumps(r) for r in rows)


def test_duckdb_reads_the_types_the_glue_tables_declare(run):
    out, _ = run
    from etl_constructs.local.assembly import CloudAssembly

    assembly = CloudAssembly.load(out / ".assembly")
    with LocalPipeline(assembly, log_path=out / "glue.log", executions=False) as pipeline:
        tables = pipeline.catalog_tables()
    assert set(tables) == {"transactions", "rejects"}
    for name, table in tables.items():
        declared = {
            c["Name"]: query.DUCKDB_TYPES[c["Type"]]
            for c in table["StorageDescriptor"]["Columns"] + table["PartitionKeys"]
        }
        assert query.table_types(out, name) == declared, name
        assert table["Parameters"]["projection.enabled"] == "true"


def test_a_query_before_any_run_or_with_bad_sql_is_a_clear_error(run, tmp_path, capsys):
    out, _ = run
    assert cli.main(["query", "SELECT 1", "--out", str(tmp_path)]) == cli.EXIT_FAILED
    assert "no curated data under" in capsys.readouterr().err
    assert cli.main(["query", "SELECT nope FROM transactions", "--out", str(out)]) == (
        cli.EXIT_FAILED
    )
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
    assert cli.main(["query", "--saved", "nothing", "--out", str(out)]) == cli.EXIT_FAILED
    assert "daily-control-totals" in capsys.readouterr().err
    assert cli.main(["query", "--out", str(out)]) == cli.EXIT_USAGE


def test_a_table_without_files_reads_as_an_empty_table_of_the_catalog_s_columns(run, tmp_path):
    out, _ = run
    both = {table: query.run_query(out, f"DESCRIBE {table}").rows for table in _TABLES}
    for table, other in (_TABLES, _TABLES[::-1]):
        # the run's cloud assembly and the other table's files only, as after a run whose
        # rows were all rejected (or all valid)
        alone = tmp_path / table
        shutil.copytree(out / ".assembly", alone / ".assembly")
        shutil.copytree(out / "curated" / other, alone / "curated" / other)
        assert query.run_query(alone, f"SELECT count(*) FROM {table}").rows == [(0,)]
        # same columns, order and types as the table read from its Parquet files
        assert query.run_query(alone, f"DESCRIBE {table}").rows == both[table], table


def test_a_query_reads_no_other_file_and_writes_none(run, tmp_path, capsys):
    out, _ = run
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    target = tmp_path / "copy.csv"
    for sql in (
        f"SELECT * FROM read_csv('{secret}')",
        f"COPY (SELECT * FROM transactions) TO '{target}'",
        f"ATTACH '{tmp_path / 'other.db'}'",
        "INSTALL httpfs",
    ):
        assert cli.main(["query", sql, "--out", str(out)]) == cli.EXIT_FAILED, sql
        err = capsys.readouterr().err
        assert err.startswith("etl-pipeline: ") and "Traceback" not in err, err
    # nor the curated files themselves, which the views may read
    (parquet, *_) = sorted((out / "curated" / "transactions").rglob("*.parquet"))
    before = parquet.read_bytes()
    sql = f"COPY (SELECT 1 AS a) TO '{parquet}' (FORMAT parquet, USE_TMP_FILE false)"
    assert cli.main(["query", sql, "--out", str(out)]) == cli.EXIT_FAILED
    assert "writes no file" in capsys.readouterr().err
    assert parquet.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.csv"]


def test_the_table_output_is_aligned_and_counts_rows(run):
    out, _ = run
    code, text = _cli(
        "query",
        "SELECT code, count(*) AS n FROM rejects GROUP BY code ORDER BY code",
        "--out",
        str(out),
    )
    assert code == cli.EXIT_OK
    lines = text.splitlines()
    assert lines[0].split() == ["code", "n"] and set(lines[1].replace(" ", "")) == {"-"}
    assert lines[-1].endswith("rows)")
