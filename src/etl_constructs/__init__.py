"""etl-constructs: AWS CDK constructs and Lambda handlers for a serverless ETL pipeline.

Public constructs: :class:`IngestionBucket`, :class:`MetadataStore`, :class:`EtlWorkflow`,
:class:`ControlApi`, :class:`ObservabilityPack`, plus :class:`PipelineKey`, :class:`DataKey`,
:class:`PipelineNetwork`, :class:`PipelineEnvironment` (what every construct of one pipeline
shares, given once) and the schema model. ``etl_constructs.compliance`` wires cdk-nag
and defines the :class:`Compliance` profiles (``standard``, ``strict``) that the constructs
take as ``compliance=``; ``etl_constructs.local`` runs the synthesized pipeline offline.

Importing the package changes nothing in the process (no environment variable, no Node.js
started). :func:`use_virtualenv_node` is the explicit call an app entry point makes, before
it imports ``aws_cdk``, to have jsii run the Node.js installed in the virtualenv.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ._core.props import PropsError
from ._node import use_virtualenv_node
from ._version import __version__

# The constructs load aws_cdk, whose first import starts jsii (a Node.js process). They are
# imported on first use, so ``import etl_constructs`` starts nothing and changes nothing:
# ``use_virtualenv_node()`` can still pick the Node.js that jsii will run.
_LAZY = {
    "AlarmThresholds": ".observability_pack",
    "AnalyticsCatalog": ".analytics_catalog",
    "ColumnSpec": ".schema",
    "Compliance": ".compliance",
    "ControlApi": ".control_api",
    "DataKey": ".encryption",
    "EtlWorkflow": ".etl_workflow",
    "FunctionSettings": ".etl_workflow",
    "IngestionBucket": ".ingestion_bucket",
    "LargeFiles": ".large_files",
    "LineagePolicy": ".lineage",
    "Lifecycle": ".ingestion_bucket",
    "ManifestPolicy": ".manifests",
    "MetadataStore": ".metadata_store",
    "Naming": ".naming",
    "ObservabilityPack": ".observability_pack",
    "PipelineEnvironment": "._core.environment",
    "PipelineKey": ".encryption",
    "PipelineNetwork": ".network",
    "SchemaError": ".schema",
    "SeenIdsPolicy": ".seen_ids",
    "StepRetry": ".etl_workflow",
    "TotalsSpec": ".schema",
    "TransactionSchema": ".schema",
}

if TYPE_CHECKING:  # pragma: no cover
    from ._core.environment import PipelineEnvironment
    from .analytics_catalog import AnalyticsCatalog
    from .compliance import Compliance
    from .control_api import ControlApi
    from .encryption import DataKey, PipelineKey
    from .etl_workflow import EtlWorkflow, FunctionSettings, StepRetry
    from .ingestion_bucket import IngestionBucket, Lifecycle
    from .large_files import LargeFiles
    from .lineage import LineagePolicy
    from .manifests import ManifestPolicy
    from .metadata_store import MetadataStore
    from .naming import Naming
    from .network import PipelineNetwork
    from .observability_pack import AlarmThresholds, ObservabilityPack
    from .schema import ColumnSpec, SchemaError, TotalsSpec, TransactionSchema
    from .seen_ids import SeenIdsPolicy


def __getattr__(name: str) -> Any:
    """A public name, or a submodule (``etl_constructs.compliance``), imported on first use."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AlarmThresholds",
    "AnalyticsCatalog",
    "ColumnSpec",
    "Compliance",
    "ControlApi",
    "DataKey",
    "EtlWorkflow",
    "FunctionSettings",
    "IngestionBucket",
    "LargeFiles",
    "Lifecycle",
    "LineagePolicy",
    "ManifestPolicy",
    "MetadataStore",
    "Naming",
    "ObservabilityPack",
    "PipelineEnvironment",
    "PipelineKey",
    "PipelineNetwork",
    "PropsError",
    "SchemaError",
    "SeenIdsPolicy",
    "StepRetry",
    "TotalsSpec",
    "TransactionSchema",
    "__version__",
    "use_virtualenv_node",
]
