"""etl-constructs: AWS CDK constructs and Lambda handlers for a serverless ETL pipeline.

Public constructs: :class:`IngestionBucket`, :class:`MetadataStore`, :class:`EtlWorkflow`,
:class:`ControlApi`, :class:`ObservabilityPack`, plus :class:`PipelineKey`, :class:`DataKey`,
:class:`PipelineNetwork` and the schema model. ``etl_constructs.compliance`` wires cdk-nag
and defines the :class:`Compliance` profiles (``standard``, ``strict``) that the constructs
take as ``compliance=``; ``etl_constructs.local`` runs the synthesized pipeline offline.
"""

from __future__ import annotations

from ._node import prefer_virtualenv_node

prefer_virtualenv_node()  # before aws_cdk starts jsii

from ._props import PropsError  # noqa: E402
from ._version import __version__  # noqa: E402
from .compliance import Compliance  # noqa: E402
from .control_api import ControlApi  # noqa: E402
from .encryption import DataKey, PipelineKey  # noqa: E402
from .etl_workflow import EtlWorkflow, FunctionSettings, StepRetry  # noqa: E402
from .ingestion_bucket import IngestionBucket, Lifecycle  # noqa: E402
from .large_files import LargeFiles  # noqa: E402
from .metadata_store import MetadataStore  # noqa: E402
from .naming import Naming  # noqa: E402
from .network import PipelineNetwork  # noqa: E402
from .observability_pack import AlarmThresholds, ObservabilityPack  # noqa: E402
from .schema import ColumnSpec, SchemaError, TotalsSpec, TransactionSchema  # noqa: E402

__all__ = [
    "AlarmThresholds",
    "ColumnSpec",
    "Compliance",
    "ControlApi",
    "DataKey",
    "EtlWorkflow",
    "FunctionSettings",
    "IngestionBucket",
    "LargeFiles",
    "Lifecycle",
    "MetadataStore",
    "Naming",
    "ObservabilityPack",
    "PipelineKey",
    "PipelineNetwork",
    "PropsError",
    "SchemaError",
    "StepRetry",
    "TotalsSpec",
    "TransactionSchema",
    "__version__",
]
