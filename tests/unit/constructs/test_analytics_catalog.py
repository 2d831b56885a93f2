"""AnalyticsCatalog: Glue tables generated from the schema, partition projection, an enforced
and encrypted Athena workgroup, saved queries and a reader policy; clean under cdk-nag."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from etl_constructs import (
    AnalyticsCatalog,
    ColumnSpec,
    IngestionBucket,
    PropsError,
    TotalsSpec,
    TransactionSchema,
    compliance,
)
from etl_constructs.analytics_catalog import curated_module
from tests.conftest import cdk_json_context

from .builders import ENV

CUSTOM = TransactionSchema(
    name="card-settlements",
    version=3,
    columns=(
        ColumnSpec(
            name="ref",
            type="identifier",
            required=True,
            unique=True,
            description="settlement reference from the acquirer",
        ),
        ColumnSpec(name="value", type="amount", required=True),
        ColumnSpec(name="ccy", type="currency", required=True),
        ColumnSpec(name="side", type="enum", required=True, values=("DR", "CR")),
        ColumnSpec(name="booked", type="timestamp", required=True),
    ),
    totals=TotalsSpec(amount="value", currency="ccy", direction="side", debit="DR", credit="CR"),
)


def _catalog(profile: str = "standard", *, nag: bool = False, **props):
    """The catalog in its own stack beside the storage stack; with ``nag``, the profile's
    packs are added before anything synthesizes (a synthesized app is not checked again)."""
    app = cdk.App(context=cdk_json_context())
    storage = cdk.Stack(app, "Storage", env=ENV)
    key = kms.Key(storage, "DataKey", enable_key_rotation=True) if profile == "strict" else None
    ingestion = IngestionBucket(
        storage, "Bucket", environment_suffix="dev", encryption_key=key, compliance=profile
    )
    analytics = cdk.Stack(app, "Analytics", env=ENV)
    catalog = AnalyticsCatalog(
        analytics,
        "Catalog",
        bucket=ingestion.bucket,
        environment_suffix="dev",
        compliance=profile,
        **props,
    )
    if nag:
        compliance.add_nag_packs(app, profile)
        app.synth()  # raises on any unacknowledged finding
        return app, catalog, None
    return app, catalog, Template.from_stack(analytics)


def _table(template: Template, name: str) -> dict:
    tables = template.find_resources("AWS::Glue::Table")
    (table,) = [t for t in tables.values() if t["Properties"]["TableInput"]["Name"] == name]
    return table["Properties"]["TableInput"]


@pytest.fixture(scope="module")
def standard():
    return _catalog()


def test_tables_have_the_columns_and_types_the_writer_writes(standard):
    _, _, template = standard
    curated = curated_module()
    document = TransactionSchema.default().to_document()
    table = _table(template, "transactions")
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        (c.name, c.type) for c in curated.transactions_columns(document)
    ]
    columns = {c["Name"]: c for c in table["StorageDescriptor"]["Columns"]}
    assert columns["amount"]["Type"] == "decimal(38,4)"
    assert columns["timestamp"]["Type"] == "timestamp"
    assert columns["card_number"]["Comment"] == "masked: last four digits only"
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
        ("transaction_date", "string")
    ]
    rejects = _table(template, "rejects")
    assert [c["Name"] for c in rejects["StorageDescriptor"]["Columns"]] == [
        "job_id",
        "source_key",
        "row_number",
        "code",
        "column_name",
        "message",
        "fields",
    ]
    assert rejects["PartitionKeys"][0]["Name"] == "received_date"


def test_partition_projection_needs_no_crawler(standard):
    _, _, template = standard
    table = _table(template, "transactions")
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.transaction_date.type"] == "date"
    assert parameters["projection.transaction_date.format"] == "yyyy-MM-dd"
    assert parameters["projection.transaction_date.range"] == "2000-01-01,NOW+1DAYS"
    location = json.dumps(parameters["storage.location.template"])
    assert "/curated/transactions/transaction_date=${transaction_date}/" in location
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith(
        "ParquetHiveSerDe"
    )
    assert not template.find_resources("AWS::Glue::Crawler")


def test_the_workgroup_enforces_encrypted_results_and_a_scan_limit(standard):
    _, catalog, template = standard
    template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "etl-analytics-dev",
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": 10 * 1024**3,
                "ResultConfiguration": {
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    "ExpectedBucketOwner": "123456789012",
                    "OutputLocation": Match.any_value(),
                },
            },
        },
    )
    assert catalog.database_name == "etl_analytics_dev"


def test_saved_queries_are_the_ones_the_offline_query_runs(standard):
    _, _, template = standard
    queries = template.find_resources("AWS::Athena::NamedQuery")
    saved = {q["Properties"]["Name"]: q["Properties"]["QueryString"] for q in queries.values()}
    expected = curated_module().saved_queries(TransactionSchema.default().to_document())
    assert saved == {query.name: query.sql for query in expected}
    assert "'DEBIT'" in saved["daily-control-totals"]


def test_the_reader_policy_reads_curated_objects_and_writes_only_results(standard):
    _, catalog, template = standard
    policy = template.to_json()["Resources"][
        cdk.Stack.of(catalog).get_logical_id(catalog.reader_policy.node.default_child)
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["ReadTheCuratedObjects"]["Action"] == "s3:GetObject"
    assert "/curated/*" in json.dumps(statements["ReadTheCuratedObjects"]["Resource"])
    writes = statements["WriteAndReadQueryResults"]
    assert "s3:PutObject" in writes["Action"]
    assert "/athena-results/etl-analytics-dev/*" in json.dumps(writes["Resource"])
    assert not any(
        "s3:PutObject" in s["Action"] for sid, s in statements.items() if sid != writes["Sid"]
    )
    assert "UseTheDataKey" not in statements  # no KMS key on the standard bucket


def test_strict_results_use_the_data_key():
    _, _, template = _catalog("strict")
    workgroup = next(iter(template.find_resources("AWS::Athena::WorkGroup").values()))
    encryption = workgroup["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"][
        "EncryptionConfiguration"
    ]
    assert encryption["EncryptionOption"] == "SSE_KMS"
    assert "KmsKey" in encryption


def test_a_custom_schema_gives_its_own_columns_and_comments():
    _, _, template = _catalog(schema=CUSTOM)
    table = _table(template, "transactions")
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns[:5] == [
        ("ref", "string"),
        ("value", "decimal(38,4)"),
        ("ccy", "string"),
        ("side", "string"),
        ("booked", "timestamp"),
    ]
    comments = {c["Name"]: c.get("Comment") for c in table["StorageDescriptor"]["Columns"]}
    assert comments["ref"] == "settlement reference from the acquirer; required"
    queries = template.find_resources("AWS::Athena::NamedQuery")
    totals = next(
        q["Properties"]["QueryString"]
        for q in queries.values()
        if q["Properties"]["Name"] == "daily-control-totals"
    )
    assert "\"side\" = 'DR'" in totals and '"value"' in totals


def test_the_description_does_not_reach_the_handlers():
    assert "acquirer" not in CUSTOM.to_json()
    assert CUSTOM.to_document()["columns"][0]["description"] == (
        "settlement reference from the acquirer"
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"bytes_scanned_cutoff": 1000}, "bytes_scanned_cutoff must be an integer of at least"),
        ({"projection_start": "2024-13-01"}, "projection_start must be a yyyy-MM-dd date"),
        ({"projection_start": "01/01/2020"}, "projection_start must be a yyyy-MM-dd date"),
    ],
)
def test_bad_props_are_one_clear_error(props, message):
    with pytest.raises(PropsError, match=message):
        _catalog(**props)


def test_strict_needs_a_key_for_the_results():
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "S", env=ENV)
    from aws_cdk import aws_s3 as s3

    bucket = s3.Bucket.from_bucket_name(stack, "B", "landing")
    with pytest.raises(PropsError, match="needs the bucket's customer-managed KMS key"):
        AnalyticsCatalog(stack, "C", bucket=bucket, environment_suffix="dev", compliance="strict")


@pytest.mark.parametrize("profile", ["standard", "strict"])
def test_clean_under_every_pack_of_the_profile(profile):
    _catalog(profile, nag=True)


def test_the_catalog_reads_the_curated_columns_without_the_handler_package():
    """As a CDK app runs (`python3 app.py`): the construct side loads the asset's
    curated.py by its path, with no `etl_handlers` importable."""
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[3] / "src"
    code = (
        "import sys\n"
        "sys.path = [p for p in sys.path if not p.rstrip('/').endswith('handlers')]\n"
        f"sys.path.insert(0, {str(src)!r})\n"
        "from etl_constructs._asset import load_asset_module\n"
        "m = load_asset_module('etl_handlers/core/curated.py', name='etl_constructs._c')\n"
        "import json\n"
        "doc = {'columns': [{'name': 'a', 'type': 'amount'}], 'totals': {}}\n"
        "print(json.dumps([c.type for c in m.transactions_columns(doc)]))\n"
        "assert 'etl_handlers' not in sys.modules\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith('["decimal(38,4)"')
