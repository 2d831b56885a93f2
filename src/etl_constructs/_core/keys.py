"""The keys a construct uses when it is given none: one per stack and environment, shared.

A pipeline whose constructs each created a key of their own would pay for (and rotate, and
guard) one key per construct where one serves them all. A construct given no key takes the
environment's (``PipelineEnvironment.encryption_key`` / ``data_key``), else the stack's one
:class:`PipelineKey` (or :class:`DataKey`) of its environment, created by the first construct
that needs it. It is retained as soon as one of its users retains its data.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..encryption import DataKey, PipelineKey
from .environment import PipelineEnvironment

_RETAINED = (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def pipeline_key(scope: Construct, env: PipelineEnvironment) -> kms.IKey:
    """The key of log groups, dead-letter queues and the alarm topic of ``scope``."""
    return env.encryption_key or _shared(scope, env, PipelineKey)


def data_key(scope: Construct, env: PipelineEnvironment) -> kms.IKey:
    """The key of card-holder data (bucket, table) of ``scope``."""
    return env.data_key or _shared(scope, env, DataKey)


def _shared(scope: Construct, env: PipelineEnvironment, kind: type) -> kms.IKey:
    stack = cdk.Stack.of(scope)
    naming = env.naming
    construct_id = "-".join(filter(None, (kind.__name__, naming.prefix, naming.suffix)))
    owner = stack.node.try_find_child(construct_id)
    if owner is None:
        owner = kind(
            stack,
            construct_id,
            environment_suffix=env.environment_suffix,
            name_prefix=env.name_prefix,
            removal_policy=env.removal_policy,
        )
    elif env.removal_policy in _RETAINED and owner.removal_policy not in _RETAINED:
        owner.key.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        owner.removal_policy = cdk.RemovalPolicy.RETAIN
    return owner.key
