"""PipelineEnvironment: what every construct of one pipeline shares, given once.

The suffix, the compliance profile, the pipeline key (logs, queues, alarm topic), the data key
(bucket, table), the network, the removal policy and the metrics namespace are the same for
every construct of a pipeline. Passed one by one, they can drift apart (a workflow publishing
to one namespace, its monitoring reading another); a :class:`PipelineEnvironment` given to
each construct as ``environment=`` cannot. The individual props still work: a construct takes
each value from its own prop or from the environment, and a prop that disagrees with the
environment is a props problem.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..compliance.profile import Compliance, UnknownProfileError
from ..naming import METRICS_NAMESPACE, Naming, prefix_problems, suffix_problems
from .props import raise_if_any


@dataclass(frozen=True, kw_only=True)
class PipelineEnvironment:
    """The values every construct of one pipeline shares.

    Args:
        environment_suffix: appended to every physical name (``dev``, ``pr-42``).
        name_prefix: begins every physical name instead of ``etl`` (``{prefix}-data-bucket-
            {suffix}``): S3 bucket names are global, so two users of the library who both
            pick ``prod`` need prefixes of their own; none keeps the library's names.
        compliance: ``standard`` or ``strict`` (case-insensitive), or a :class:`Compliance`.
        encryption_key: the pipeline key (log groups, dead-letter queues, alarm topic), e.g.
            ``PipelineKey(...).key``; its policy must let CloudWatch Logs, CloudWatch alarms,
            EventBridge and SNS use it, as PipelineKey's does.
        data_key: the key of card-holder data (bucket, table), e.g. ``DataKey(...).key``.
        vpc: strict only: the network of the functions (``PipelineNetwork(...).vpc``).
        removal_policy: of every resource that holds data or logs (RETAIN).
        metrics_namespace: CloudWatch namespace of the custom metrics.

    Raises:
        PropsError: naming every bad value.
    """

    environment_suffix: str
    name_prefix: str | None = None
    compliance: Compliance | str = Compliance.STANDARD
    encryption_key: kms.IKey | None = None
    data_key: kms.IKey | None = None
    vpc: ec2.IVpc | None = None
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN
    metrics_namespace: str = METRICS_NAMESPACE

    def __post_init__(self) -> None:
        raise_if_any("PipelineEnvironment", _problems(self))
        object.__setattr__(self, "compliance", Compliance.of(self.compliance))

    @property
    def profile(self) -> Compliance:
        """The compliance profile (``compliance`` as a :class:`Compliance`)."""
        return Compliance.of(self.compliance)

    @property
    def naming(self) -> Naming:
        """The physical names of this environment."""
        return Naming(self.environment_suffix, self.name_prefix)


def _problems(values: Any) -> list[str]:
    suffix = values.environment_suffix
    problems = suffix_problems(suffix) if suffix is not None else []
    problems += prefix_problems(values.name_prefix)
    try:
        profile = Compliance.of(values.compliance)
    except UnknownProfileError as exc:
        problems.append(str(exc))
    else:
        if values.vpc is not None and not profile.strict:
            problems.append("vpc is used by compliance='strict' only; pass compliance='strict'")
    if not isinstance(values.metrics_namespace, str) or not values.metrics_namespace.strip():
        problems.append(
            f"metrics_namespace {values.metrics_namespace!r} must be a non-empty string"
        )
    return problems


_FIELDS = tuple(f.name for f in dataclasses.fields(PipelineEnvironment))


def resolve_environment(
    construct: str,
    environment: PipelineEnvironment | None,
    *,
    key_field: str = "encryption_key",
    **given: Any,
) -> tuple[PipelineEnvironment, list[str]]:
    """The environment a construct works in: ``environment`` (if any) completed with the
    construct's own props (``given``, ``None`` meaning not given), and every problem: a prop
    that disagrees with the environment, a missing suffix, a bad value.

    ``encryption_key`` stands for ``key_field`` of the environment (``data_key`` for the bucket
    and the table, whose ``encryption_key`` prop is the data key). With problems, the result is
    only good for naming them: the construct raises them with its own.
    """
    values: dict[str, Any] = (
        {name: getattr(environment, name) for name in _FIELDS} if environment else {}
    )
    problems: list[str] = []
    for prop, value in given.items():
        field = key_field if prop == "encryption_key" else prop
        if value is None:
            continue
        current = values.get(field)
        if environment is not None and current is not None and not _same(current, value):
            problems.append(
                f"{prop} {_shown(value)} disagrees with environment.{field} {_shown(current)}: "
                "give it in one place"
            )
            continue
        values[field] = value
    if "environment_suffix" not in values:
        problems.append(
            "environment_suffix is required (or environment=PipelineEnvironment(...) with it)"
        )
        values["environment_suffix"] = None
    defaults = {f.name: f.default for f in dataclasses.fields(PipelineEnvironment)}
    values = {name: values.get(name, defaults[name]) for name in _FIELDS}
    partial = _Unchecked(**values)
    problems += _problems(partial)
    if problems:
        return partial, problems  # type: ignore[return-value]
    return PipelineEnvironment(**values), []


def _best_profile(values: Any) -> Compliance:
    try:
        return Compliance.of(values.compliance)
    except UnknownProfileError:
        return Compliance.STANDARD


#: The merged values when some are bad: enough to report them, never used to build. The same
#: fields as PipelineEnvironment, without its checks.
_Unchecked = dataclasses.make_dataclass(
    "_Unchecked",
    [(name, Any) for name in _FIELDS],
    frozen=True,
    namespace={"profile": property(_best_profile)},
)


def _same(current: Any, value: Any) -> bool:
    if isinstance(current, Construct) or isinstance(value, Construct):
        return current is value
    if isinstance(current, Compliance) or isinstance(value, Compliance):
        try:
            return Compliance.of(current) is Compliance.of(value)
        except UnknownProfileError:
            return True  # reported as a bad profile, not as a disagreement
    return bool(current == value)


def _shown(value: Any) -> str:
    if isinstance(value, Construct):
        return value.node.path
    if isinstance(value, Compliance):
        return repr(value.value)
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else repr(value)
