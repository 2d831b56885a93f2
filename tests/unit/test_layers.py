"""The handler package's layers point one way, as its tree shows.

``etl_handlers``: the function packages (thin shells) -> ``app`` -> ``aws`` and ``engines``
-> ``core`` (stdlib only); ``contract`` is read by any layer and imports none. Checked from
every module's imports (module level and inside functions alike)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "handlers" / "etl_handlers"
FUNCTIONS = ("trigger", "validator", "transformer", "enricher", "api", "quality_check")
#: What each layer may import of the package (besides itself and the contract).
ALLOWED = {
    "core": set(),
    "engines": {"core"},
    "aws": {"core"},
    "app": {"core", "engines", "aws"},
    **{name: {"core", "engines", "aws", "app"} for name in FUNCTIONS},
    "ops": {"core", "engines", "aws", "app"},  # operator actions, run from a workstation
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path):
    layer = _layer(path)
    allowed = ALLOWED.get(layer, set()) | {layer, "contract"}
    for name in _imports(path):
        if not name.startswith("etl_handlers."):
            continue
        target = name.split(".")[1]
        if target in ALLOWED or target == "contract":
            assert target in allowed, f"{path.name} ({layer}) imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _layer(p) in ("core", "contract")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_core_and_the_contract_import_the_standard_library_only(path):
    """At module level: a cold start of any function loads no third-party package through
    them. Inside a function, pyarrow and numpy only (the Parquet option of ``formats``, the
    batch API ``idset`` offers the columnar engine), loaded when that is used."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "etl_handlers" or top in stdlib:
                continue
            assert id(node) not in top_level, f"{path.name} imports {name} at module level"
            assert top in ("pyarrow", "numpy"), f"{path.name} imports {name}"


def test_the_asset_has_one_top_level_name():
    """The local runtime and Lambda put the asset on sys.path: one name, nothing a user's
    own modules (``api``, ``trigger``, ``shared``) could collide with."""
    tops = {p.name for p in PACKAGE.parent.iterdir() if not p.name.startswith((".", "__"))}
    assert tops == {"etl_handlers"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_modules_private_name(path):
    """What two modules share is a public name of the lower one (the columnar engine's
    fallbacks call the reference's public row functions, not its internals)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("etl_handlers"):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from {node.module}"


def _reads_fast_path_switch(path: Path) -> bool:
    """The module's code names the fast-path switch: the variable's name as a string, or the
    contract's constant for it (``contract.FAST_PATH``, ``from ... import FAST_PATH``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and node.value == "ETL_FAST_PATH":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "FAST_PATH":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "FAST_PATH" for a in node.names):
            return True
    return False


def test_only_the_selector_reads_the_fast_path_switch():
    """One place decides which engine runs: the selector (the contract names the switch)."""
    readers = {
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path.name != "contract.py" and _reads_fast_path_switch(path)
    }
    assert readers == {"engines/selector.py"}


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE / "engines" / "reference").rglob("*.py")),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_reference_engine_imports_nothing_of_the_columnar_one(path):
    """The reference is the specification: it stands alone (the columnar engine may call its
    public row functions, never the other way round)."""
    for name in _imports(path):
        assert not name.startswith("etl_handlers.engines.columnar"), f"{path.name}: {name}"
        assert name not in ("etl_handlers.engines.columnar", "etl_handlers.engines.selector")
        assert not (name == "etl_handlers.engines" or name.startswith("etl_handlers.engines.sel"))
