"""The handlers' contract, read from the handler asset: the one copy of the facts both sides
share (prefixes, environment variable names, metric names, statuses, step names, defaults).

``handlers/etl_handlers/contract.py`` is loaded by its file path under a private module
name, once, so the construct side never imports the handler package (its other modules need
botocore and Powertools) and keeps no copy of its own.
"""

from __future__ import annotations

from types import ModuleType

from ._asset import load_asset_module


def load() -> ModuleType:
    """The asset's ``etl_handlers/contract.py`` as a module (loaded on the first call)."""
    return load_asset_module("etl_handlers/contract.py", name="etl_constructs._handler_contract")


contract = load()
