"""The Lambda runtime every function uses: Python version, Powertools layer, handler asset.

Powertools comes from its public Lambda layer, so the asset needs no bundling and no Docker.
``POWERTOOLS_VERSION`` is the release the functions run; the dev dependency pins the same
release (a test checks it), so local runs and Lambda run the same code. The layer's version
number differs between regions, so the layer ARN is not written into the template: Powertools
publishes each release's ARN per region, architecture and Python version as a public SSM
parameter, which CloudFormation resolves at deploy time in the stack's own region (a template
parameter of type ``AWS::SSM::Parameter::Value<String>`` whose default is that parameter's
name).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ._asset import HandlerAssetNotFoundError as HandlerAssetNotFoundError  # re-exported
from ._asset import handlers_path

#: Newest Python runtime aws-cdk-lib offers; the handlers stay 3.11-compatible for laptops.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

POWERTOOLS_VERSION = "3.31.1"
#: Where Powertools publishes its layers' ARNs, per region (public SSM parameters).
POWERTOOLS_SSM_ROOT = "/aws/service/powertools/python"

_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]


def handler_code() -> lambda_.Code:
    """The one asset all functions share."""
    return lambda_.Code.from_asset(str(handlers_path()), exclude=_ASSET_EXCLUDES)


def powertools_layer_parameter(architecture: lambda_.Architecture = ARCHITECTURE) -> str:
    """The public SSM parameter holding the ARN of the :data:`POWERTOOLS_VERSION` layer for
    the functions' runtime and ``architecture``, e.g.
    ``/aws/service/powertools/python/arm64/python3.14/3.31.1``."""
    arch = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"{POWERTOOLS_SSM_ROOT}/{arch}/{PYTHON_RUNTIME.name}/{POWERTOOLS_VERSION}"


_SDK_FOR_PANDAS = json.loads(
    (Path(__file__).parent / "sdk_for_pandas_layers.json").read_text(encoding="utf-8")
)
#: The AWS SDK for pandas release whose public layer brings pyarrow (and numpy) to the data
#: functions' fast path; the dev dependency pins the same pyarrow (a test checks it).
SDK_FOR_PANDAS_RELEASE: str = _SDK_FOR_PANDAS["release"]
SDK_FOR_PANDAS_PYARROW: str = _SDK_FOR_PANDAS["pyarrow"]
SDK_FOR_PANDAS_REGIONS: tuple[str, ...] = tuple(_SDK_FOR_PANDAS["layers"])


class LayerNotPublishedError(ValueError):
    """The public AWS SDK for pandas layer does not exist in the stack's region."""


def sdk_for_pandas_layer(
    scope: Construct, construct_id: str = "SdkForPandasLayer"
) -> lambda_.ILayerVersion:
    """The public AWS SDK for pandas layer (pyarrow, numpy) of the stack's region.

    Account and version differ by region, so a region-agnostic stack looks them up in a
    CloudFormation mapping at deploy time; a stack with a known region gets the ARN itself,
    and an error at synth where the layer is not published.
    """
    stack = cdk.Stack.of(scope)
    layers = _SDK_FOR_PANDAS["layers"]
    name = _SDK_FOR_PANDAS["layer"]
    if not cdk.Token.is_unresolved(stack.region):
        if stack.region not in layers:
            raise LayerNotPublishedError(
                f"AWS SDK for pandas {SDK_FOR_PANDAS_RELEASE} publishes no {name} layer in "
                f"{stack.region}: pass pyarrow_layer=, or fast_path=False"
            )
        account, version = layers[stack.region]["account"], layers[stack.region]["version"]
    else:
        mapping = stack.node.try_find_child("SdkForPandasLayers")
        if mapping is None:
            mapping = cdk.CfnMapping(
                stack,
                "SdkForPandasLayers",
                mapping={region: dict(entry) for region, entry in layers.items()},
                lazy=True,
            )
        account = mapping.find_in_map(cdk.Aws.REGION, "account")
        version = mapping.find_in_map(cdk.Aws.REGION, "version")
    arn = f"arn:{cdk.Aws.PARTITION}:lambda:{stack.region}:{account}:layer:{name}:{version}"
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)


def powertools_layer(
    scope: Construct, construct_id: str = "PowertoolsLayer"
) -> lambda_.ILayerVersion:
    """The Powertools layer of :data:`POWERTOOLS_VERSION` in the stack's region, its ARN
    resolved by CloudFormation from Powertools' public SSM parameter at deploy time (one
    template parameter per stack, shared by every function)."""
    arn = ssm.StringParameter.value_for_string_parameter(scope, powertools_layer_parameter())
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)
