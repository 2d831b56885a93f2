"""Claims on transaction ids across the files of one pipeline: the seen-ids table.

One item per id, keyed by a digest of the id (never the id itself, see :func:`id_digest`)::

    {"idHash": b"...16 bytes...", "jobId": "<job that accepted it>", "claimedAt": 1765100000,
     "expiresAt": 1772876000, "token": "<this claim's random token>"}

A job claims each id of its accepted rows with one conditional ``PutItem``: it succeeds when
no claim exists, the claim is the job's own (a retry, or a reprocess of the same job), or the
claim has expired (``expiresAt`` past: DynamoDB's TTL deletes items up to days late, so the
condition, not the deletion, is what ends the window). DynamoDB applies conditional writes on
one item one at a time, so of two jobs racing for an id exactly one write succeeds; the other
sees the winner's item (``ReturnValuesOnConditionCheckFailure``).

A claim held by a job that FAILED with no attempt that SUCCEEDED, or whose record is gone,
does not count: that job posted nothing (``aws.jobs.posted_nothing``). The claimant takes it
over with a write conditioned on the claim's ``token`` as it read it, so if the failed job
is reprocessed at the same moment (its own re-claim writes a new token) exactly one of the
two ends up holding the id. A claim held by a job still running or SUCCEEDED stands: the
row that meets it is a duplicate across files.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from etl_handlers import contract as env
from etl_handlers.aws.clients import create_client
from etl_handlers.aws.jobs import JobStore, posted_nothing
from etl_handlers.contract import (
    DEFAULT_SEEN_IDS_WINDOW_DAYS,
    DEFAULT_SEEN_IDS_WORKERS,
    SEEN_IDS_KEYS,
    SEEN_IDS_TTL_ATTRIBUTE,
)
from etl_handlers.core.errors import ConfigurationError

__all__ = ["Claim", "SeenIdStore", "id_digest", "seen_id_store_from_env"]

DIGEST_BYTES = 16
"""128 bits of HMAC-SHA-256: a false "duplicate" between two of 10^10 distinct ids has a
probability below 10^-18."""
_KEY = SEEN_IDS_KEYS[0][0]
_ROUNDS = 5  # item changes one id may go through while we claim it (each needs a writer)


def id_digest(value: str, *, salt: str) -> bytes:
    """The key an id is stored under: HMAC-SHA-256 of its UTF-8 bytes, keyed with ``salt``
    (the seen-ids table's name, so equal ids of two pipelines never share a digest),
    truncated to :data:`DIGEST_BYTES`."""
    data = value.encode("utf-8", "surrogatepass")
    return hmac.new(salt.encode("utf-8"), data, hashlib.sha256).digest()[:DIGEST_BYTES]


@dataclass(frozen=True)
class Claim:
    """The claim another job holds on an id: that job and when it claimed it."""

    job_id: str
    claimed_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SeenIdStore:
    """Claims ids for a job in the seen-ids table.

    ``window_days``: how long a claim counts; ``workers``: conditional writes in flight at
    once; ``jobs``: the job store, to tell a failed owner from a live one; ``client``: a
    low-level DynamoDB client safe to share between threads (default: one with a connection
    per worker); ``clock``: the current aware datetime (tests pin it).
    """

    def __init__(
        self,
        table_name: str,
        *,
        jobs: JobStore,
        window_days: int = DEFAULT_SEEN_IDS_WINDOW_DAYS,
        workers: int = DEFAULT_SEEN_IDS_WORKERS,
        client: Any = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if window_days < 1 or workers < 1:
            raise ConfigurationError("the seen-ids window and workers must be at least 1")
        self.table_name = table_name
        self.window_seconds = window_days * 86400
        self.workers = workers
        self._jobs = jobs
        self._client = client
        self._clock = clock
        self._released: dict[str, bool] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                max_pool_connections=self.workers,
            )
            self._client = create_client("dynamodb", config)
        return self._client

    def claim(self, job_id: str, ids: Sequence[str]) -> dict[int, Claim]:
        """Claim ``ids`` (distinct, non-empty) for ``job_id``; returns, by position in
        ``ids``, the claims of other jobs that stand: the rows to reject. Every other id is
        the job's when this returns (a repeated call returns the same answer)."""
        now = int(self._clock().timestamp())
        token = secrets.token_hex(8)
        self._released = {}  # an owner's status is read once per call, when first needed

        def one(position: int) -> tuple[int, Claim | None]:
            digest = id_digest(ids[position], salt=self.table_name)
            return position, self._claim_one(job_id, digest, now=now, token=token)

        if len(ids) <= 1 or self.workers == 1:
            answers = [one(position) for position in range(len(ids))]
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(ids))) as pool:
                answers = list(pool.map(one, range(len(ids))))
        return {position: claim for position, claim in answers if claim is not None}

    def _claim_one(self, job_id: str, digest: bytes, *, now: int, token: str) -> Claim | None:
        item = {
            _KEY: {"B": digest},
            "jobId": {"S": job_id},
            "claimedAt": {"N": str(now)},
            SEEN_IDS_TTL_ATTRIBUTE: {"N": str(now + self.window_seconds)},
            "token": {"S": token},
        }
        condition = (
            f"attribute_not_exists({_KEY}) OR jobId = :me OR {SEEN_IDS_TTL_ATTRIBUTE} <= :now"
        )
        extra: dict[str, Any] = {
            "ExpressionAttributeValues": {":me": {"S": job_id}, ":now": {"N": str(now)}}
        }
        held: Mapping[str, Any] | None = None
        taking_over = False
        for _ in range(_ROUNDS):
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **extra,
                )
                return None
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                held = exc.response.get("Item") or self._read(digest)
            if held is None:  # deleted in between (TTL): claim it as new
                condition, extra = f"attribute_not_exists({_KEY})", {}
                continue
            owner = held["jobId"]["S"]
            expired = int(held[SEEN_IDS_TTL_ATTRIBUTE]["N"]) <= now
            # A takeover that failed met a new claim: its owner's status is read afresh
            # (a failed job that is reprocessed re-claims its ids once it runs again).
            if (
                owner != job_id
                and not expired
                and not self._owner_released(owner, fresh=taking_over)
            ):
                return _claim_of(held)
            taking_over = True
            # The holder failed (or the claim expired, or it is ours from a concurrent
            # attempt): take it over unless someone changed it since we read it.
            condition = "#token = :held"
            extra = {
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":held": held["token"]},
            }
        assert held is not None
        return _claim_of(held)  # pragma: no cover - five writers changed one id meanwhile

    def _read(self, digest: bytes) -> Mapping[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={_KEY: {"B": digest}}, ConsistentRead=True
        )
        return response.get("Item")

    def _owner_released(self, owner: str, *, fresh: bool = False) -> bool:
        """Whether ``owner``'s claims no longer count (:func:`posted_nothing`: its job FAILED
        with no attempt that SUCCEEDED, or is gone), read once per :meth:`claim`, unless
        ``fresh``."""
        with self._lock:
            known = None if fresh else self._released.get(owner)
        if known is None:
            known = posted_nothing(self._jobs.get(owner))
            with self._lock:
                self._released[owner] = known
        return known


def _claim_of(item: Mapping[str, Any]) -> Claim:
    return Claim(
        job_id=item["jobId"]["S"],
        claimed_at=datetime.fromtimestamp(int(item["claimedAt"]["N"]), UTC),
    )


def seen_id_store_from_env(jobs: JobStore) -> SeenIdStore | None:
    """The store ``ETL_SEEN_IDS_*`` describe, or None when the check is off (no table)."""
    table = os.environ.get(env.SEEN_IDS_TABLE)
    if not table:
        return None
    settings = {}
    for name, default in (
        (env.SEEN_IDS_WINDOW_DAYS, DEFAULT_SEEN_IDS_WINDOW_DAYS),
        (env.SEEN_IDS_WORKERS, DEFAULT_SEEN_IDS_WORKERS),
    ):
        raw = (os.environ.get(name) or "").strip() or str(default)
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigurationError(f"{name}={raw!r} is not a whole number of at least 1")
        settings[name] = int(raw)
    return SeenIdStore(
        table,
        jobs=jobs,
        window_days=settings[env.SEEN_IDS_WINDOW_DAYS],
        workers=settings[env.SEEN_IDS_WORKERS],
    )
