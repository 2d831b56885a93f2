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
