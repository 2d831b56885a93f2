"""Read a synthesized CDK app: its stack templates, exports and Lambda asset folders.

The local runtime stands up exactly what these templates declare, so this module is the
only place that knows the layout of a cloud assembly (``cdk.out``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Environment suffix of local runs: physical names end in ``-local``.
LOCAL_SUFFIX = "local"
#: The folder inside a run's ``--out`` where it keeps the cloud assembly it ran.
ASSEMBLY_DIR = ".assembly"


class AssemblyError(RuntimeError):
    """The app could not be synthesized, or its cloud assembly cannot be read."""


class ProfileError(ValueError):
    """Context ``compliance`` names no profile (a usage error: nothing was synthesized)."""


class SynthError(AssemblyError):
    """Synthesizing the app failed: its own error, or cdk-nag findings, in full."""


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.logical_id)


@dataclass
class CloudAssembly:
    """Templates by stack name, plus where the assets were staged."""

    directory: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> CloudAssembly:
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise AssemblyError(f"{directory} is not a cloud assembly (no manifest.json)")
        manifest = json.loads(manifest_path.read_text())
        assembly = cls(directory=directory)
        for name, artifact in manifest.get("artifacts", {}).items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = artifact["properties"]["templateFile"]
            stack_name = artifact["properties"].get("stackName", name)
            assembly.templates[stack_name] = json.loads((directory / template_file).read_text())
        if not assembly.templates:
            raise AssemblyError(f"{directory} holds no stacks")
        return assembly

    def resources(self) -> Iterator[Resource]:
        for stack, template in self.templates.items():
            for logical_id, body in template.get("Resources", {}).items():
                yield Resource(stack, logical_id, body["Type"], body.get("Properties", {}))

    def exports(self) -> dict[str, tuple[str, Any]]:
        """Export name -> (producing stack, unresolved value)."""
        found: dict[str, tuple[str, Any]] = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if name:
                    found[name] = (stack, output["Value"])
        return found

    def outputs(self) -> dict[str, tuple[str, Any]]:
        """Output key -> (stack, unresolved value), without CDK's export plumbing."""
        return {
            key: (stack, output["Value"])
            for stack, template in self.templates.items()
            for key, output in template.get("Outputs", {}).items()
            if not key.startswith("ExportsOutput")
        }

    def asset_path(self, code: Mapping[str, Any]) -> Path:
        """The staged folder of a Lambda ``Code`` property (``S3Key`` = ``<hash>.zip``)."""
        key = code.get("S3Key")
        if not isinstance(key, str):
            raise AssemblyError(f"function code {code!r} is not a staged asset")
        folder = self.directory / f"asset.{key.split('.')[0]}"
        if not folder.is_dir():
            raise AssemblyError(f"asset folder {folder} is missing from the cloud assembly")
        return folder


def synthesize(
    outdir: Path,
    *,
    project_dir: Path | None = None,
    context: Mapping[str, Any] | None = None,
) -> CloudAssembly:
    """Synthesize the app of ``project_dir/cdk.json`` into ``outdir``.

    The app command runs the way the CDK CLI runs it: with ``CDK_OUTDIR`` and
    ``CDK_CONTEXT_JSON`` set (cdk.json's context plus ``context``). Without a cdk.json, the
    library's own single-stack pipeline is synthesized in-process. Raises :class:`SynthError`
    with what the app reported (cdk-nag findings in full, a traceback cut to its message).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    settings = synth_context(context)
    cdk_json = (project_dir or Path.cwd()) / "cdk.json"
    if not cdk_json.is_file():
        from .default_app import synthesize_default

        try:
            synthesize_default(outdir, context=settings)
        except RuntimeError as exc:  # jsii reports a failed synth so; cdk-nag printed its report
            raise SynthError(f"synthesizing the default pipeline failed: {exc}") from None
        return CloudAssembly.load(outdir)

    config = json.loads(cdk_json.read_text())
    command = config.get("app")
    if not command:
        raise AssemblyError(f'{cdk_json} has no "app" command')
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])  # this venv's python + node
    env["CDK_OUTDIR"] = str(outdir)
    env["CDK_CONTEXT_JSON"] = json.dumps({**config.get("context", {}), **settings})
    result = subprocess.run(  # noqa: S603 - the user's own cdk.json app command
        shlex.split(command),
        cwd=cdk_json.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = synth_report(result.stderr or result.stdout, project=cdk_json.parent)
        raise SynthError(f"synthesizing {cdk_json.parent} failed:\n{detail}")
    return CloudAssembly.load(outdir)


def synth_context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The context a local synth gets: the local suffix, then what the user passed."""
    return {"environmentSuffix": LOCAL_SUFFIX, **(context or {})}


def synth_report(stderr: str, *, project: Path) -> str:
    """What a failed synth printed, for a person: everything but the tracebacks (cdk-nag's
    ``ERROR ... Acknowledge with`` findings come first and stay whole), each traceback cut
    to the last line of the app's own code in it and its closing exception line."""
    kept: list[str] = []
    in_trace = False
    where: list[str] = []
    lines = stderr.rstrip().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("Traceback (most recent call last):", "jsii.errors.JavaScriptError")):
            in_trace, where = True, []
            continue
        if in_trace:
            if line.startswith("  File ") and str(project) in line:
                where = [line, lines[index + 1] if index + 1 < len(lines) else ""]
            if not line or line[0].isspace() or line.startswith("The above exception"):
                continue
            kept += [w for w in where if w.strip()]
            in_trace = False
        kept.append(line)
    return "\n".join(kept).strip() or "(the app printed nothing)"
