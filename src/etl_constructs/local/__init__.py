"""The offline runtime: the synthesized pipeline, run in moto on one machine.

``etl-pipeline`` (:mod:`.cli`) is its command line; :class:`LocalPipeline` its Python API::

    from etl_constructs.local import LocalPipeline, synthesize
    with LocalPipeline(synthesize(Path("cdk.out.local"))) as pipeline:
        key, version = pipeline.upload(Path("transactions.csv"))
        job = pipeline.wait([(key, version)], timeout=60)[(key, version)]
"""

from __future__ import annotations

from .assembly import AssemblyError, CloudAssembly, synthesize
from .pipeline import JobOutcome, LocalPipeline, LocalRuntimeError

__all__ = [
    "AssemblyError",
    "CloudAssembly",
    "JobOutcome",
    "LocalPipeline",
    "LocalRuntimeError",
    "synthesize",
]
