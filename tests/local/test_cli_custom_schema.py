"""A custom schema end to end: one the construct accepts runs through `etl-pipeline run`;
one it rejects names every problem at synth, in one error."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path

import pytest

from etl_constructs.local import cli

pytestmark = pytest.mark.xdist_group("moto-runtime")
SRC = Path(__file__).resolve().parents[2] / "src"

# A one-stack app: the default schema without `country`, plus a required
# `merchant_category_code` (an identifier: the one type a pattern is allowed on).
APP = """\
import sys

sys.path.insert(0, {src!r})

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import dataclasses

import aws_cdk as cdk

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore
from etl_constructs.schema import ColumnSpec, TransactionSchema

default = TransactionSchema.default()
schema = TransactionSchema(
    name="transactions-with-mcc",
    version=2,
    columns=(
        *(c for c in default.columns if c.name != "country"),
        {mcc},
    ),
)
app = cdk.App()
suffix = app.node.try_get_context("environmentSuffix")
stack = cdk.Stack(app, f"EtlCustomSchema-{{suffix}}")
landing = IngestionBucket(stack, "Ingestion", environment_suffix=suffix)
jobs = MetadataStore(stack, "Metadata", environment_suffix=suffix)
EtlWorkflow(
    stack,
    "Workflow",
    environment_suffix=suffix,
    bucket=landing.bucket,
    table=jobs.table,
    schema=schema,
    max_reject_rate=0.5,
)
app.synth()
"""
GOOD_MCC = (
    'ColumnSpec(name="merchant_category_code", type="identifier", required=True, '
    'pattern="^[0-9]{4}$")'
)
# Two problems: a pattern on a text column, and an invalid regular expression.
BAD_MCC = 'ColumnSpec(name="merchant_category_code", type="text", required=True, pattern="[0-9")'

CSV = textwrap.dedent(
    """\
    transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category,card_number,merchant_category_code
    TX-1,ACC001,2024-03-01T09:15:00Z,125.50,USD,DEBIT,Corner Coffee,food,,5814
    TX-2,ACC001,2024-03-01T12:40:10Z,2300.00,EUR,CREDIT,Payroll,salary,,6011
    TX-3,ACC002,2024-03-02T18:05:33Z,49.99,USD,DEBIT,Books,books,,594
    """
)


def _project(folder: Path, mcc: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(APP.format(src=str(SRC), mcc=mcc))
    (folder / "cdk.json").write_text(json.dumps({"app": "python3 app.py"}))
    return folder


def _run(project: Path, data: Path, out: Path) -> tuple[int, list[dict], str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["run", str(data), "--out", str(out), "--json", "--project", str(project)])
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


def test_a_schema_the_construct_accepts_runs_through_etl_pipeline_run(tmp_path):
    project = _project(tmp_path / "good", GOOD_MCC)
    data = tmp_path / "mcc.csv"
    data.write_text(CSV)
    code, results, err = _run(project, data, tmp_path / "out")

    assert code == cli.EXIT_OK, err
    (result,) = results
    assert result["status"] == "SUCCEEDED" and result["error"] is None
    assert result["rows"] == {"input": 3, "valid": 2, "rejected": 1}
    assert result["totals"]["USD"]["count"] == 1 and result["totals"]["EUR"]["count"] == 1
    (enriched,) = result["outputs"]["enriched"]
    rows = [json.loads(line) for line in Path(enriched).read_text().splitlines()]
    assert [row["merchant_category_code"] for row in rows] == ["5814", "6011"]
    assert not any("country" in row for row in rows)
    (rejected,) = result["outputs"]["rejected"]
    (reject,) = [json.loads(line) for line in Path(rejected).read_text().splitlines()]
    assert (reject["row"], reject["code"], reject["column"]) == (
        3,
        "INVALID_FORMAT",
        "merchant_category_code",
    )
    assert reject["fields"]["merchant_category_code"] == "594"


def test_a_schema_the_construct_rejects_fails_at_synth_naming_every_problem(tmp_path):
    project = _project(tmp_path / "bad", BAD_MCC)
    data = tmp_path / "mcc.csv"
    data.write_text(CSV)
    code, results, err = _run(project, data, tmp_path / "out")

    assert code == cli.EXIT_SYNTH and results == []  # its own exit status: no job ran
    assert err.startswith(f"etl-pipeline: synthesizing {project} failed:")
    # one error, the construct's PropsError, lists both problems
    assert err.count("PropsError: EtlWorkflow: invalid props") == 1
    assert err.rstrip().endswith(
        "PropsError: EtlWorkflow: invalid props\n"
        "  - schema field columns[9].pattern: unknown key "
        "(allowed: description, maxLength, name, required, type)\n"
        "  - schema field columns[9].pattern: not a valid regular expression "
        "(unterminated character set at position 0)"
    )
