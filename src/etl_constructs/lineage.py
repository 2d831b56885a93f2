"""LineagePolicy: OpenLineage run events for every job (docs/lineage.md).

Off by default. With ``EtlWorkflow(lineage=LineagePolicy())`` each job attempt is one
OpenLineage run: the validator emits START, the step that ends the job COMPLETE and the
trigger FAIL, each written once as JSON to the data bucket under ``lineage/`` (the record,
and what makes a retried Lambda emit nothing twice). ``endpoint`` also POSTs each event to
an OpenLineage HTTP API (Marquez's ``/api/v1/lineage``, or any service that takes
``RunEvent`` JSON), with ``api_key_secret``'s value as a bearer token; ``datazone_domain``
posts it to an Amazon DataZone domain's lineage (``PostLineageEvent``).

Least privilege: the three emitting functions get ``s3:PutObject`` on ``lineage/*`` only
(and ``kms:GenerateDataKey`` on a customer-managed bucket key), read access to the secret
when one is given, and ``datazone:PostLineageEvent`` on the domain when one is given.
Emitting never fails a job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from . import compliance as nag
from ._contract import contract

__all__ = ["EMITTING_FUNCTIONS", "LineagePolicy"]

DATAZONE_DOMAIN_PATTERN = r"dzd[-_][a-zA-Z0-9_-]{1,36}"
"""A DataZone domain id, as the DataZone API defines it."""
EMITTING_FUNCTIONS = ("trigger", "validator", "enricher")
"""START (validator), COMPLETE (validator for a duplicate file, enricher), FAIL (trigger)."""


@dataclass(frozen=True, kw_only=True)
class LineagePolicy:
    """Where a pipeline's OpenLineage run events go.

    ``endpoint``: an ``https://`` (or ``http://``) URL each event is POSTed to as well as
    written to the bucket (None: the bucket only). ``api_key_secret``: a Secrets Manager
    secret whose string value is sent as ``Authorization: Bearer <value>``; only with an
    endpoint. ``namespace``: the OpenLineage job namespace (default: the state machine's
    name, e.g. ``etl-state-machine-dev``). ``datazone_domain``: an Amazon DataZone domain id
    (``dzd_...``, in the stack's account and region) each event is also posted to with
    ``PostLineageEvent``.
    """

    endpoint: str | None = None
    api_key_secret: secretsmanager.ISecret | None = None
    namespace: str | None = None
    datazone_domain: str | None = None

    def problems(self) -> list[str]:
        found = []
        endpoint = self.endpoint
        if (
            endpoint is not None
            and not cdk.Token.is_unresolved(endpoint)
            and not endpoint.lower().startswith(("https://", "http://"))
        ):
            found.append(f"lineage.endpoint must be an http(s) URL, got {endpoint!r}")
        if self.api_key_secret is not None and endpoint is None:
            found.append("lineage.api_key_secret needs lineage.endpoint (the key is sent there)")
        domain = self.datazone_domain
        if (
            domain is not None
            and not cdk.Token.is_unresolved(domain)
            and not re.fullmatch(DATAZONE_DOMAIN_PATTERN, domain)
        ):
            found.append(f"lineage.datazone_domain must be a DataZone domain id, got {domain!r}")
        if self.namespace is not None and not self.namespace.strip():
            found.append("lineage.namespace must not be empty (leave it unset for the default)")
        return found

    def environment(self, *, default_namespace: str) -> Mapping[str, str]:
        """The emitting functions' environment variables."""
        env = {contract.LINEAGE_NAMESPACE: self.namespace or default_namespace}
        if self.endpoint is not None:
            env[contract.LINEAGE_ENDPOINT] = self.endpoint
        if self.api_key_secret is not None:
            env[contract.LINEAGE_API_KEY_SECRET] = self.api_key_secret.secret_arn
        if self.datazone_domain is not None:
            env[contract.LINEAGE_DATAZONE_DOMAIN] = self.datazone_domain
        return env

    def grant_emit(self, role: iam.IRole, *, bucket: s3.IBucket) -> None:
        """What one emitting function needs: put objects under ``lineage/``, nothing more."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{contract.LINEAGE_PREFIX}*")],
            )
        )
        if bucket.encryption_key is not None:  # a single-part put under the bucket's key
            bucket.encryption_key.grant(role, "kms:GenerateDataKey")
        if self.api_key_secret is not None:
            self.api_key_secret.grant_read(role)
        if self.datazone_domain is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["datazone:PostLineageEvent"],
                    resources=[
                        cdk.Stack.of(role).format_arn(
                            service="datazone",
                            resource="domain",
                            resource_name=self.datazone_domain,
                        )
                    ],
                )
            )
        nag.acknowledge_function_role(
            role, bucket_arn=bucket.bucket_arn, prefixes=(contract.LINEAGE_PREFIX,)
        )
