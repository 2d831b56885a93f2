"""The failure branch's multipart copy of a source above 5 GiB (moto S3, small parts)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from etl_handlers.app import failed_copy, modes
from etl_handlers.aws import s3io
from etl_handlers.aws.s3io import MiB
from etl_handlers.core import keys
from etl_handlers.core.errors import ConfigurationError, TransientError
from etl_handlers.validator import handler as validator

from .handlers_testkit import BUCKET, REGION, FakeContext, read

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

KEY = "raw/2026/big.csv"
JOB = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """5 MiB parts (S3's minimum), so an 11 MiB object takes three UploadPartCopy calls."""
    monkeypatch.setattr(failed_copy, "PART_SIZE", 5 * MiB)


class Calls:
    """Passes every call to the real (moto) client and records the names and arguments."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return attribute(*args, **kwargs)

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def event(version_id: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "copy-failed",
        "jobId": JOB,
        "bucket": BUCKET,
        "key": KEY,
        "versionId": version_id,
        "fileName": KEY,
        **extra,
    }


def test_copies_the_jobs_version_in_parts_with_the_buckets_kms_encryption(
    versioned_s3: Any, small_parts: None
) -> None:
    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key()["KeyMetadata"]["Arn"]
    versioned_s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_id,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    body = bytes(range(256)) * (11 * MiB // 256)
    first = versioned_s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)["VersionId"]
    versioned_s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"a later upload")
    client = Calls(versioned_s3)

    result = failed_copy.copy_to_failed(
        event(first, failedKey="failed/elsewhere.csv"), s3=client, data_bucket=BUCKET
    )

    assert result == {"failedKey": keys.failed_key(JOB, KEY), "bytes": len(body)}
    assert read(versioned_s3, result["failedKey"]) == body  # the job's version, not the latest
    assert client.names().count("upload_part_copy") == 3 and "copy_object" not in client.names()
    sources = [kw["CopySource"] for name, kw in client.calls if name == "upload_part_copy"]
    assert all(source["VersionId"] == first for source in sources)
    # no encryption settings of its own: S3 applies the bucket's default, its KMS key
    (create,) = [kw for name, kw in client.calls if name == "create_multipart_upload"]
    assert not {k for k in create if k.startswith("SSE") or k == "ServerSideEncryption"}
    head = versioned_s3.head_object(Bucket=BUCKET, Key=result["failedKey"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_id
    assert versioned_s3.list_objects_v2(Bucket=BUCKET, Prefix="failed/")["KeyCount"] == 1


def test_an_unversioned_source_is_copied_as_it_stands(s3: Any, small_parts: None) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"id,amount\n1,2\n")
    result = failed_copy.copy_to_failed(event(None), s3=s3, data_bucket=BUCKET)
    assert read(s3, result["failedKey"]) == b"id,amount\n1,2\n"


def test_a_source_gone_leaves_nothing_in_failed(versioned_s3: Any, small_parts: None) -> None:
    version = versioned_s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x" * (11 * MiB))["VersionId"]
    versioned_s3.delete_object(Bucket=BUCKET, Key=KEY, VersionId=version)
    with pytest.raises(ClientError) as raised:
        failed_copy.copy_to_failed(event(version), s3=versioned_s3, data_bucket=BUCKET)
    assert not isinstance(raised.value, TransientError)
    assert versioned_s3.list_objects_v2(Bucket=BUCKET, Prefix="failed/")["KeyCount"] == 0


def test_a_part_that_fails_aborts_the_copy_and_is_transient(
    versioned_s3: Any, small_parts: None
) -> None:
    body = b"y" * (11 * MiB)
    version = versioned_s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)["VersionId"]

    class SlowDownOnPart(Calls):
        def __getattr__(self, name: str) -> Any:
            if name == "upload_part_copy":

                def refuse(**kwargs: Any) -> Any:
                    raise ClientError({"Error": {"Code": "SlowDown"}}, "UploadPartCopy")

                return refuse
            return super().__getattr__(name)

    client = SlowDownOnPart(versioned_s3)
    with pytest.raises(TransientError, match=r"copy to failed/.*SlowDown"):
        failed_copy.copy_to_failed(event(version), s3=client, data_bucket=BUCKET)
    assert "abort_multipart_upload" in client.names()
    assert versioned_s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert versioned_s3.list_objects_v2(Bucket=BUCKET, Prefix="failed/")["KeyCount"] == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jobId": "../../x"}, "job's id"),
        ({"bucket": "someone-elses"}, "another bucket"),
        ({"key": "enriched/x/y.jsonl"}, "not a pipeline input"),
        ({"key": None}, "not a pipeline input"),
    ],
)
def test_an_event_not_of_a_job_of_this_bucket_is_refused(
    s3: Any, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        failed_copy.copy_to_failed({**event(None), **changes}, s3=s3, data_bucket=BUCKET)
    with pytest.raises(ValueError, match="JSON object"):
        failed_copy.copy_to_failed([], s3=s3, data_bucket=BUCKET)  # type: ignore[arg-type]


def test_without_a_data_bucket_setting(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_DATA_BUCKET")
    with pytest.raises(ConfigurationError, match="ETL_DATA_BUCKET"):
        failed_copy.copy_to_failed(event(None), s3=s3)


def test_the_validator_runs_the_copy_for_the_failure_branch(s3: Any, small_parts: None) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"id\n1\n")
    assert modes.mode_of(event(None)) == modes.COPY_FAILED
    result = validator.lambda_handler(event(None), FakeContext())
    assert result == {"failedKey": keys.failed_key(JOB, KEY), "bytes": 5}
    assert read(s3, result["failedKey"]) == b"id\n1\n"


def test_copy_object_counts_what_it_copied(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"12345")
    assert s3io.copy_object(BUCKET, "raw/a.csv", BUCKET, "failed/j/a.csv", client=s3) == 5
