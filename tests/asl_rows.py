"""Where a state machine definition could put a file's row values into execution state.

Execution history (90 days) and the state machine's logs keep every state's input and
output. A state can bring object data into them in three ways; :func:`row_data_exposures`
names each place a definition does:

* an item reader that reads objects (``s3:getObject`` readers turn rows or JSON values into
  item data); an object listing (``s3:listObjectsV2``) gives keys, sizes and ETags only;
* an item batcher (its batches are item data by construction);
* a path into an item's value other than the key of a listed object, or a service
  integration that returns an object's body (``s3:getObject``, ``s3:selectObjectContent``).

Lambda results are the handlers' to keep free of rows (their step results hold counts,
totals and keys); the local runtime's scan of every execution history checks that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_LISTING = re.compile(r":s3:listObjectsV2$")
_BODY_READS = re.compile(r":(?:aws-sdk:)?s3:(?:getObject|selectObjectContent)$")
_ITEM_VALUE = re.compile(r"\$\$\.Map\.Item\.Value(?![.\w])|\$\$\.Map\.Item\.Value\.(?!Key\b)")


def _states(definition: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition.get("States", {}).items():
        where = f"{path}{name}"
        yield where, state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key], f"{where}/")
        for index, branch in enumerate(state.get("Branches", [])):
            yield from _states(branch, f"{where}[{index}]/")


def row_data_exposures(definition: dict[str, Any]) -> list[str]:
    """Every place of ``definition`` (parsed ASL) that could hold a row value."""
    found = []
    for where, state in _states(definition):
        reader = state.get("ItemReader")
        if reader is not None and not _LISTING.search(reader.get("Resource", "")):
            found.append(f"{where}: ItemReader {reader.get('Resource')} reads object data")
        if "ItemBatcher" in state:
            found.append(f"{where}: ItemBatcher makes batches of item data")
        if _BODY_READS.search(str(state.get("Resource", ""))):
            found.append(f"{where}: {state['Resource']} returns an object's body")
        for field in ("Parameters", "ItemSelector", "ResultSelector", "Arguments"):
            text = json.dumps(state.get(field, {}))
            if _ITEM_VALUE.search(text):
                found.append(f"{where}: {field} passes an item's value, not its key")
    return found
