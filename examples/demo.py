#!/usr/bin/env python3
"""`make demo`: the example app, synthesized and run offline on the example data.

Runs ``etl-pipeline run`` on the files of ``examples/data/`` with ``--out etl-out`` (the
example app of cdk.json, cdk-nag packs included, stood up in moto), then checks each file
got the outcome ``examples/data/expected.json`` gives it: a clean file, one with a few
rejected rows, one that fails as a whole, and a bank statement of each format (camt.053,
MT940, BAI2). Exits 0 when all match (the failing file failing is expected).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"
OUT = ROOT / "etl-out"

from etl_constructs.local import cli  # noqa: E402


def main() -> int:
    expected = json.loads((DATA / "expected.json").read_text())
    files = [str(DATA / name) for name in expected]
    code = cli.main(["run", *files, "--out", str(OUT), "--project", str(ROOT)])
    if code == cli.EXIT_USAGE:
        return code
    jobs = {Path(j["fileName"]).name: j for j in json.loads((OUT / cli.JOBS_FILE).read_text())}
    print("\nexpected outcomes:")
    mismatches = 0
    for name, want in expected.items():
        job = jobs.get(name, {})
        got_rows = {k: job.get("rows", {}).get(k) for k in want.get("rows", {})}
        got_error = (job.get("error") or {}).get("code")
        ok = (
            job.get("status") == want["status"]
            and got_rows == want.get("rows", {})
            and ("error" not in want or got_error == want["error"])
        )
        mismatches += not ok
        detail = want["status"] + (f" ({want['error']})" if "error" in want else "")
        print(f"  {'ok  ' if ok else 'MISS'} {name}: expected {detail}, got {job.get('status')}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
