"""Adversarial review of a user's OWN schema (not the default one): schemas built the way
README "Your own schema" shows (``TransactionSchema.from_document`` / ``ColumnSpec``), run
through the entry points a user relies on (the schema check at synth, the step engines as
the validator, transformer and enricher call them, the ``AnalyticsCatalog`` template, and
``etl-pipeline run``). Each test asserts a promise of the README or docs/ and is
xfail(strict) until the bug it names is fixed.

The promises: "The schema is checked at synth with the handlers' own rules: a schema the
construct accepts loads in every function" (README, Your own schema) - and so runs; the
Glue tables are "generated from the same schema that validates the rows, so the tables
cannot drift from the files" (README, Query the data); ``enum`` values are
"case-insensitive, upper-cased" (docs/pipeline-contract.md, Schema document).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from etl_handlers.core.schema import load_schema

from etl_constructs import AnalyticsCatalog, IngestionBucket, PropsError
from etl_constructs.schema import ColumnSpec, TransactionSchema
from tests.adversarial.engines import ENGINES, engine_chain
from tests.adversarial.kit import cli_run
from tests.conftest import cdk_json_context

ROOT = Path(__file__).resolve().parents[2]
TOTALS = {
    "amount": "amount",
    "currency": "currency",
    "direction": "direction",
    "debit": "DEBIT",
    "credit": "CREDIT",
}
TOTALS_COLUMNS = [
    {"name": "amount", "type": "amount", "required": True},
    {"name": "currency", "type": "currency", "required": True},
    {"name": "direction", "type": "enum", "required": True, "values": ["DEBIT", "CREDIT"]},
]


def document(*columns: dict[str, Any], totals: dict[str, str] = TOTALS) -> dict[str, Any]:
    return {
        "name": "bank-export",
        "version": 1,
        "columns": [*columns, *copy.deepcopy(TOTALS_COLUMNS)],
        "totals": dict(totals),
    }


def chain(doc: dict[str, Any], data: bytes, engine: str) -> dict[str, Any]:
    """validate -> transform -> enrich with one engine, as the three steps run them (the
    schema loaded as a cold start loads ``ETL_SCHEMA``)."""
    schema = load_schema(TransactionSchema.from_document(doc).to_json())
    return engine_chain(data, engine, schema=schema, max_reject_rate=Decimal(1))


# --- 1. Column names the enricher adds: accepted at synth, every job FAILS at enrich --------

#: Names real exports use for their own columns, which the enricher also adds to each row.
CLASHING = {
    "transaction_date": {"name": "transaction_date", "type": "timestamp", "required": True},
    "processed_at": {"name": "processed_at", "type": "timestamp"},
    "job_id": {"name": "job_id", "type": "identifier"},
    "source_key": {"name": "source_key", "type": "text"},
    "pipeline_version": {"name": "pipeline_version", "type": "text"},
}
CLASH_VALUES = {
    "transaction_date": "2024-03-01T10:00:00Z",
    "processed_at": "2024-03-01T10:05:00Z",
    "job_id": "BATCH-7",
    "source_key": "ftp/acme",
    "pipeline_version": "v2",
}


@pytest.mark.parametrize("name", sorted(CLASHING))
def test_a_column_named_like_an_enriched_field_is_refused_at_synth_or_runs(name):
    doc = document({"name": "reference", "type": "identifier", "required": True}, CLASHING[name])
    problems = TransactionSchema.from_document(doc).problems()
    if problems:  # refused at synth: the promise holds (the user renames the column)
        assert any(name in problem for problem in problems), problems
        return
    data = (
        f"reference,{name},amount,currency,direction\nR1,{CLASH_VALUES[name]},12.50,EUR,DEBIT\n"
    ).encode()
    for engine in ENGINES:
        out = chain(doc, data, engine)  # raises ConfigurationError at enrich today
        assert out["outcome"] == "VALID" and len(out["records"]) == 1, (engine, out)
        # the user's own value survives (the enricher's field must not overwrite it)
        assert out["records"][0][name] is not None, (engine, out["records"][0])


def _catalog(schema: TransactionSchema) -> Template:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Analytics")
    bucket = IngestionBucket(stack, "Bucket", environment_suffix="dev")
    AnalyticsCatalog(
        stack, "Catalog", bucket=bucket.bucket, environment_suffix="dev", schema=schema
    )
    return Template.from_stack(stack)


def _transactions_table(template: Template) -> dict[str, Any]:
    tables = template.find_resources("AWS::Glue::Table")
    (table,) = [
        t["Properties"]["TableInput"]
        for t in tables.values()
        if t["Properties"]["TableInput"]["Name"] == "transactions"
    ]
    return table


def test_the_catalog_declares_each_column_once_for_a_schema_it_accepts():
    schema = TransactionSchema.from_document(
        document(
            {"name": "reference", "type": "identifier", "required": True},
            CLASHING["transaction_date"],
            CLASHING["processed_at"],
        )
    )
    try:
        template = _catalog(schema)
    except PropsError as refused:  # refused at synth, naming the columns: the promise holds
        assert "transaction_date" in str(refused) and "processed_at" in str(refused)
        return
    table = _transactions_table(template)
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    names += [k["Name"] for k in table["PartitionKeys"]]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    assert duplicated == [], f"the transactions table declares {duplicated} twice: {names}"


# --- 2. etl-pipeline run of a bank export whose schema has a transaction_date column --------

APP = """\
import sys

sys.path.insert(0, {src!r})

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import aws_cdk as cdk

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore
from etl_constructs.schema import TransactionSchema

schema = TransactionSchema.from_document({document!r})
app = cdk.App()
stack = cdk.Stack(app, "EtlSchemaReview")
landing = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
jobs = MetadataStore(stack, "Metadata", environment_suffix="dev")
EtlWorkflow(
    stack,
    "Workflow",
    environment_suffix="dev",
    bucket=landing.bucket,
    table=jobs.table,
    schema=schema,
    curated_dataset=True,
)
app.synth()
"""


def _cli_run(
    project: Path, files: list[Path], out: Path, *, timeout: float = 120
) -> tuple[int, list[dict], str]:
    """`etl-pipeline run FILE... --out OUT --json --project PROJECT` in its own process
    (one LocalPipeline per process): exit status, result lines, standard error."""
    run = cli_run(project, files, out, timeout=timeout)
    return run.code, run.results, run.stderr


def test_etl_pipeline_run_of_an_export_with_a_transaction_date_column(tmp_path):
    doc = document(
        {"name": "reference", "type": "identifier", "required": True},
        CLASHING["transaction_date"],
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP.format(src=str(ROOT / "src"), document=doc))
    (project / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    data = tmp_path / "export.csv"
    data.write_text(
        textwrap.dedent(
            """\
            reference,transaction_date,amount,currency,direction
            R1,2024-03-01T10:00:00Z,12.50,EUR,DEBIT
            R2,2024-03-01T11:00:00Z,3.00,EUR,CREDIT
            """
        )
    )
    code, results, errors = _cli_run(project, [data], tmp_path / "out")
    if code == 3:  # refused at synth, naming the column: the promise holds
        assert "transaction_date" in errors, errors
        return
    assert code == 0, (code, results, errors[-2000:])
    (result,) = results
    assert result["status"] == "SUCCEEDED", result
    assert result["totals"] == {"EUR": {"count": 2, "debit": "12.50", "credit": "3.00"}}


# --- 3. An enum value written with a letter whose upper case is ASCII (sharp s, fi ligature) -


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_an_enum_value_is_accepted_as_the_schema_spells_it(engine):
    doc = document(
        {"name": "reference", "type": "identifier", "required": True},
        {
            "name": "channel",
            "type": "enum",
            "required": True,
            "values": ["Großhandel", "Einzelhandel"],
        },
    )
    assert TransactionSchema.from_document(doc).problems() == []
    data = (
        "reference,channel,amount,currency,direction\n"
        "R1,Großhandel,12.50,EUR,DEBIT\n"
        "R2,Einzelhandel,3.00,EUR,CREDIT\n"
        "R3,großhandel,1.00,EUR,DEBIT\n"
    ).encode()
    out = chain(doc, data, engine)
    assert out["rejects"] == [], out["rejects"]
    assert [r["channel"] for r in out["records"]] == ["GROSSHANDEL", "EINZELHANDEL", "GROSSHANDEL"]


# --- 4. A column description Glue refuses as a comment --------------------------------------

#: Glue's Column.Comment: at most 255 characters of this class (AWS Glue API reference,
#: Column; AWS::Glue::Table Column): no line break, no control character but the tab.
GLUE_COMMENT = re.compile("[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\t]{0,255}")


def test_a_description_the_construct_accepts_is_a_comment_glue_accepts():
    default = TransactionSchema.default()
    described = ColumnSpec(
        name="merchant_category_code",
        type="identifier",
        pattern="^[0-9]{4}$",
        description="ISO 18245 merchant category code.\nSee the acquirer's 'MCC' list */",
    )
    schema = TransactionSchema(
        name="card-payments", version=1, columns=(*default.columns, described)
    )
    problems = schema.problems()
    if problems:  # refused at synth, naming the field: the promise holds
        assert any("description" in problem for problem in problems), problems
        return
    try:
        template = _catalog(schema)
    except PropsError as refused:  # refused at synth, naming the field: the promise holds
        assert "description" in str(refused)
        return
    table = _transactions_table(template)
    bad = {
        c["Name"]: c["Comment"]
        for c in table["StorageDescriptor"]["Columns"]
        if "Comment" in c and not GLUE_COMMENT.fullmatch(c["Comment"])
    }
    assert bad == {}, f"comments Glue refuses: {bad}"
