"""Installed into the consumer virtualenv as ``_etl_consumer_probe`` (imported by a ``.pth``
line at interpreter start): when ``ETL_CONSUMER_PROBE_DIR`` is set, every Python process of a
consumer run (``etl-pipeline`` and the app it synthesizes) writes, at exit, each module it
imported and the file it came from. The tests read them to tell which code really ran: the
wheel's or this checkout's. Without the variable it does nothing."""

import atexit
import json
import os
import sys

_FOLDER = os.environ.get("ETL_CONSUMER_PROBE_DIR")


def _write() -> None:
    modules = {
        name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())
    }
    record = {"argv": sys.argv, "path": sys.path, "modules": modules}
    with open(os.path.join(_FOLDER, f"{os.getpid()}.json"), "w", encoding="utf-8") as out:
        json.dump(record, out)


if _FOLDER:
    atexit.register(_write)
