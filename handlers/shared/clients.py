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
from typing import TYPE_CHECKING, Any

import botocore.session

if TYPE_CHECKING:
    from botocore.config import Config

_lock = threading.Lock()
_session: botocore.session.Session | None = None

__all__ = ["create_client"]


def create_client(service: str, config: Config) -> Any:
    """A new low-level client of ``service`` (``"s3"``, ``"dynamodb"``...) from the shared
    session, created on first use: like boto3's default session, it loads botocore's
    endpoint and service data once for every client of the process."""
    global _session
    with _lock:  # a botocore session is not safe to create clients from in parallel
        if _session is None:
            _session = botocore.session.get_session()
        return _session.create_client(service, config=config)
