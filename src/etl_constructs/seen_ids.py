"""SeenIdsPolicy: reject transaction ids already accepted in an earlier file of the pipeline.

Off by default. With ``EtlWorkflow(seen_ids=SeenIdsPolicy())`` the workflow creates the
seen-ids table ``{prefix}-seen-ids-{suffix}`` (partition key ``idHash``, binary: an HMAC of
the id keyed with the table name, never the id; TTL on ``expiresAt``; on-demand; encrypted
like the job table; point-in-time recovery on) and lets the validator, and only the
validator, write it. The validator claims the id of every row it accepts with one
conditional ``PutItem``, and rejects a row whose id another job holds (running or
SUCCEEDED, within ``window``) as ``DUPLICATE_ACROSS_FILES``. Design, cost and latency:
``docs/pipeline-contract.md`` ("Duplicates across files").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import compliance as nag
from ._contract import contract
from ._core.grants import TABLE_KEY_ACTIONS, grant_keys
from .compliance.dynamodb import STANDARD_SEEN_IDS_KEY_REASON, acknowledge_seen_ids_table
from .naming import Naming
from .schema import TransactionSchema

__all__ = ["SeenIdsPolicy"]

SEEN_IDS_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem")
"""What the validator does on the table: conditional claims, and a consistent read of a
claim when a write's condition fails without returning it."""


@dataclass(frozen=True, kw_only=True)
class SeenIdsPolicy:
    """How the check of ids across files works.

    ``window``: how long an accepted id blocks the same id in later files (90 days; whole
    days, 1 day to 10 years). ``workers``: conditional writes one validator keeps in flight
    (32; 1-256): the check adds about rows / (workers / write latency) seconds to a file's
    validation. ``point_in_time_recovery``: of the table (True).
    """

    window: cdk.Duration = field(
        default_factory=lambda: cdk.Duration.days(contract.DEFAULT_SEEN_IDS_WINDOW_DAYS)
    )
    workers: int = contract.DEFAULT_SEEN_IDS_WORKERS
    point_in_time_recovery: bool = True

    def window_days(self) -> int:
        """The window in whole days."""
        return int(self.window.to_days())

    def problems(self, *, schema: TransactionSchema) -> list[str]:
        """Every bad setting, and what the workflow's schema rules out."""
        found = []
        try:
            days = self.window.to_days()
        except Exception:  # jsii refuses a fractional or unresolved duration
            days = -1.0
        if not (days == int(days) and 1 <= days <= 3650):
            found.append("seen_ids.window must be whole days from 1 to 3650 (e.g. 90 days)")
        if isinstance(self.workers, bool) or not (
            isinstance(self.workers, int) and 1 <= self.workers <= 256
        ):
            found.append("seen_ids.workers must be a whole number from 1 to 256")
        unique = [column for column in schema.columns if column.unique]
        if len(unique) != 1:
            found.append(
                "seen_ids needs exactly one unique column in the schema (the transaction id); "
                f"it has {len(unique)}"
            )
        elif unique[0].type == "card_number":
            found.append("seen_ids cannot use a card number column as the transaction id")
        return found


def seen_ids_table(
    scope: Construct,
    *,
    policy: SeenIdsPolicy,
    naming: Naming,
    job_table: dynamodb.ITable,
    removal_policy: cdk.RemovalPolicy,
) -> dynamodb.Table:
    """The seen-ids table, encrypted with the job table's key when it has one."""
    key = job_table.encryption_key
    table = dynamodb.Table(
        scope,
        "SeenIdsTable",
        table_name=naming.seen_ids_table,
        # the contract's key type is "B" (binary): a digest, not the id
        partition_key=dynamodb.Attribute(
            name=contract.SEEN_IDS_KEYS[0][0], type=dynamodb.AttributeType.BINARY
        ),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute=contract.SEEN_IDS_TTL_ATTRIBUTE,
        encryption=(
            dynamodb.TableEncryption.CUSTOMER_MANAGED
            if key
            else dynamodb.TableEncryption.AWS_MANAGED
        ),
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=policy.point_in_time_recovery
        ),
        removal_policy=removal_policy,
        # As the job table: a table meant to outlive its stack cannot be deleted by a call.
        deletion_protection=removal_policy
        in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE),
    )
    if key is None:
        nag.acknowledge_checkov(table, "CKV_AWS_119", STANDARD_SEEN_IDS_KEY_REASON)
    acknowledge_seen_ids_table(table)
    return table


def grant_claims(table: dynamodb.ITable, role: iam.IRole) -> None:
    """The claims on ``table`` (items only: no scan, no query, no delete)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(SEEN_IDS_ACTIONS), resources=[table.table_arn])
    )
    grant_keys(role, (table.encryption_key, TABLE_KEY_ACTIONS))


def seen_ids_environment(policy: SeenIdsPolicy, table: dynamodb.ITable) -> dict[str, str]:
    """The validator's settings of the check."""
    return {
        contract.SEEN_IDS_TABLE: table.table_name,
        contract.SEEN_IDS_WINDOW_DAYS: str(policy.window_days()),
        contract.SEEN_IDS_WORKERS: str(policy.workers),
    }
