"""Roles whose permissions live in customer-managed policies (the strict profile).

PCI DSS 3.2.1 and NIST 800-53 rev 5 (cdk-nag ``IAMNoInlinePolicy``) object to inline policies:
a managed policy is versioned, can be reviewed on its own and is visible to IAM Access
Analyzer as a policy. CDK puts every grant into a role's inline ``DefaultPolicy``;
:class:`ManagedPolicyRole` routes them into one customer-managed policy of the role instead,
so grants made by CDK (log groups, keys, queues, tasks) and by the constructs land in the same
place. The policy is a child of the role, so whatever depends on the role (a function, a state
machine) also waits for its permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..compliance.profile import Compliance


class ManagedPolicyRole(iam.Role):
    """An IAM role whose own statements go into one customer-managed policy, never inline.

    Attributes:
        managed_policy: the policy, once the first statement was added, else ``None``.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.managed_policy: iam.ManagedPolicy | None = None

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        policy = getattr(self, "managed_policy", None)
        if policy is None:
            policy = iam.ManagedPolicy(
                self,
                "Policy",
                description=f"Permissions of {self.node.path}",
                roles=[self],
            )
            self.managed_policy = policy
        policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=policy)


def source_conditions(
    scope: Construct, *source_arns: str, if_exists: bool = False
) -> dict[str, Any]:
    """Trust-policy conditions against the confused deputy: the service may assume the role
    only on behalf of this stack's account (``aws:SourceAccount``) and of the resources
    ``source_arns`` match (``aws:SourceArn``, patterns allowed).

    Build ``source_arns`` from names and formats, never from the trusting resource's own
    attributes: the resource depends on its role, so its ARN in the role would be a cycle.

    ``if_exists`` checks each key only when the service sends it (``...IfExists``): for a
    service that does not document sending them when it assumes a role, where a key it
    leaves out would otherwise deny every assumption.
    """
    suffix = "IfExists" if if_exists else ""
    arns = source_arns[0] if len(source_arns) == 1 else list(source_arns)
    return {
        f"StringEquals{suffix}": {"aws:SourceAccount": cdk.Stack.of(scope).account},
        f"ArnLike{suffix}": {"aws:SourceArn": arns},
    }


def service_role(
    scope: Construct,
    construct_id: str,
    *,
    service: str,
    description: str,
    profile: Compliance,
    source_arns: Sequence[str] = (),
) -> iam.Role:
    """A role ``service`` can assume: inline policy (standard) or managed policy (strict);
    with ``source_arns``, only for those resources of this account (:func:`source_conditions`).
    """
    cls = ManagedPolicyRole if profile.strict else iam.Role
    return cls(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            service, conditions=source_conditions(scope, *source_arns) if source_arns else None
        ),
        description=description,
    )


def managed_instead_of_inline(owner: Construct, child_id: str, role: iam.IRole) -> None:
    """Replace an inline policy CDK made (``owner/child_id``) with a customer-managed policy
    holding the same document, attached to the same role (e.g. a Distributed Map's rights on
    its child executions). The new policy stays a child of ``owner``: folding it into the
    role's own policy would make the state machine depend on a policy that names it."""
    inline = owner.node.try_find_child(child_id)
    if not isinstance(inline, iam.Policy):
        return
    document = inline.document
    owner.node.try_remove_child(child_id)
    iam.ManagedPolicy(
        owner,
        child_id,
        description=f"{child_id} of {owner.node.path}",
        document=document,
        roles=[role],
    )


def grant_start_execution(state_machine: Any, grantee: iam.IGrantable) -> None:
    """``states:StartExecution`` on ``state_machine`` and, when its execution data is under a
    customer-managed key, that key's use for this state machine's data only.

    Step Functions encrypts an execution's input under the caller's credentials; CDK's
    ``grant_start_execution`` grants no key use. The key is read from the state machine
    itself (an imported one has none to read: grant its key yourself). The encryption context
    (the state machine's ARN) keeps the grant to this state machine's data.
    """
    state_machine.grant_start_execution(grantee)
    key_arn = _execution_key_arn(state_machine)
    if key_arn is not None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key_arn],
                conditions={
                    "StringEquals": {
                        "kms:EncryptionContext:aws:states:stateMachineArn": (
                            state_machine.state_machine_arn
                        )
                    }
                },
            )
        )


def _execution_key_arn(state_machine: Any) -> str | None:
    cfn = state_machine.node.default_child
    configuration = getattr(cfn, "encryption_configuration", None)
    if configuration is None or cdk.Token.is_unresolved(configuration):
        return None
    if isinstance(configuration, dict):
        return configuration.get("kmsKeyId") or configuration.get("kms_key_id")
    return getattr(configuration, "kms_key_id", None)
