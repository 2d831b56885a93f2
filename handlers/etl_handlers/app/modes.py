"""Which task of the big-file path an event is for, without importing that path's code.

The handlers check this on every invocation; ``etl_handlers.app.large_steps`` (and the transform and
enrich code it pulls in) is imported only when the event is for the big-file path, so a
single-file validation does not pay for it at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl_handlers.contract import MANIFEST_MODE

PREFLIGHT, BATCH, REDUCE, PART = "preflight", "batch", "reduce", "part"
#: The failure branch's copy of a source too big for one CopyObject (app/failed_copy).
COPY_FAILED = "copy-failed"
#: The state machine's check that the sender's manifest has arrived (app/intake).
MANIFEST = MANIFEST_MODE


def mode_of(event: Any) -> str | None:
    """The ``mode`` field of a task of the big-file path or of the failure branch's copy,
    ``None`` for the single-function steps."""
    if isinstance(event, Mapping):
        mode = event.get("mode")
        if mode in (PREFLIGHT, BATCH, REDUCE, PART, COPY_FAILED, MANIFEST):
            return str(mode)
    return None
