"""One measured run in a fresh process: ``python -m bench.worker ENGINE CSV OUT [STEP]``.

With STEP, that handler step alone (the steps before it must have written their outputs to
OUT); ENGINE ``ours-curated`` makes the enrich step write the curated Parquet too.

Prints one JSON line: the engine's summary (see ``bench.engines``). The driver reads peak
RSS from the process's resource usage, so nothing here measures memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import engines


def main(argv: list[str]) -> None:
    engine, path, out = argv[0], Path(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if len(argv) > 3:
        result = engines.ours_step(
            argv[3],
            path,
            out,
            "reference" if engine == "reference" else None,
            curated=engine == "ours-curated",
        )
    else:
        result = engines.run(engine, path, out)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
