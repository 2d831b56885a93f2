"""AnalyticsCatalog: the curated dataset as Glue tables and an Athena workgroup to query them.

The tables are generated from the pipeline's schema (the handler asset's
``etl_handlers/core/curated.py`` gives their columns, types and comments; the writer reads the
same module), so they cannot drift from the files. Partition projection on the date
partitions: no crawler, no ``MSCK REPAIR``, a new day is queryable as soon as a job wrote it.

The workgroup enforces its own settings: query results under ``athena-results/{workgroup}/``
of the data bucket, encrypted (SSE-S3, or SSE-KMS with the data key when the bucket has one),
with the bucket owner's ownership, and a per-query limit of bytes scanned. A few saved
queries come with it. Readers get one managed policy to attach: run queries in this
workgroup, read the catalog's tables and the curated objects, write their results.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import compliance as nag
from ._asset import load_asset_module
from ._contract import contract
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.names import check_unique_names
from ._core.props import raise_if_any
from .compliance import Compliance
from .naming import ATHENA_RESULTS_PREFIX
from .schema import TransactionSchema

#: Bytes one query may scan before Athena cancels it (10 GiB: ~$0.05 at $5 per TB).
DEFAULT_BYTES_SCANNED_CUTOFF = 10 * 1024**3
#: Athena's smallest allowed cutoff (10 MB).
MIN_BYTES_SCANNED_CUTOFF = 10_000_000
#: The first day the date projection covers (rows dated earlier are not projected).
DEFAULT_PROJECTION_START = "2000-01-01"

_PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def curated_module() -> Any:
    """The handler asset's ``etl_handlers/core/curated.py`` (stdlib only, loaded by path)."""
    return load_asset_module("etl_handlers/core/curated.py", name="etl_constructs._handler_curated")


class AnalyticsCatalog(Construct):
    """Glue database ``{prefix}_analytics_{suffix}`` with the ``transactions`` and ``rejects``
    tables of the curated dataset, and the Athena workgroup ``{prefix}-analytics-{suffix}``.

    Args:
        bucket: the pipeline's data bucket (the curated dataset lives under ``curated/``;
            query results go under ``athena-results/``).
        schema: the pipeline's schema (the default one when omitted): the tables' columns,
            types and comments (a column's ``description``).
        environment: what the pipeline's constructs share (PipelineEnvironment).
        environment_suffix, name_prefix, compliance: as for the other constructs, when no
            ``environment`` is given.
        encryption_key: the bucket's KMS key, when it has one (the environment's data key by
            default); results are encrypted with it and readers may decrypt with it.
        bytes_scanned_cutoff: bytes one query may scan (10 GiB by default; at least 10 MB).
        projection_start: the first ``yyyy-MM-dd`` day the date partitions cover.
        database_name, workgroup_name: override the physical names.

    Attributes:
        database, transactions_table, rejects_table: the Glue resources.
        workgroup: the Athena workgroup; ``workgroup_name``, ``database_name`` its names.
        saved_queries: the named queries, by name.
        reader_policy: the managed policy a reader role attaches.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        schema: TransactionSchema | None = None,
        environment: PipelineEnvironment | None = None,
        environment_suffix: str | None = None,
        name_prefix: str | None = None,
        compliance: Compliance | str | None = None,
        encryption_key: kms.IKey | None = None,
        bytes_scanned_cutoff: int = DEFAULT_BYTES_SCANNED_CUTOFF,
        projection_start: str = DEFAULT_PROJECTION_START,
        database_name: str | None = None,
        workgroup_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "AnalyticsCatalog",
            environment,
            key_field="data_key",
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            compliance=compliance,
        )
        schema = schema or TransactionSchema.default()
        problems += [f"schema: {problem}" for problem in schema.problems()]
        if not isinstance(bytes_scanned_cutoff, int) or (
            bytes_scanned_cutoff < MIN_BYTES_SCANNED_CUTOFF
        ):
            problems.append(
                f"bytes_scanned_cutoff must be an integer of at least {MIN_BYTES_SCANNED_CUTOFF}"
            )
        if not _is_day(projection_start):
            problems.append("projection_start must be a yyyy-MM-dd date, e.g. '2020-01-01'")
        key = env.data_key or bucket.encryption_key
        if env.profile.strict and key is None:
            problems.append(
                "compliance='strict' needs the bucket's customer-managed KMS key (encryption_key "
                "or the environment's data_key) to encrypt query results"
            )
        raise_if_any("AnalyticsCatalog", problems)
        check_unique_names(self)
        self.environment = env
        naming = env.naming
        curated = curated_module()
        document = schema.to_document()
        stack = cdk.Stack.of(self)
        self.database_name = database_name or naming.analytics_database
        self.workgroup_name = workgroup_name or naming.analytics_workgroup

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description=f"Curated dataset of the {naming.service} pipeline "
                f"(schema {schema.name} v{schema.version})",
            ),
        )
        self.transactions_table = self._table(
            "TransactionsTable",
            bucket=bucket,
            table=contract.TRANSACTIONS_TABLE,
            columns=curated.transactions_columns(document),
            partition=curated.partition_column(contract.TRANSACTIONS_TABLE),
            projection_start=projection_start,
            description="Valid rows of succeeded jobs, typed; one file per job and day",
        )
        self.rejects_table = self._table(
            "RejectsTable",
            bucket=bucket,
            table=contract.REJECTS_TABLE,
            columns=curated.rejects_columns(),
            partition=curated.partition_column(contract.REJECTS_TABLE),
            projection_start=projection_start,
            description="Rejected rows with their codes; one file per job",
        )

        results = f"{ATHENA_RESULTS_PREFIX}{self.workgroup_name}/"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.workgroup_name,
            description=f"Queries over {self.database_name}",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket.bucket_name}/{results}",
                    expected_bucket_owner=stack.account,
                    acl_configuration=athena.CfnWorkGroup.AclConfigurationProperty(
                        s3_acl_option="BUCKET_OWNER_FULL_CONTROL"
                    ),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS" if key is not None else "SSE_S3",
                        kms_key=key.key_arn if key is not None else None,
                    ),
                ),
            ),
        )
        self.saved_queries: dict[str, athena.CfnNamedQuery] = {}
        for query in curated.saved_queries(document):
            named = athena.CfnNamedQuery(
                self,
                f"Query{''.join(part.capitalize() for part in query.name.split('-'))}",
                name=query.name,
                description=query.description,
                database=self.database_name,
                query_string=query.sql,
                work_group=self.workgroup.ref,
            )
            named.node.add_dependency(self.database)
            self.saved_queries[query.name] = named

        self.reader_policy = iam.ManagedPolicy(
            self,
            "ReaderPolicy",
            description=f"Query {self.database_name} in the {self.workgroup_name} workgroup",
            statements=self._reader_statements(bucket, key, results),
        )
        nag.acknowledge_analytics_reader(
            self.reader_policy,
            bucket_arn=bucket.bucket_arn,
            prefixes=(contract.CURATED_PREFIX, results),
            tables_arn=self._catalog_arn("table", f"{self.database_name}/*"),
        )

    def _table(
        self,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        table: str,
        columns: list[Any],
        partition: Any,
        projection_start: str,
        description: str,
    ) -> glue.CfnTable:
        curated = curated_module()
        location = f"s3://{bucket.bucket_name}/{curated.table_prefix(table)}"
        name = partition.name
        cfn = glue.CfnTable(
            self,
            construct_id,
            catalog_id=cdk.Stack.of(self).account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table,
                description=description,
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "parquet",
                    "parquet.compression": "ZSTD",
                    "EXTERNAL": "TRUE",
                    "projection.enabled": "true",
                    f"projection.{name}.type": "date",
                    f"projection.{name}.format": "yyyy-MM-dd",
                    f"projection.{name}.range": f"{projection_start},NOW+1DAYS",
                    f"projection.{name}.interval": "1",
                    f"projection.{name}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{name}=${{{name}}}/",
                },
                partition_keys=[_column(partition)],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[_column(column) for column in columns],
                    location=location,
                    input_format=_PARQUET_INPUT,
                    output_format=_PARQUET_OUTPUT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=_PARQUET_SERDE
                    ),
                    compressed=True,
                ),
            ),
        )
        cfn.node.add_dependency(self.database)
        return cfn

    def _catalog_arn(self, resource: str, name: str) -> str:
        return cdk.Stack.of(self).format_arn(service="glue", resource=resource, resource_name=name)

    def _reader_statements(
        self, bucket: s3.IBucket, key: kms.IKey | None, results: str
    ) -> list[iam.PolicyStatement]:
        stack = cdk.Stack.of(self)
        workgroup_arn = stack.format_arn(
            service="athena", resource="workgroup", resource_name=self.workgroup_name
        )
        statements = [
            iam.PolicyStatement(
                sid="RunQueriesInTheWorkgroup",
                actions=[
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetQueryResultsStream",
                    "athena:GetWorkGroup",
                    "athena:ListNamedQueries",
                    "athena:GetNamedQuery",
                    "athena:BatchGetNamedQuery",
                ],
                resources=[workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="ReadTheCatalog",
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables"],
                resources=[
                    self._catalog_arn("catalog", "").rstrip("/"),
                    self._catalog_arn("database", self.database_name),
                    self._catalog_arn("table", f"{self.database_name}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ReadTheCuratedObjects",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{contract.CURATED_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ListTheCuratedAndResultPrefixes",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{contract.CURATED_PREFIX}*", f"{results}*"]}
                },
            ),
            iam.PolicyStatement(
                sid="LocateTheBucket",
                actions=["s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="WriteAndReadQueryResults",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[bucket.arn_for_objects(f"{results}*")],
            ),
        ]
        if key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="UseTheDataKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                )
            )
        return statements


def _column(column: Any) -> glue.CfnTable.ColumnProperty:
    return glue.CfnTable.ColumnProperty(
        name=column.name, type=column.type, comment=column.comment or None
    )


def _is_day(text: object) -> bool:
    if not isinstance(text, str) or len(text) != 10:
        return False
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


__all__ = [
    "DEFAULT_BYTES_SCANNED_CUTOFF",
    "DEFAULT_PROJECTION_START",
    "AnalyticsCatalog",
]
