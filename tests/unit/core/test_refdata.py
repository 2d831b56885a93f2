"""Reference data: the committed refdata.json matches what the generator builds today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from etl_handlers.core import refdata

ROOT = Path(__file__).resolve().parents[3]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_refdata", ROOT / "scripts" / "generate_refdata.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_file_is_up_to_date() -> None:
    gen = generator()
    committed = (ROOT / "handlers" / "etl_handlers" / "core" / "refdata.json").read_text(
        encoding="utf-8"
    )
    assert gen.render(gen.build()) == committed, "run: python scripts/generate_refdata.py"
    assert gen.main(["--check"]) == 0


def test_generator_writes_and_detects_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = generator()
    target = tmp_path / "refdata.json"
    monkeypatch.setattr(gen, "TARGET", target)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    target.write_text("{}", encoding="utf-8")
    assert gen.main(["--check"]) == 1


def test_sources_are_recorded() -> None:
    from importlib.metadata import version

    assert refdata.SOURCES["iso4217"] == version("iso4217")
    assert refdata.SOURCES["pycountry"] == version("pycountry")


def test_currencies() -> None:
    minor = refdata.CURRENCY_MINOR_UNITS
    assert (minor["USD"], minor["JPY"], minor["BHD"], minor["CLF"], minor["EUR"]) == (2, 0, 3, 4, 2)
    assert all(len(code) == 3 and code.isupper() for code in minor)
    assert list(minor) == sorted(minor)


def test_currencies_without_minor_units_are_not_transaction_currencies() -> None:
    for code in ("XAU", "XAG", "XXX", "XTS", "XDR"):
        assert code in refdata.NON_TRANSACTION_CURRENCIES
        assert code not in refdata.CURRENCY_MINOR_UNITS


def test_countries() -> None:
    assert {"US", "GB", "DE", "JP"} <= refdata.COUNTRIES
    assert "UK" not in refdata.COUNTRIES
    assert len(refdata.COUNTRIES) == 249


def test_load_document_is_a_fresh_copy() -> None:
    document = refdata.load_document()
    document["currencies"].clear()
    assert refdata.load_document()["currencies"]
