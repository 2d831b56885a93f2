"""Streaming S3 reads, all-or-nothing S3 writes, copies and object metadata.

Files can be larger than a Lambda's memory, so nothing here holds a whole object: reads
are a buffered stream over the GetObject body, writes go out as multipart parts of at
least 8 MiB. A write becomes visible only when it is committed (the multipart upload is
completed on a clean exit of the ``with`` block); an exception aborts it, so a failed
attempt never leaves a partial object behind, and a retried step overwrites the same key.

Every write carries the CRC32 of its bytes in a header (``x-amz-checksum-crc32``), which S3
checks before it stores them; multipart objects get a full-object CRC32 (S3 combines the
parts'), which the SDK checks again on every read. The checksum is computed once over each
part in hand, so the body goes out as it is (the SDK's default, a checksum trailer, frames
every body in ``aws-chunked`` encoding and hashes it a MiB at a time).
"""

from __future__ import annotations

import base64
import contextlib
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from etl_handlers.aws.clients import RETRYING, shared_client

if TYPE_CHECKING:
    from types import TracebackType

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
"""Minimum size of every multipart part but the last (S3 requires at least 5 MiB)."""
READ_BUFFER_SIZE = 1 * MiB

CLIENT_CONFIG = RETRYING.merge(Config(s3={"payload_signing_enabled": False}))
"""The handlers' retries; bodies are not SHA-256 signed: every write carries its CRC32 and
goes over TLS, as the SDK's own checksum trailer does (unsigned). botocore signs a body
whose checksum the caller computed, a second pass over every byte, unless told not to."""

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})


__all__ = [
    "PART_SIZE",
    "MiB",
    "MultipartWriter",
    "ObjectChanged",
    "ObjectInfo",
    "ObjectNotFound",
    "copy_object",
    "crc32_header",
    "default_client",
    "delete_keys",
    "head_object",
    "list_keys",
    "normalize_etag",
    "normalize_version_id",
    "open_object",
]


def crc32_header(data: bytes) -> str:
    """The value of an ``x-amz-checksum-crc32`` header for ``data`` (base64, big-endian)."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode("ascii")


class ObjectNotFound(LookupError):
    """The object (or the requested version of it) does not exist."""


class ObjectChanged(Exception):
    """The object no longer has the ETag the caller expected (it was overwritten)."""


def default_client() -> Any:
    """The module's S3 client, created on first use and reused across invocations."""
    return shared_client("s3", CLIENT_CONFIG)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class ObjectInfo:
    """What the pipeline needs to know about one object version.

    ``version_id`` is None for an unversioned bucket (S3 reports the version ``"null"``
    for objects written while versioning was off or suspended; that is not an identity).
    ``etag`` is without the surrounding quotes, as S3 event notifications carry it.
    """

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int

    @property
    def version(self) -> str:
        """The version that identifies the job: the version id, else the ETag."""
        return self.version_id or self.etag


def normalize_version_id(version_id: str | None) -> str | None:
    """Map S3's ``"null"`` version (unversioned or suspended bucket) and empty to None."""
    if not version_id or version_id == "null":
        return None
    return version_id


def normalize_etag(etag: str | None) -> str:
    """Strip the quotes S3 puts around ETags in API responses."""
    return (etag or "").strip('"')


def head_object(
    bucket: str, key: str, *, version_id: str | None = None, client: Any = None
) -> ObjectInfo | None:
    """Return the object's metadata, or None when it (or that version) does not exist."""
    client = client or default_client()
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    try:
        response = client.head_object(**params)
    except ClientError as exc:
        # HEAD has no body, so a missing object is a bare 404; a version id S3 cannot
        # parse comes back as 400.
        if _error_code(exc) in _NOT_FOUND_CODES | {"400", "InvalidArgument"}:
            return None
        raise
    return ObjectInfo(
        bucket=bucket,
        key=key,
        version_id=normalize_version_id(response.get("VersionId")),
        etag=normalize_etag(response.get("ETag")),
        size=int(response.get("ContentLength") or 0),
    )


class _BodyReader(io.RawIOBase):
    """A raw binary stream over a botocore ``StreamingBody`` (which lacks ``readinto``)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        size = len(data)
        view[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class _RangeReader(io.RawIOBase):
    """A seekable raw stream over one object version, one ranged GET per read.

    For formats that need random access (Parquet keeps its metadata in a footer); every
    read is pinned to the version or ETag found on open, so the bytes cannot change
    underneath the reader.
    """

    def __init__(self, client: Any, params: dict[str, Any], size: int) -> None:
        self._client = client
        self._params = params
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view) or self._position >= self._size:
            return 0
        end = min(self._position + len(view), self._size) - 1
        response = _get(self._client, {**self._params, "Range": f"bytes={self._position}-{end}"})
        data = response["Body"].read()
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


def _get(client: Any, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return client.get_object(**params)  # type: ignore[no-any-return]
    except ClientError as exc:
        where = f"s3://{params['Bucket']}/{params['Key']}"
        code = _error_code(exc)
        if code in _NOT_FOUND_CODES:
            raise ObjectNotFound(f"{where} does not exist") from exc
        if code in _CHANGED_CODES:
            raise ObjectChanged(f"{where} changed since the job started") from exc
        raise


def open_object(
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    if_match: str | None = None,
    client: Any = None,
    buffer_size: int = READ_BUFFER_SIZE,
    seekable: bool = False,
    byte_range: tuple[int, int] | None = None,
) -> io.BufferedReader:
    """Open one object (version) as a buffered binary stream; close it when done.

    ``if_match`` pins an unversioned object to the ETag the job was created for, so a file
    overwritten in the meantime is noticed instead of processed under the wrong job.
    ``seekable`` gives random access through ranged GETs (for Parquet input) instead of one
    sequential stream. ``byte_range`` ``(start, end)`` reads bytes ``start`` .. ``end - 1``
    only (a non-empty range; not with ``seekable``). Raises :class:`ObjectNotFound` or
    :class:`ObjectChanged`; other errors pass through.
    """
    client = client or default_client()
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    if if_match:
        params["IfMatch"] = f'"{normalize_etag(if_match)}"'
    if byte_range is not None:
        start, end = byte_range
        if not 0 <= start < end or seekable:
            raise ValueError(f"cannot read bytes {start}-{end - 1} of s3://{bucket}/{key}")
        params["Range"] = f"bytes={start}-{end - 1}"
    if not seekable:
        response = _get(client, params)
        return io.BufferedReader(_BodyReader(response["Body"]), buffer_size=buffer_size)
    info = head_object(bucket, key, version_id=version_id, client=client)
    if info is None:
        raise ObjectNotFound(f"s3://{bucket}/{key} does not exist")
    if if_match and info.etag != normalize_etag(if_match):
        raise ObjectChanged(f"s3://{bucket}/{key} changed since the job started")
    if not version_id:
        params["IfMatch"] = f'"{info.etag}"'
    return io.BufferedReader(_RangeReader(client, params, info.size), buffer_size=buffer_size)


class MultipartWriter(io.RawIOBase):
    """A writable binary stream that becomes one S3 object only when committed.

    Use it as a context manager: a clean exit commits (completes the multipart upload, or
    puts the object in one request when it stayed below one part), an exception aborts.
    Call :meth:`abort` inside the block to discard the output without an exception.
    ``close()`` only stops further writes (a text wrapper closing its buffer must not
    commit or discard anything); the ``with`` block decides. Memory use is bounded by
    about one part. Multipart uploads a crashed process could not abort are removed by
    the bucket's ``AbortIncompleteMultipartUpload`` lifecycle rule.
    """

    def __init__(
        self,
        bucket: str,
        key: str,
        *,
        client: Any = None,
        part_size: int = PART_SIZE,
        content_type: str = "application/octet-stream",
    ) -> None:
        super().__init__()
        if part_size < 5 * MiB:
            raise ValueError("part_size must be at least 5 MiB (the S3 minimum part size)")
        self.bucket = bucket
        self.key = key
        self._client = client or default_client()
        self._part_size = part_size
        self._content_type = content_type
        self._pending: list[bytes] = []  # written since the last part, not yet sent
        self._pending_size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._state = "open"
        self.bytes_written = 0

    @property
    def committed(self) -> bool:
        """Whether the object exists now (the write was committed)."""
        return self._state == "committed"

    @property
    def aborted(self) -> bool:
        """Whether the write was discarded."""
        return self._state == "aborted"

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        """Bytes written so far (writers such as Parquet's ask for the position)."""
        return self.bytes_written

    def write(self, data: Any) -> int:
        if self.closed or self._state != "open":
            raise ValueError(f"write to a {self._state} or closed writer for {self.key}")
        # bytes are immutable, so kept as they are; anything else may be a caller's
        # buffer, reused once this returns
        chunk = data if type(data) is bytes else memoryview(data).cast("B").tobytes()
        size = len(chunk)
        if size:
            self._pending.append(chunk)
            self._pending_size += size
            self.bytes_written += size
        if self._pending_size >= self._part_size:
            self._upload_part()
        return size

    def _take_pending(self) -> bytes:
        pending = self._pending
        body = pending[0] if len(pending) == 1 else b"".join(pending)
        self._pending, self._pending_size = [], 0
        return body

    def _upload_part(self) -> None:
        if self._upload_id is None:
            response = self._client.create_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                ContentType=self._content_type,
                ChecksumAlgorithm="CRC32",
                ChecksumType="FULL_OBJECT",
            )
            self._upload_id = response["UploadId"]
        number = len(self._parts) + 1
        body = self._take_pending()
        checksum = crc32_header(body)
        response = self._client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="CRC32",
            ChecksumCRC32=checksum,
        )
        self._parts.append(
            {"PartNumber": number, "ETag": response["ETag"], "ChecksumCRC32": checksum}
        )

    def commit(self) -> None:
        """Make the object visible. Idempotent once committed; an aborted writer raises."""
        if self._state == "committed":
            return
        if self._state != "open":
            raise ValueError(f"cannot commit an aborted write to {self.key}")
        try:
            if self._upload_id is None:
                body = self._take_pending()
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=body,
                    ContentType=self._content_type,
                    ChecksumAlgorithm="CRC32",
                    ChecksumCRC32=crc32_header(body),
                )
            else:
                if self._pending or not self._parts:
                    self._upload_part()
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        super().close()

    def abort(self) -> None:
        """Discard everything written; no object appears. Safe to call more than once."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._pending, self._pending_size = [], 0
        upload_id, self._upload_id = self._upload_id, None
        super().close()
        if upload_id is not None:
            # Best effort: the lifecycle rule removes what could not be aborted here, and
            # the caller's original error matters more than this one.
            with contextlib.suppress(ClientError, BotoCoreError):
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id
                )

    def close(self) -> None:
        """Stop accepting writes; neither commits nor aborts (the ``with`` block does)."""
        super().close()

    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.commit()


def copy_object(
    source_bucket: str,
    source_key: str,
    dest_bucket: str,
    dest_key: str,
    *,
    version_id: str | None = None,
    client: Any = None,
    part_size: int = PART_SIZE,
    concurrency: int = 10,
) -> int:
    """Copy one object (version) server-side; managed, so objects over 5 GB work too.
    Returns the bytes copied.

    Objects of more than ``part_size`` bytes are copied in parts of ``part_size`` bytes
    (``UploadPartCopy``, ``concurrency`` at a time; boto3 makes the parts bigger when more
    than S3's 10,000 would be needed), and a copy that fails midway is aborted. No
    encryption settings are passed: the copy gets the destination bucket's default
    encryption. The managed copy is boto3's (what ``client.copy`` is on a boto3 S3 client),
    imported here, on use: only the failure branch's big copies pay for importing boto3's
    transfer manager.
    """
    from boto3.s3.inject import copy as managed_copy
    from boto3.s3.transfer import TransferConfig

    client = client or default_client()
    source: dict[str, str] = {"Bucket": source_bucket, "Key": source_key}
    if version_id:
        source["VersionId"] = version_id
    config = TransferConfig(
        multipart_threshold=part_size,
        multipart_chunksize=part_size,
        max_concurrency=concurrency,
    )
    copied = [0]

    def count(amount: int) -> None:
        copied[0] += amount

    managed_copy(client, source, dest_bucket, dest_key, Callback=count, Config=config)
    return copied[0]


#: Keys one DeleteObjects request may name (S3's limit).
DELETE_BATCH = 1000


def list_keys(bucket: str, prefix: str, *, client: Any = None) -> Iterator[str]:
    """Every key under ``prefix``, in S3's (UTF-8 binary) order, page by page."""
    client = client or default_client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def delete_keys(
    bucket: str, keys: Iterable[str], *, client: Any = None
) -> tuple[list[str], list[str]]:
    """Delete ``keys`` (their current versions) in DeleteObjects requests of
    :data:`DELETE_BATCH` keys; returns ``(deleted, refused)``: the keys S3 deleted and those
    it refused (the request after a refusal is not sent: its keys are in neither list)."""
    client = client or default_client()
    pending, deleted = list(keys), []
    for start in range(0, len(pending), DELETE_BATCH):
        batch = pending[start : start + DELETE_BATCH]
        response = client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        refused = {e.get("Key") for e in response.get("Errors") or []}
        deleted += [k for k in batch if k not in refused]
        if refused:
            return deleted, sorted(refused)
    return deleted, []
