"""Where the Lambda handler code is: the one asset all functions share.

Kept apart from :mod:`etl_constructs.runtime` (which imports aws_cdk) so that what reads the
asset's own files (the contract, the schema rules) starts no jsii process.
"""

from __future__ import annotations

from pathlib import Path


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
