"""Where the Lambda handler code is (the one asset all functions share), and the loading of
its stdlib-only modules the constructs read (the contract, the schema rules).

Kept apart from :mod:`etl_constructs.runtime` (which imports aws_cdk) so that what reads the
asset's own files starts no jsii process.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType


class HandlerAssetNotFoundError(FileNotFoundError):
    """Neither the packaged nor the source-tree copy of the handler code exists."""


def handlers_path() -> Path:
    """Folder holding the Lambda handler packages.

    An installed wheel carries them as ``etl_constructs/_handlers``; a source checkout keeps
    them in ``handlers/`` at the repository root.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_handlers", here.parents[1] / "handlers"):
        if (candidate / "etl_handlers").is_dir():
            return candidate
    raise HandlerAssetNotFoundError(
        "the Lambda handler code was not found next to etl_constructs; reinstall the "
        "etl-constructs package (the wheel ships it as etl_constructs/_handlers)"
    )


@cache
def load_asset_module(relative_path: str, *, name: str) -> ModuleType:
    """The asset's module at ``relative_path`` (one that imports only the standard library),
    loaded once by its file path under the private module name ``name``: the construct side
    never puts ``etl_handlers`` on ``sys.path`` (no clash with a user's modules) nor imports
    the handler package (its other modules need botocore and Powertools)."""
    path = handlers_path() / relative_path
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a file path always has one
        raise ImportError(f"cannot load {relative_path} from the handler asset at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
