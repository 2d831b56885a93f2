"""Helpers for construct tests: a fresh app with the project's feature flags."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from tests.conftest import cdk_json_context


@pytest.fixture
def stack() -> cdk.Stack:
    app = cdk.App(context=cdk_json_context())
    return cdk.Stack(
        app, "TestStack", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )


@pytest.fixture
def template_of() -> Callable[[cdk.Stack], Template]:
    return Template.from_stack


@pytest.fixture(scope="session")
def standard_workflow():
    """The standard bucket, table and workflow (no API), suffix ``dev``, built once per test
    session and shared by every module that only reads it, with its template."""
    from .builders import build_pipeline

    pipeline = build_pipeline(api=False)
    return pipeline, pipeline.template()
