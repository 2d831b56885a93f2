"""One contract, read by both sides: the constructs load ``etl_handlers/contract.py`` from
the handler asset instead of keeping a copy, and every consumer of a status group uses the
contract's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from etl_handlers import contract as handler_contract
from etl_handlers.app import steps
from etl_handlers.aws import jobs, observability
from etl_handlers.core import codes, keys
from etl_handlers.engines.reference import validate

from etl_constructs import _contract, etl_workflow, large_files, naming, runtime

SRC = Path(__file__).resolve().parents[2] / "src" / "etl_constructs"
HANDLERS = Path(__file__).resolve().parents[2] / "handlers" / "etl_handlers"


def test_the_construct_side_loads_the_contract_from_the_handler_asset():
    loaded = _contract.load()
    assert loaded is _contract.contract  # once
    assert Path(loaded.__file__) == runtime.handlers_path() / "etl_handlers" / "contract.py"
    assert loaded.__name__ != handler_contract.__name__  # a private name, not the package's
    assert naming.ENV_SCHEMA is loaded.SCHEMA
    assert naming.ENV_STUCK_AFTER_MINUTES is loaded.STUCK_AFTER_MINUTES
    assert naming.RAW_PREFIX is loaded.RAW_PREFIX
    assert naming.METRIC_STUCK_JOBS is loaded.METRIC_STUCK_JOBS
    assert naming.METRICS_NAMESPACE is loaded.METRICS_NAMESPACE
    assert naming.EXECUTION_END_STATUSES is loaded.EXECUTION_END_STATUSES
    assert naming.CODE_INVALID_WITHOUT_REASON is loaded.CODE_INVALID_WITHOUT_REASON
    assert naming.JOB_INDEX_NAME is loaded.JOB_INDEX_NAME
    assert naming.OUTCOME_VALID is loaded.VALID
    assert naming.OUTCOME_INVALID is loaded.INVALID
    assert float(loaded.DEFAULT_MAX_REJECT_RATE) == naming.DEFAULT_MAX_REJECT_RATE
    assert etl_workflow.STEP_ROW_COUNTS is loaded.STEP_ROW_COUNTS
    assert etl_workflow.DEFAULT_STUCK_AFTER.to_minutes() == loaded.DEFAULT_STUCK_AFTER_MINUTES


def _contract_strings() -> set[str]:
    found: set[str] = set()
    for name, value in vars(handler_contract).items():
        if name.startswith("_") or name == "annotations":
            continue
        values = value if isinstance(value, tuple) else (value,)
        found |= {v for v in values if isinstance(v, str)}
    return found


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


@pytest.mark.parametrize("path", sorted(SRC.glob("*.py")), ids=lambda p: p.name)
def test_no_construct_module_keeps_a_literal_copy_of_a_contract_fact(path):
    # Words that are also everyday strings of the construct side, not copies of the contract.
    everyday = {"read"}
    copies = (_string_constants(path) & _contract_strings()) - everyday
    assert not copies, f"{path.name} spells contract facts itself: {sorted(copies)}"


BIG_FILE_FOLDERS = ("plan", "parts", "ids", "batches", "summaries", "duplicates.json")


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_construct_module_spells_a_big_files_folder(path):
    # local/ included: the runtime's export reads the same layout
    assert set(BIG_FILE_FOLDERS) <= _contract_strings()
    spelled = _string_constants(path) & set(BIG_FILE_FOLDERS)
    assert not spelled, f"{path.relative_to(SRC)} spells a big file's folder: {sorted(spelled)}"


def test_a_big_files_layout_is_the_contracts_on_both_sides():
    from etl_handlers.app import large

    c = handler_contract
    prefixes = large.JobPrefixes("j1")
    assert prefixes.plan == f"{c.VALIDATED_PREFIX}j1/{c.PLAN_FOLDER}/" == "validated/j1/plan/"
    assert prefixes.parts == "validated/j1/parts/"
    assert prefixes.ids == "validated/j1/ids/"
    assert prefixes.batches == "validated/j1/batches/"
    assert prefixes.duplicates == "validated/j1/duplicates.json"
    assert prefixes.rejected == "rejected/j1/parts/"
    assert prefixes.processed() == "processed/j1/parts/"
    assert prefixes.processed("part-1", "csv") == "processed/j1/parts/part-1.csv"
    assert prefixes.enriched() == "enriched/j1/parts/"
    assert prefixes.enriched("part-1") == "enriched/j1/parts/part-1.jsonl"
    assert prefixes.summaries == "enriched/j1/summaries/"
    # the construct side lists the folders the handlers write, by the loaded contract's names
    loaded = _contract.contract
    assert large_files.LISTED_PLANS == (loaded.VALIDATED_PREFIX, loaded.PLAN_FOLDER)
    assert large_files.LISTED_PARTS == (loaded.VALIDATED_PREFIX, loaded.PARTS_FOLDER)
    assert large_files.LISTED_PLANS[1] is loaded.PLAN_FOLDER
    for prefix, folder in (large_files.LISTED_PLANS, large_files.LISTED_PARTS):
        assert prefix in naming.STATE_MACHINE_LIST_PREFIXES
        assert f"{prefix}j1/{folder}/" in (prefixes.plan, prefixes.parts)


def test_the_handler_modules_take_their_facts_from_the_contract():
    assert keys.PREFIXES is handler_contract.PREFIXES
    assert keys.RAW_PREFIX is handler_contract.RAW_PREFIX
    assert observability.METRIC_NAMES is handler_contract.METRIC_NAMES
    assert observability.DEFAULT_NAMESPACE is handler_contract.METRICS_NAMESPACE
    assert codes.INVALID_WITHOUT_REASON is handler_contract.CODE_INVALID_WITHOUT_REASON
    assert jobs.STATUSES is handler_contract.STATUSES
    assert jobs.STEP_STATUS is handler_contract.STEP_STATUS
    assert jobs.STEP_ROW_COUNTS is handler_contract.STEP_ROW_COUNTS
    assert jobs.DEFAULT_INDEX is handler_contract.JOB_INDEX_NAME
    for module in (steps, validate):
        assert module.VALID is handler_contract.VALID
        assert module.INVALID is handler_contract.INVALID
        assert module.DEFAULT_MAX_REJECT_RATE is handler_contract.DEFAULT_MAX_REJECT_RATE


# -- Status groups: one meaning, one name, one place ---------------------------------------


def test_each_status_group_has_one_meaning():
    c = handler_contract
    assert tuple(c.STEP_STATUS[step] for step in c.STEPS) == c.STEP_STATUSES
    assert (c.PENDING, *c.STEP_STATUSES) == c.ACTIVE_STATUSES
    assert set(c.ACTIVE_STATUSES) | set(c.FINAL_STATUSES) == set(c.STATUSES)
    assert not set(c.ACTIVE_STATUSES) & set(c.FINAL_STATUSES)


def test_running_statuses_is_gone_everywhere():
    """The name meant one set on the construct side (with PENDING) and another on the
    handler side (without it); each meaning has its own name now."""
    for root in (SRC, HANDLERS):
        for path in root.rglob("*.py"):
            assert "RUNNING_STATUSES" not in path.read_text(), path


def test_the_failure_branch_writes_failed_only_from_the_active_statuses():
    assert etl_workflow.FAILABLE_STATUSES is _contract.contract.ACTIVE_STATUSES
    assert etl_workflow.FAILABLE_STATUSES == handler_contract.ACTIVE_STATUSES


def test_the_execution_status_recorder_and_the_store_fail_only_active_jobs():
    # record_execution_end moves a job with JobStore.fail, whose condition is ALLOWED_FROM.
    assert jobs.ALLOWED_FROM[jobs.FAILED] == frozenset(handler_contract.ACTIVE_STATUSES)
    assert jobs.ACTIVE_STATUSES is handler_contract.ACTIVE_STATUSES
    assert jobs.FINAL_STATUSES is handler_contract.FINAL_STATUSES


def test_stuck_means_active_for_too_long_in_the_api_and_the_quality_check():
    from datetime import UTC, datetime, timedelta

    from etl_handlers.api import logic as api
    from etl_handlers.quality_check import logic as quality

    assert api.ACTIVE_STATUSES is quality.ACTIVE_STATUSES is handler_contract.ACTIVE_STATUSES
    now = datetime(2024, 1, 1, tzinfo=UTC)
    old = int(now.timestamp()) - 2 * 3600
    for status in handler_contract.STATUSES:
        view = api.job_view(
            {"jobId": "j", "status": status, "timestamp": old},
            now=now,
            stuck_after=timedelta(hours=1),
        )
        assert view["stuck"] is (status in handler_contract.ACTIVE_STATUSES), status
    assert api.DEFAULT_STUCK_AFTER_MINUTES == quality.DEFAULT_STUCK_AFTER_MINUTES
    assert api.DEFAULT_STUCK_AFTER_MINUTES == handler_contract.DEFAULT_STUCK_AFTER_MINUTES
