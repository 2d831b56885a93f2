"""Streaming reads and all-or-nothing writes against moto S3."""

from __future__ import annotations

import io
from typing import Any

import pytest
from etl_handlers.aws import clients, s3io
from etl_handlers.aws.s3io import MiB, MultipartWriter, ObjectChanged, ObjectNotFound

from .handlers_testkit import BUCKET, all_keys, read


class CountingClient:
    """Passes every call to the real (moto) client and counts them by name."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return call


def pending_uploads(s3: Any) -> list[Any]:
    return s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def test_open_object_streams_in_chunks(s3: Any) -> None:
    body = b"".join(f"line {n}\n".encode() for n in range(50_000))
    s3.put_object(Bucket=BUCKET, Key="raw/big.csv", Body=body)
    with s3io.open_object(BUCKET, "raw/big.csv", client=s3, buffer_size=4096) as stream:
        assert stream.readline() == b"line 0\n"
        chunks = [stream.read(1000) for _ in range(3)]
        assert all(len(c) == 1000 for c in chunks)
        rest = stream.read()
    assert b"line 0\n" + b"".join(chunks) + rest == body


def test_open_object_reads_the_requested_version(versioned_s3: Any) -> None:
    first = versioned_s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"v1")["VersionId"]
    versioned_s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"v2")
    with s3io.open_object(BUCKET, "raw/a.csv", version_id=first, client=versioned_s3) as s:
        assert s.read() == b"v1"


def test_open_object_missing(s3: Any) -> None:
    with pytest.raises(ObjectNotFound):
        s3io.open_object(BUCKET, "raw/none.csv", client=s3)
    with pytest.raises(ObjectNotFound):
        s3io.open_object(BUCKET, "raw/none.csv", client=s3, seekable=True)


def test_open_object_notices_an_overwrite_by_etag(s3: Any) -> None:
    etag = s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"old")["ETag"]
    with s3io.open_object(BUCKET, "raw/a.csv", if_match=etag, client=s3) as stream:
        assert stream.read() == b"old"
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"new")
    with pytest.raises(ObjectChanged):
        s3io.open_object(BUCKET, "raw/a.csv", if_match=etag, client=s3)
    with pytest.raises(ObjectChanged):
        s3io.open_object(BUCKET, "raw/a.csv", if_match=etag, client=s3, seekable=True)


def test_other_read_errors_pass_through(s3: Any) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        s3io.open_object("no-such-bucket", "raw/a.csv", client=s3)


def test_seekable_reader_uses_ranged_gets(s3: Any) -> None:
    body = bytes(range(256)) * 100
    s3.put_object(Bucket=BUCKET, Key="processed/x.parquet", Body=body)
    counting = CountingClient(s3)
    with s3io.open_object(
        BUCKET, "processed/x.parquet", client=counting, seekable=True, buffer_size=1024
    ) as stream:
        assert stream.seekable()
        stream.seek(-10, io.SEEK_END)
        assert stream.read() == body[-10:]
        stream.seek(300)
        assert stream.read(5) == body[300:305]
        stream.seek(5, io.SEEK_CUR)
        assert stream.tell() == 310
        assert stream.read(3) == body[310:313]
        stream.seek(len(body) + 5)
        assert stream.read(4) == b""
        with pytest.raises(ValueError):
            stream.seek(-1)
    assert counting.calls.count("get_object") >= 2


def test_seekable_reader_rejects_a_bad_whence(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"abc")
    stream = s3io.open_object(BUCKET, "a", client=s3, seekable=True)
    with pytest.raises(ValueError, match="whence"):
        stream.raw.seek(0, 7)
    assert stream.raw.seek(1) == 1
    assert stream.raw.seek(1, io.SEEK_CUR) == 2
    assert stream.raw.read(5) == b"c"


def test_seekable_reader_pins_the_version(versioned_s3: Any) -> None:
    first = versioned_s3.put_object(Bucket=BUCKET, Key="p", Body=b"first")["VersionId"]
    versioned_s3.put_object(Bucket=BUCKET, Key="p", Body=b"second!")
    with s3io.open_object(BUCKET, "p", version_id=first, client=versioned_s3, seekable=True) as s:
        assert s.read() == b"first"


def test_head_object(s3: Any, versioned_s3: Any) -> None:
    assert s3io.head_object(BUCKET, "raw/none.csv", client=s3) is None
    response = s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"12345")
    info = s3io.head_object(BUCKET, "raw/a.csv", client=s3)
    assert info is not None
    assert info.etag == response["ETag"].strip('"')
    assert info.size == 5
    assert info.version_id == response["VersionId"]
    assert info.version == info.version_id
    assert s3io.head_object(BUCKET, "raw/a.csv", version_id="nope", client=s3) is None


def test_head_object_unversioned_uses_the_etag(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"12345")
    info = s3io.head_object(BUCKET, "raw/a.csv", client=s3)
    assert info is not None and info.version_id is None
    assert info.version == info.etag and '"' not in info.etag


def test_head_object_other_errors_pass_through(s3: Any) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        s3io.head_object("no-such-bucket", "k", client=s3)


def test_version_and_etag_normalization() -> None:
    assert s3io.normalize_version_id("null") is None
    assert s3io.normalize_version_id("") is None
    assert s3io.normalize_version_id("abc") == "abc"
    assert s3io.normalize_etag('"abc"') == "abc"
    assert s3io.normalize_etag(None) == ""


def test_small_output_is_one_put(s3: Any) -> None:
    counting = CountingClient(s3)
    with MultipartWriter(BUCKET, "out/a.jsonl", client=counting, content_type="x/y") as w:
        w.write(b"hello ")
        w.write(memoryview(b"world"))
        assert not w.committed
        assert w.tell() == 11
    assert w.committed
    assert read(s3, "out/a.jsonl") == b"hello world"
    assert counting.calls == ["put_object"]
    assert s3.head_object(Bucket=BUCKET, Key="out/a.jsonl")["ContentType"] == "x/y"


def test_empty_output_is_an_empty_object(s3: Any) -> None:
    with MultipartWriter(BUCKET, "out/empty", client=s3):
        pass
    assert read(s3, "out/empty") == b""


def test_large_output_is_multipart_in_parts_of_the_minimum_size(s3: Any) -> None:
    counting = CountingClient(s3)
    chunk = b"x" * MiB
    with MultipartWriter(BUCKET, "out/big", client=counting, part_size=5 * MiB) as writer:
        for _ in range(11):
            writer.write(chunk)
        assert not s3.list_objects_v2(Bucket=BUCKET, Prefix="out/big").get("Contents")
    assert counting.calls.count("upload_part") == 3
    assert counting.calls[-1] == "complete_multipart_upload"
    assert s3.head_object(Bucket=BUCKET, Key="out/big")["ContentLength"] == 11 * MiB
    assert pending_uploads(s3) == []


def _crc32(data: bytes) -> str:
    import base64
    import zlib

    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("size", [11, 11 * MiB + 3])
def test_every_write_carries_the_crc32_of_its_bytes(aws: None, size: int) -> None:
    """S3 checks a body against its x-amz-checksum-crc32 header before storing it; the body
    goes out as it is (no aws-chunked framing), unsigned as the SDK's trailer is, over TLS;
    a multipart object gets a full-object CRC32 the SDK checks on read."""
    client = clients.create_client("s3", s3io.CLIENT_CONFIG)
    client.create_bucket(Bucket=BUCKET)
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    def record(request: Any, **_: Any) -> None:
        body = request.body
        body = body.getvalue() if hasattr(body, "getvalue") else body
        headers = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        if request.method == "PUT" and body:  # the object's bytes, not the XML of a request
            sent.append((request.url, body, headers))

    client.meta.events.register("before-send.s3.*", record)
    data = bytes(range(256)) * (size // 256) + b"\n" * (size % 256)
    with MultipartWriter(BUCKET, "out/crc", client=client, part_size=5 * MiB) as writer:
        for start in range(0, size, 3 * MiB):
            writer.write(bytearray(data[start : start + 3 * MiB]))
    assert b"".join(body for _, body, _ in sent) == data
    for url, body, headers in sent:
        assert url.startswith("https://")
        assert headers["x-amz-checksum-crc32"] == _crc32(body)
        assert headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
        assert "aws-chunked" not in headers.get("Content-Encoding", "")
    assert len(sent) == (1 if size < 5 * MiB else 2)  # 6 MiB, then 5 MiB and 3 bytes
    got = client.get_object(Bucket=BUCKET, Key="out/crc", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == _crc32(data)
    assert got["Body"].read() == data
    if size > 5 * MiB:
        assert got["ChecksumType"] == "FULL_OBJECT"


def test_a_written_buffer_may_be_reused_at_once(s3: Any) -> None:
    """The writer keeps what it was given only when that cannot change (bytes)."""
    buffer = bytearray(b"first ")
    with MultipartWriter(BUCKET, "out/reuse", client=s3) as writer:
        writer.write(buffer)
        buffer[:] = b"second"
        writer.write(memoryview(buffer))
        buffer[:] = b"XXXXXX"
    assert read(s3, "out/reuse") == b"first second"


def test_output_of_exactly_one_part(s3: Any) -> None:
    with MultipartWriter(BUCKET, "out/one", client=s3, part_size=5 * MiB) as writer:
        writer.write(b"y" * (5 * MiB))
    assert s3.head_object(Bucket=BUCKET, Key="out/one")["ContentLength"] == 5 * MiB


def test_an_exception_leaves_no_object_and_no_upload(s3: Any) -> None:
    with (
        pytest.raises(RuntimeError),
        MultipartWriter(BUCKET, "out/big", client=s3, part_size=5 * MiB) as writer,
    ):
        writer.write(b"x" * (6 * MiB))
        assert len(pending_uploads(s3)) == 1
        raise RuntimeError("step failed")
    assert writer.aborted
    assert all_keys(s3) == []
    assert pending_uploads(s3) == []


def test_explicit_abort_discards(s3: Any) -> None:
    with MultipartWriter(BUCKET, "out/a", client=s3) as writer:
        writer.write(b"partial")
        writer.abort()
        writer.abort()
    assert all_keys(s3) == []
    with pytest.raises(ValueError, match="aborted"):
        writer.commit()
    with pytest.raises(ValueError):
        writer.write(b"more")


def test_close_neither_commits_nor_aborts(s3: Any) -> None:
    with MultipartWriter(BUCKET, "out/t.csv", client=s3) as writer:
        text = io.TextIOWrapper(writer, encoding="utf-8")
        text.write("a,b\n")
        text.close()  # closes the writer too, as a careless wrapper would
        assert all_keys(s3) == []
        with pytest.raises(ValueError):
            writer.write(b"late")
    assert read(s3, "out/t.csv") == b"a,b\n"


def test_commit_is_idempotent(s3: Any) -> None:
    writer = MultipartWriter(BUCKET, "out/a", client=s3)
    writer.write(b"1")
    writer.commit()
    writer.commit()
    writer.abort()  # too late: nothing to discard
    assert read(s3, "out/a") == b"1"
    assert writer.writable() and not writer.seekable()


def test_a_failed_commit_aborts(s3: Any) -> None:
    from botocore.exceptions import ClientError

    writer = MultipartWriter("no-such-bucket", "out/a", client=s3)
    writer.write(b"1")
    with pytest.raises(ClientError):
        writer.commit()
    assert writer.aborted


def test_abort_failures_do_not_hide_the_original_error(s3: Any) -> None:
    class FailingAbort(CountingClient):
        def abort_multipart_upload(self, **kwargs: Any) -> None:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InternalError"}}, "AbortMultipartUpload")

    with (
        pytest.raises(KeyError),
        MultipartWriter(BUCKET, "out/b", client=FailingAbort(s3), part_size=5 * MiB) as writer,
    ):
        writer.write(b"x" * (5 * MiB))
        raise KeyError("original")


def test_part_size_below_the_s3_minimum_is_refused(s3: Any) -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        MultipartWriter(BUCKET, "k", client=s3, part_size=MiB)


def test_copy_object(versioned_s3: Any) -> None:
    first = versioned_s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"v1")["VersionId"]
    versioned_s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"v2")
    s3io.copy_object(
        BUCKET, "raw/a.csv", BUCKET, "failed/j/a.csv", version_id=first, client=versioned_s3
    )
    s3io.copy_object(BUCKET, "raw/a.csv", BUCKET, "failed/j/latest.csv", client=versioned_s3)
    assert read(versioned_s3, "failed/j/a.csv") == b"v1"
    assert read(versioned_s3, "failed/j/latest.csv") == b"v2"


def test_copy_object_is_managed_with_a_plain_botocore_client(s3: Any) -> None:
    """The module's clients are botocore's, without boto3's ``copy``: copy_object still
    copies an object past the 8 MiB multipart threshold in parts (as it must past 5 GB)."""
    client = CountingClient(clients.create_client("s3", s3io.CLIENT_CONFIG))
    assert not hasattr(client, "copy")
    body = bytes(range(256)) * (9 * MiB // 256)
    s3.put_object(Bucket=BUCKET, Key="raw/big.csv", Body=body)
    s3io.copy_object(BUCKET, "raw/big.csv", BUCKET, "failed/j/big.csv", client=client)
    assert read(s3, "failed/j/big.csv") == body
    assert "upload_part_copy" in client.calls and "copy_object" not in client.calls


def test_default_client_is_created_once(aws: None) -> None:
    assert s3io.default_client() is s3io.default_client()
    assert type(s3io.default_client()).__module__ == "botocore.client"


def test_delete_keys_sends_batches_of_a_thousand_and_stops_at_a_refusal() -> None:
    class Client:
        def __init__(self, refuse: set[str]) -> None:
            self.batches: list[list[str]] = []
            self.refuse = refuse

        def delete_objects(self, *, Bucket: str, Delete: dict) -> dict:
            batch = [o["Key"] for o in Delete["Objects"]]
            self.batches.append(batch)
            return {
                "Errors": [{"Key": k, "Code": "AccessDenied"} for k in batch if k in self.refuse]
            }

    keys = [f"k{n:04d}" for n in range(2500)]
    client = Client(set())
    assert s3io.delete_keys("b", keys, client=client) == (keys, [])
    assert [len(b) for b in client.batches] == [1000, 1000, 500]
    client = Client({"k1500"})
    deleted, refused = s3io.delete_keys("b", keys, client=client)
    assert refused == ["k1500"] and len(client.batches) == 2  # the third request not sent
    assert deleted == [k for k in keys[:2000] if k != "k1500"]
    assert s3io.delete_keys("b", [], client=client) == ([], [])


def test_list_keys_reads_every_page(s3: Any) -> None:
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"p/{n}", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="q/0", Body=b"x")
    assert list(s3io.list_keys(BUCKET, "p/", client=s3)) == ["p/0", "p/1", "p/2"]
