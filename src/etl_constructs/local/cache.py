"""The cloud assembly cache: a run reuses the synth of an earlier one whose inputs were the same.

A synth starts jsii (Node.js) and takes seconds; the templates it writes depend only on the
inputs below. Each cached assembly lives under ``<project>/.etl-pipeline/cache/<key>/``
(``<project>``: the folder of the app's cdk.json, or the current folder for the default app),
where ``<key>`` is a hash of

- the context of the synth (the local suffix and every ``-c`` value) and the ``CDK_*``
  environment variables the app can read;
- the versions of etl-constructs, aws-cdk-lib and cdk-nag, the library's own source files
  and the handler asset's files (what the functions run);
- for an app with a cdk.json: cdk.json and every file under its folder (hidden folders,
  ``cdk.out*``, ``node_modules``, ``__pycache__`` and the run's output folder aside): the
  app's sources, and data it reads such as a schema file. Files up to 1 MiB count by their
  contents, larger ones by size and modification time.

A change to any of them gives another key, so a stale assembly is never used. The newest
:data:`KEEP` entries are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .._asset import handlers_path

CACHE_DIR = Path(".etl-pipeline") / "cache"
#: cached assemblies kept per project (one per recent app version / context)
KEEP = 8
#: files larger than this count by size and modification time, not contents
CONTENT_LIMIT = 1 << 20
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
_DISTRIBUTIONS = ("etl-constructs", "aws-cdk-lib", "cdk-nag")
_IGNORED_ENV = frozenset({"CDK_OUTDIR", "CDK_CONTEXT_JSON"})


@dataclass(frozen=True)
class AssemblyCache:
    """The cache of one project folder."""

    project: Path

    @property
    def directory(self) -> Path:
        return self.project / CACHE_DIR

    def key(
        self, *, context: Mapping[str, Any], has_cdk_json: bool, skip: Iterable[Path] = ()
    ) -> str:
        digest = hashlib.sha256()

        def add(label: str, value: bytes | str) -> None:
            data = value.encode() if isinstance(value, str) else value
            digest.update(f"{label}\0{len(data)}\0".encode())
            digest.update(data)

        add("context", json.dumps(context, sort_keys=True, default=str))
        cdk_env = {k: v for k, v in os.environ.items() if k.startswith("CDK_")}
        add("env", json.dumps({k: v for k, v in cdk_env.items() if k not in _IGNORED_ENV}))
        for name in _DISTRIBUTIONS:
            add(name, _version(name))
        library = Path(__file__).resolve().parents[1]
        for label, root in (("library", library), ("handlers", handlers_path())):
            for path in _files(root, skip=()):
                add(f"{label}:{path.relative_to(root)}", _fingerprint(path))
        if has_cdk_json:
            skipped = [p.resolve() for p in skip]
            for path in _files(self.project, skip=skipped):
                add(f"app:{path.relative_to(self.project)}", _fingerprint(path))
        return digest.hexdigest()[:32]

    def get(self, key: str, outdir: Path) -> bool:
        """Put the cached assembly ``key`` into ``outdir``; False when there is none."""
        entry = self.directory / key
        if not (entry / "manifest.json").is_file():
            return False
        _replace(outdir, entry)
        with contextlib.suppress(OSError):
            os.utime(entry)  # the newest entries are the ones kept
        return True

    def put(self, key: str, assembly_dir: Path) -> Path | None:
        """Keep ``assembly_dir`` as ``key``; the entry, or None where the folder is not
        writable (the run goes on without a cache)."""
        entry = self.directory / key
        staging = self.directory / f".{key}.{os.getpid()}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory.parent / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("*\n")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(assembly_dir, staging, copy_function=_link_or_copy)
            shutil.rmtree(entry, ignore_errors=True)
            staging.rename(entry)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            return None
        self._prune()
        return entry

    def _prune(self) -> None:
        entries = sorted(
            (p for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _files(root: Path, *, skip: list[Path]) -> Iterator[Path]:
    """Every file under ``root`` in a stable order, without the folders a synth never reads."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith((".", "cdk.out"))
            and d not in _SKIPPED_DIRS
            and (here / d).resolve() not in skip
        )
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield here / name


def _fingerprint(path: Path) -> bytes:
    stat = path.stat()
    if stat.st_size > CONTENT_LIMIT:
        return f"{stat.st_size}:{stat.st_mtime_ns}".encode()
    return hashlib.sha256(path.read_bytes()).digest()


def _link_or_copy(source: str, target: str) -> None:
    """A hard link where the file system allows one (an assembly is read, never written)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _replace(outdir: Path, entry: Path) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(entry, outdir, copy_function=_link_or_copy)
