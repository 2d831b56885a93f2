#!/usr/bin/env python3
"""Generate the README's props tables from the constructs' signatures and docstrings.

Each construct documents its keyword arguments in an ``Args:`` section; the table lists every
keyword-only parameter with its type, its default and that description. ``make docs``
rewrites the README between ``<!-- props:Name -->`` and ``<!-- /props:Name -->``; a test fails
when the README and the code disagree.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import etl_constructs  # noqa: E402

etl_constructs.use_virtualenv_node()  # before the constructs start jsii

from etl_constructs import (  # noqa: E402
    AnalyticsCatalog,
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PipelineNetwork,
)

DOCUMENTED = (
    IngestionBucket,
    MetadataStore,
    EtlWorkflow,
    ControlApi,
    ObservabilityPack,
    PipelineNetwork,
    AnalyticsCatalog,
)
README = ROOT / "README.md"


def arg_descriptions(cls: type) -> dict[str, str]:
    """``name: text`` entries of the class docstring's Args section (several names may share
    one entry, written ``a / b: text`` or ``a, b: text``)."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Args:\n(.*?)(?:\n\S|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    found: dict[str, str] = {}
    for entry in re.split(r"\n(?=    \S)", match.group(1)):
        head, _, text = entry.strip().partition(":")
        description = re.sub(r":class:`([^`]+)`", r"\1", " ".join(text.split()))
        for name in re.split(r"\s*(?:/|,)\s*", head):
            found[name.strip()] = description
    return found


def props_table(cls: type) -> str:
    descriptions = arg_descriptions(cls)
    rows = ["| prop | type | default | description |", "|---|---|---|---|"]
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        kind = str(param.annotation).replace("|", "\\|")
        default = (
            "required" if param.default is inspect.Parameter.empty else _default(param.default)
        )
        rows.append(f"| `{name}` | `{kind}` | {default} | {descriptions.get(name, '')} |")
    return "\n".join(rows)


def _default(value: object) -> str:
    if value is None:
        return "`None`"
    text = getattr(value, "name", None) or repr(value)
    return f"`{text}`"


def render(readme: str) -> str:
    for cls in DOCUMENTED:
        name = cls.__name__
        pattern = re.compile(rf"(<!-- props:{name} -->\n)(?:.*?\n)?(<!-- /props:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- props:{name} --> section")
        readme = pattern.sub(
            lambda m, c=cls: m.group(1) + props_table(c) + "\n" + m.group(2), readme
        )
    return readme


def main() -> int:
    README.write_text(render(README.read_text()))
    print("README.md props tables regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
