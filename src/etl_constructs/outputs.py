"""Flatten ``cdk deploy --outputs-file`` into ``cfn-outputs/flat-outputs.json``.

``cdk deploy --all --outputs-file f.json`` writes ``{stack: {output: value}}``; integration
tests and scripts want one flat ``{output: value}`` map. Two stacks exporting the same output
name would make that ambiguous, so that is an error rather than a silent overwrite.

    python -m etl_constructs.outputs cdk.out/deploy-outputs.json cfn-outputs/flat-outputs.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path


class OutputsError(ValueError):
    """The outputs file cannot be flattened."""


def flatten(outputs: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    flat: dict[str, str] = {}
    owner: dict[str, str] = {}
    for stack, values in outputs.items():
        if not isinstance(values, Mapping):
            raise OutputsError(f"stack {stack!r}: expected an object of outputs")
        for name, value in values.items():
            if name in flat and flat[name] != value:
                raise OutputsError(f"output {name!r} appears in both {owner[name]} and {stack}")
            flat[name], owner[name] = value, stack
    return flat


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m etl_constructs.outputs DEPLOY_OUTPUTS.json FLAT_OUTPUTS.json",
            file=sys.stderr,
        )
        return 2
    source, target = map(Path, args)
    try:
        flat = flatten(json.loads(source.read_text()))
    except FileNotFoundError:
        print(f"error: {source} does not exist (run `make deploy` first)", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, OutputsError) as exc:
        print(f"error: {source}: {exc}", file=sys.stderr)
        return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(flat)} outputs to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
