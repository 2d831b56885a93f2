"""How acknowledgements are attached: cdk-nag findings by exact id, checkov skips in the
template, and finding ids rendered the way cdk-nag renders them.

cdk-nag matches acknowledgements per exact finding id, and a wildcard finding's id embeds the
resource as CloudFormation renders it: ``<Logical.Arn>/raw/*`` inside one stack,
``Producer:ExportsOutput...`` across stacks. :func:`finding_resource` renders a value the same
way, so the acknowledgements follow the resources wherever an app puts them.

checkov (PyPI ``checkov``) scans the synthesized templates too; it reads its suppressions from
each resource's own ``Metadata.checkov.skip``, which :func:`acknowledge_checkov` writes, so every
template the constructs are synthesized into carries its own acknowledgements.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

STRICT_PACKS = ("PCI.DSS.321", "NIST.800.53.R5")


def strict_findings(rule: str, reason: str) -> list[tuple[str, str]]:
    """``rule`` as both strict packs name it (``PCI.DSS.321-<rule>``, ``NIST.800.53.R5-<rule>``)."""
    return [(f"{pack}-{rule}", reason) for pack in STRICT_PACKS]


def acknowledge(scope: IConstruct, findings: Iterable[tuple[str, str]]) -> None:
    """Acknowledge each ``(finding id, reason)`` on ``scope`` and its children."""
    validations = cdk.Validations.of(scope)
    for finding_id, reason in findings:
        validations.acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def acknowledge_checkov(resource: IConstruct, check_id: str, reason: str) -> None:
    """Suppress checkov's ``check_id`` on ``resource`` (a ``CfnResource``, or an L2 whose
    default child is one), with ``reason``, in the template itself: an entry
    ``{"id": check_id, "comment": reason}`` in the resource's ``Metadata.checkov.skip``.
    Entries already there are kept; one for the same check is replaced."""
    cfn = resource if isinstance(resource, cdk.CfnResource) else resource.node.default_child
    if not isinstance(cfn, cdk.CfnResource):
        raise TypeError(f"{resource.node.path} is not a CloudFormation resource")
    existing = cfn.get_metadata("checkov") or {}
    skips = [entry for entry in existing.get("skip", []) if entry.get("id") != check_id]
    skips.append({"id": check_id, "comment": reason})
    cfn.add_metadata("checkov", {**existing, "skip": skips})


def finding_resource(scope: IConstruct, value: str) -> str:
    """Render ``value`` (a string that may hold tokens) as it appears in a finding id of a
    resource in ``scope``'s stack: ``Ref`` -> ``<Name>``, ``GetAtt`` -> ``<Logical.Attr>``,
    a reference into another stack -> that stack's export name."""
    consumer = cdk.Stack.of(scope)
    return _render(consumer.resolve(value), consumer)


def _render(node: Any, consumer: cdk.Stack) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, (int, float)):
        return str(node)
    if isinstance(node, dict) and len(node) == 1:
        ((function, args),) = node.items()
        if function == "Fn::Join":
            separator, parts = args
            return separator.join(_render(part, consumer) for part in parts)
        if function == "Ref":
            producer = _owner(consumer, args)
            if producer is None or producer is consumer:
                return f"<{args}>"
            return _export_name(producer, {"Ref": args})
        if function == "Fn::GetAtt":
            logical_id, attribute = args
            producer = _owner(consumer, logical_id)
            if producer is None or producer is consumer:
                return f"<{logical_id}.{attribute}>"
            return _export_name(producer, {"Fn::GetAtt": [logical_id, attribute]})
        if function == "Fn::ImportValue":
            return _render(args, consumer)
    # Any other intrinsic (Fn::Select, Fn::Split, ...) appears as its compact JSON.
    return json.dumps(node, separators=(",", ":"))


def _owner(consumer: cdk.Stack, logical_id: str) -> cdk.Stack | None:
    """The stack that declares ``logical_id``, preferring the consumer itself."""
    if logical_id.startswith("AWS::"):
        return None
    stacks = [consumer] + [
        s
        for s in cdk.Stage.of(consumer).node.find_all()
        if isinstance(s, cdk.Stack) and s is not consumer
    ]
    for stack in stacks:
        for element in stack.node.find_all():
            if (
                isinstance(element, cdk.CfnElement)
                and cdk.Stack.of(element) is stack
                and stack.resolve(element.logical_id) == logical_id
            ):
                return stack
    return None


def _export_name(producer: cdk.Stack, reference: dict[str, Any]) -> str:
    """The name CDK gives the export of ``reference`` (``Stack:ExportsOutput<human><hash>``).

    CDK derives it from the path ``Exports/Output<reference as JSON>``: alphanumerics of the
    path, then the first 8 hex digits of its MD5. Export names are part of deployed stacks,
    so CDK keeps this scheme stable; the example app's nag test fails if it ever changes.
    """
    output_id = "Output" + json.dumps(reference, separators=(",", ":"))
    components = ["Exports", output_id]
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human = "".join(re.sub(r"[^A-Za-z0-9]", "", c) for c in components)[:240]
    return f"{producer.stack_name}:{human}{digest[:8].upper()}"
