"""The offline runtime reads the facts it shares with the handlers (prefixes, statuses, row
counts, environment names) from the contract, as the constructs do: no local/ module spells
one itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_contract import _contract_strings, _string_constants

LOCAL = Path(__file__).resolve().parents[2] / "src" / "etl_constructs" / "local"

#: Strings of the contract that are also AWS's own words here, not copies of a contract fact:
#: Step Functions' execution statuses, event names and fields as moto and AWS spell them.
AWS_WORDS = {
    "aws.states",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "Step Functions Execution Status Change",
    "input",
}


@pytest.mark.parametrize("path", sorted(LOCAL.glob("*.py")), ids=lambda p: p.name)
def test_no_local_module_spells_a_contract_fact(path):
    allowed = AWS_WORDS if path.name == "moto_compat.py" else set()
    copies = (_string_constants(path) & _contract_strings()) - allowed
    assert not copies, f"local/{path.name} spells contract facts itself: {sorted(copies)}"
