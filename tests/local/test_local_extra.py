"""`pip install etl-constructs[local]` brings what a local run needs to take the functions'
fast path, at the version the Lambda layer carries."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_extra_carries_the_layers_pyarrow_and_numpy():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    layer = json.loads((ROOT / "src" / "etl_constructs" / "sdk_for_pandas_layers.json").read_text())
    assert f"pyarrow=={layer['pyarrow']}" in extras["local"]
    assert any(r.startswith("numpy") for r in extras["local"])
    assert "etl-constructs[local]" in extras["dev"]  # the dev environment gets the same
