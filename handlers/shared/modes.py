"""Which task of the big-file path an event is for, without importing that path's code.

The handlers check this on every invocation; ``shared.large_steps`` (and the transform and
enrich code it pulls in) is imported only when the event is for the big-file path, so a
single-file validation does not pay for it at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFLIGHT, BATCH, REDUCE, PART = "preflight", "batch", "reduce", "part"
#: The failure branch's copy of a source too big for one CopyObject (shared/failed_copy).
COPY_FAILED = "copy-failed"


def mode_of(event: Any) -> str | None:
    """``batch`` for an item batcher's event, the ``mode`` field for the other tasks of the
    big-file path and for the failure branch's copy, ``None`` for the single-function
    steps."""
    if isinstance(event, Mapping):
        if "Items" in event and isinstance(event.get("BatchInput"), Mapping):
            return BATCH
        mode = event.get("mode")
        if mode in (PREFLIGHT, REDUCE, PART, COPY_FAILED):
            return mode
    return None
