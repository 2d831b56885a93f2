"""The Lambda runtime every function uses: Python version, Powertools layer, handler asset.

Powertools comes from its public Lambda layer, so the asset needs no bundling and no Docker.
``POWERTOOLS_VERSION`` is the release that layer version carries; the dev dependency pins the
same release (a test checks it), so local runs and Lambda run the same code.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

#: Newest Python runtime aws-cdk-lib offers; the handlers stay 3.11-compatible for laptops.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

POWERTOOLS_VERSION = "3.31.1"
POWERTOOLS_LAYER_VERSION = 36
POWERTOOLS_ACCOUNT = "017000801446"

_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]


class HandlerAssetNotFoundError(FileNotFoundError):
    """Neither the packaged nor the source-tree copy of the handler code exists."""


def handlers_path() -> Path:
    """Folder holding the Lambda handler packages.

    An installed wheel carries them as ``etl_constructs/_handlers``; a source checkout keeps
    them in ``handlers/`` at the repository root.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_handlers", here.parents[1] / "handlers"):
        if (candidate / "shared").is_dir():
            return candidate
    raise HandlerAssetNotFoundError(
        "the Lambda handler code was not found next to etl_constructs; reinstall the "
        "etl-constructs package (the wheel ships it as etl_constructs/_handlers)"
    )


def handler_code() -> lambda_.Code:
    """The one asset all functions share."""
    return lambda_.Code.from_asset(str(handlers_path()), exclude=_ASSET_EXCLUDES)


def powertools_layer_arn(architecture: lambda_.Architecture = ARCHITECTURE) -> str:
    python = PYTHON_RUNTIME.name.replace(".", "")  # python3.14 -> python314
    arch = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return (
        f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{POWERTOOLS_LAYER_VERSION}"
    )


def powertools_layer(
    scope: Construct, construct_id: str = "PowertoolsLayer"
) -> lambda_.ILayerVersion:
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, powertools_layer_arn())
