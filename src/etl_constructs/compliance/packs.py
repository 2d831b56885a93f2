"""The cdk-nag packs of each compliance profile (the one module that imports cdk-nag)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks
from constructs import IConstruct

from .profile import Compliance


def nag_packs(scope: IConstruct, profile: Compliance | str = Compliance.STANDARD) -> list:
    """The cdk-nag packs of ``profile``: AwsSolutions and Serverless, plus PCI DSS 3.2.1 and
    NIST 800-53 rev 5 when strict."""
    packs = [AwsSolutionsChecks(scope), ServerlessChecks(scope)]
    if Compliance.of(profile).strict:
        packs += [PCIDSS321Checks(scope), NIST80053R5Checks(scope)]
    return packs


def add_nag_packs(scope: IConstruct, profile: Compliance | str = Compliance.STANDARD) -> None:
    """Add the profile's packs to ``scope``: ``app.synth()`` then fails on any finding."""
    cdk.Validations.of(scope).add_plugins(*nag_packs(scope, profile))
