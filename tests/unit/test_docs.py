"""The README's props tables come from the code, and every prop is described."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import docs  # noqa: E402


def test_readme_props_tables_match_the_code():
    readme = (ROOT / "README.md").read_text()
    assert docs.render(readme) == readme, "README.md drifted: run `python scripts/docs.py`"


@pytest.mark.parametrize("construct", docs.DOCUMENTED, ids=lambda c: c.__name__)
def test_every_prop_is_documented(construct):
    table = docs.props_table(construct)
    for row in table.splitlines()[2:]:
        description = row.rsplit("|", 2)[-2].strip()
        assert description, f"{construct.__name__}: {row.split('|')[1]} has no description"


def test_the_compliance_doc_names_what_the_account_must_add_and_the_retained_pans():
    from etl_constructs.ingestion_bucket import Lifecycle

    doc = (ROOT / "docs" / "compliance.md").read_text()
    section = doc[doc.index("## What the library leaves to your account") :]
    for control in ("CloudTrail data events", "AWS Config", "GuardDuty", "Security Hub"):
        assert control in section
    defaults = Lifecycle()
    raw, failed = defaults.raw_expiration, defaults.failed_expiration
    assert raw is not None and failed is not None
    assert (
        f"kept {int(raw.to_days())} days (`raw/`) and {int(failed.to_days())} days (`failed/`)"
        in " ".join(section.split())
    )
    assert "PCI DSS 3.2.1 is retired" in section and "4.0.1" in section
