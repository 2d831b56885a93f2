"""EtlWorkflow's ``input_formats``: what the ingestion rule matches, what the validator
accepts, and a schema statements cannot fill refused at synth."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from etl_constructs import PropsError, TransactionSchema

from .test_etl_workflow import _workflow_stack
from .test_intake_props import _validator_env


def _rule_keys(template: Template) -> list[str]:
    (rule,) = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": "etl-ingestion-rule-dev"}}
    ).values()
    return [k["wildcard"] for k in rule["Properties"]["EventPattern"]["detail"]["object"]["key"]]


def test_by_default_all_four_formats_are_read(standard_workflow) -> None:
    pipeline, template = standard_workflow
    assert pipeline.workflow.input_formats == ("csv", "camt.053", "mt940", "bai2")
    assert _validator_env(template)["ETL_INPUT_FORMATS"] == "csv,camt.053,mt940,bai2"
    assert _rule_keys(template) == [
        f"raw/*{suffix}"
        for s in (".csv", ".xml", ".sta", ".mt940", ".940", ".bai", ".bai2")
        for suffix in (s, s.upper())
    ]


def test_csv_only_matches_what_the_pipeline_matched_before() -> None:
    stack, _ = _workflow_stack(input_formats=["csv"])
    template = Template.from_stack(stack)
    assert _rule_keys(template) == ["raw/*.csv", "raw/*.CSV"]
    assert _validator_env(template)["ETL_INPUT_FORMATS"] == "csv"


def test_the_formats_are_kept_in_the_contracts_order() -> None:
    stack, workflow = _workflow_stack(input_formats=["bai2", "csv", "bai2"])
    assert workflow.input_formats == ("csv", "bai2")
    assert _rule_keys(Template.from_stack(stack))[2:] == [
        "raw/*.bai",
        "raw/*.BAI",
        "raw/*.bai2",
        "raw/*.BAI2",
    ]


@pytest.mark.parametrize(
    ("formats", "problem"),
    [
        (["csv", "xlsx"], "input_formats: 'xlsx' is not one of csv, camt.053, mt940, bai2"),
        ([], "input_formats: name at least one format"),
        ("csv", "input_formats: must be a list of format names"),
    ],
)
def test_bad_formats_are_props_problems(formats, problem) -> None:
    with pytest.raises(PropsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        _workflow_stack(input_formats=formats)


def _custom_schema() -> TransactionSchema:
    document = TransactionSchema.default().to_document()
    document["columns"] = [c for c in document["columns"] if c["name"] != "category"]
    document["columns"].append({"name": "branch", "type": "text", "required": True})
    return TransactionSchema.from_document(document)


def test_a_schema_statements_cannot_fill_needs_csv_only() -> None:
    with pytest.raises(PropsError) as raised:
        _workflow_stack(schema=_custom_schema())
    message = str(raised.value)
    assert "input_formats: camt.053, mt940, bai2 need a schema statements can fill" in message
    assert "column category is missing" in message
    assert "required column branch is not a statement field" in message
    _workflow_stack(schema=_custom_schema(), input_formats=["csv"])  # as before
