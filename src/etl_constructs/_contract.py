"""The handlers' contract, read from the handler asset: the one copy of the facts both sides
share (prefixes, environment variable names, metric names, statuses, step names, defaults).

``handlers/etl_handlers/contract.py`` is loaded by its file path under a private module
name, once, so the construct side never imports the handler package (its other modules need
botocore and Powertools) and keeps no copy of its own.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from ._asset import handlers_path

_MODULE_NAME = "etl_constructs._handler_contract"


@cache
def load() -> ModuleType:
    """The asset's ``etl_handlers/contract.py`` as a module (loaded on the first call)."""
    path = handlers_path() / "etl_handlers" / "contract.py"
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file exists with the asset
        raise ImportError(f"cannot load the handler contract from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


contract = load()
