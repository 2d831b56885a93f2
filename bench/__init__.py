"""Reproducible throughput and memory benchmarks of the processing core (``python -m bench``)."""

import sys
from pathlib import Path

# Every bench times the handlers of this checkout (the asset's code), installed or not.
_HANDLERS = str(Path(__file__).resolve().parent.parent / "handlers")
if _HANDLERS not in sys.path:
    sys.path.insert(0, _HANDLERS)
