"""AWS clients made by botocore directly, from one session shared by the whole process.

``boto3.client(name, config=...)`` is ``create_client`` on boto3's default botocore session
plus what boto3 adds around it; the handlers use none of that (no resources, no
``upload_file``-style transfer methods), but importing boto3 imports its S3 transfer
manager too: about 120 ms of every cold start. The clients made here are the same
low-level botocore clients, with the caller's ``Config`` (retries, timeouts), the region and
credentials botocore resolves from the environment, and X-Ray's botocore patching.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session
from botocore.config import Config

_lock = threading.Lock()
_session: botocore.session.Session | None = None
_shared: dict[tuple[str, Config], Any] = {}

__all__ = ["RETRYING", "create_client", "shared_client"]

RETRYING = Config(retries={"mode": "standard", "max_attempts": 5})
"""The handlers' client configuration: botocore's standard retry mode, five attempts."""


def create_client(service: str, config: Config) -> Any:
    """A new low-level client of ``service`` (``"s3"``, ``"dynamodb"``...) from the shared
    session, created on first use: like boto3's default session, it loads botocore's
    endpoint and service data once for every client of the process."""
    with _lock:  # a botocore session is not safe to create clients from in parallel
        return _create(service, config)


def shared_client(service: str, config: Config) -> Any:
    """The process's client of ``service`` with ``config`` (the same object each time),
    created on first use and reused across invocations, as a module's default client."""
    with _lock:
        client = _shared.get((service, config))
        if client is None:
            client = _shared[(service, config)] = _create(service, config)
        return client


def _create(service: str, config: Config) -> Any:
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    return _session.create_client(service, config=config)
