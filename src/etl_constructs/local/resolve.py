"""Resolve CloudFormation intrinsics of the synthesized templates to local values.

Physical names come from the templates (our constructs name every bucket, table, function,
queue and state machine); a resource without one gets a stable name derived from its stack
and logical id. ARNs use the local account and region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .assembly import CloudAssembly, Resource

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::Rule": "Name",
    "AWS::SNS::Topic": "TopicName",
}


class ResolveError(ValueError):
    """A template value uses something the local runtime cannot resolve."""


@dataclass(frozen=True)
class Names:
    """Local physical identity of one resource."""

    name: str
    arn: str
    ref: str  # what ``Ref`` returns for this type


def _arn(resource_type: str, name: str) -> tuple[str, str]:
    """(ARN, Ref value) by CloudFormation's rules for the types the pipeline uses."""
    prefix = f"arn:{PARTITION}"
    if resource_type == "AWS::S3::Bucket":
        return f"{prefix}:s3:::{name}", name
    if resource_type == "AWS::DynamoDB::Table":
        return f"{prefix}:dynamodb:{REGION}:{ACCOUNT}:table/{name}", name
    if resource_type == "AWS::Lambda::Function":
        return f"{prefix}:lambda:{REGION}:{ACCOUNT}:function:{name}", name
    if resource_type == "AWS::SQS::Queue":
        arn = f"{prefix}:sqs:{REGION}:{ACCOUNT}:{name}"
        return arn, f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    if resource_type == "AWS::StepFunctions::StateMachine":
        arn = f"{prefix}:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        return arn, arn
    if resource_type == "AWS::Events::Rule":
        arn = f"{prefix}:events:{REGION}:{ACCOUNT}:rule/{name}"
        return arn, name
    if resource_type == "AWS::SNS::Topic":
        arn = f"{prefix}:sns:{REGION}:{ACCOUNT}:{name}"
        return arn, arn
    service = resource_type.split("::")[1].lower()
    return f"{prefix}:{service}:{REGION}:{ACCOUNT}:{name}", name


class Resolver:
    """Evaluates ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::ImportValue``, ``Fn::Sub``
    (variables only) and pseudo parameters against one cloud assembly."""

    def __init__(self, assembly: CloudAssembly) -> None:
        self._assembly = assembly
        self._resources: dict[tuple[str, str], Resource] = {r.key: r for r in assembly.resources()}
        self._names: dict[tuple[str, str], Names] = {}
        self._exports = assembly.exports()

    def names(self, resource: Resource) -> Names:
        cached = self._names.get(resource.key)
        if cached is None:
            prop = _NAME_PROPERTY.get(resource.type)
            raw = resource.properties.get(prop) if prop else None
            if raw is not None:
                name = str(self.resolve(raw, resource.stack))
            else:
                name = re.sub(r"[^a-z0-9-]", "-", f"{resource.stack}-{resource.logical_id}".lower())
            arn, ref = _arn(resource.type, name)
            cached = self._names[resource.key] = Names(name=name, arn=arn, ref=ref)
        return cached

    def resource(self, stack: str, logical_id: str) -> Resource:
        try:
            return self._resources[(stack, logical_id)]
        except KeyError:
            raise ResolveError(f"{stack} has no resource {logical_id}") from None

    def resolve(self, value: Any, stack: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(v, stack) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {k: self.resolve(v, stack) for k, v in value.items()}
        ((function, args),) = value.items()
        if function == "Ref":
            return self._ref(args, stack)
        if function == "Fn::GetAtt":
            logical_id, attribute = args if isinstance(args, list) else args.split(".", 1)
            return self._get_att(self.resource(stack, logical_id), attribute)
        if function == "Fn::Join":
            separator, parts = args
            return separator.join(str(self.resolve(p, stack)) for p in self.resolve(parts, stack))
        if function == "Fn::ImportValue":
            name = self.resolve(args, stack)
            if name not in self._exports:
                raise ResolveError(f"no stack exports {name!r}")
            producer, exported = self._exports[name]
            return self.resolve(exported, producer)
        if function == "Fn::Sub" and isinstance(args, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub_var(m.group(1), stack)), args)
        if function == "Fn::Select":
            index, items = args
            return self.resolve(items, stack)[int(self.resolve(index, stack))]
        if function == "Fn::Split":
            separator, text = args
            return str(self.resolve(text, stack)).split(separator)
        raise ResolveError(f"{function} is not supported by the local runtime")

    def _sub_var(self, variable: str, stack: str) -> Any:
        if "." in variable:
            logical_id, attribute = variable.split(".", 1)
            return self._get_att(self.resource(stack, logical_id), attribute)
        return self._ref(variable, stack)

    def _ref(self, name: str, stack: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        template = self._assembly.templates[stack]
        if name in template.get("Parameters", {}):
            return template["Parameters"][name].get("Default")
        return self.names(self.resource(stack, name)).ref

    def _get_att(self, resource: Resource, attribute: str) -> Any:
        names = self.names(resource)
        if attribute == "Arn":
            return names.arn
        if attribute in ("Name", "QueueName", "TopicName"):
            return names.name
        if attribute == "QueueUrl":
            return names.ref
        raise ResolveError(f"{resource.type}.{attribute} is not supported by the local runtime")

    def environment(self, resource: Resource) -> dict[str, str]:
        variables: Mapping[str, Any] = resource.properties.get("Environment", {}).get(
            "Variables", {}
        )
        return {k: str(self.resolve(v, resource.stack)) for k, v in variables.items()}
