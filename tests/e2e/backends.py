"""The pipeline's public doors, offline (moto) or on a deployed stack.

End-to-end tests speak only through these: put an object in the bucket, wait for its job,
read objects, call the API, run the quality check. ``LocalBackend`` drives the synthesized
example app in moto; ``LiveBackend`` drives a deployment described by
``cfn-outputs/flat-outputs.json`` (written by ``make deploy``).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl_constructs.local import LocalPipeline

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS_FILE = ROOT / "cfn-outputs" / "flat-outputs.json"


class LocalBackend:
    name = "local"
    can_inject_faults = True

    def __init__(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        self.s3 = pipeline.s3
        self.bucket = pipeline.bucket

    def put(self, key: str, body: bytes) -> tuple[str, str | None]:
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key, response.get("VersionId")

    def wait(self, key: str, version: str | None, timeout: float = 60) -> dict[str, Any]:
        job = self.pipeline.wait([(key, version)], timeout=timeout)[(key, version)]
        assert job is not None, f"no job for {key}"
        return job

    def jobs_for(self, key: str) -> list[dict[str, Any]]:
        self.pipeline.deliver_events()
        return [j for j in self.pipeline.jobs() if j.get("fileName") == key]

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        return sorted(self.pipeline._keys(prefix))

    def api(
        self, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        parameters = None
        if path.startswith("/status/"):
            parameters = {"jobId": path.rsplit("/", 1)[1]}
        return self.pipeline.api(method, path, query=query, body=body, path_parameters=parameters)

    def quality_check(self) -> dict[str, Any]:
        return self.pipeline.run_schedule("quality_check")


class LiveBackend:
    """A deployed pipeline; credentials and region come from the environment."""

    name = "live"
    can_inject_faults = False

    def __init__(self, outputs: Mapping[str, str]) -> None:
        import boto3

        self.outputs = outputs
        self.session = boto3.session.Session()
        self.s3 = self.session.client("s3")
        self.bucket = outputs["DataBucketName"]
        self.table = self.session.resource("dynamodb").Table(outputs["MetadataTableName"])

    def put(self, key: str, body: bytes) -> tuple[str, str | None]:
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key, response.get("VersionId")

    def wait(self, key: str, version: str | None, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for job in self.jobs_for(key):
                if job.get("versionId") == version and job["status"] in ("SUCCEEDED", "FAILED"):
                    return job
            time.sleep(3)
        raise AssertionError(f"no final job for {key} within {timeout}s")

    def jobs_for(self, key: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Attr

        items = self.table.scan(FilterExpression=Attr("fileName").eq(key))["Items"]
        return json.loads(json.dumps(items, default=_number))

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def api(
        self, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self.outputs["ApiEndpoint"].rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        request = AWSRequest(
            method=method, url=url, data=data, headers={"content-type": "application/json"}
        )
        SigV4Auth(self.session.get_credentials(), "execute-api", self.session.region_name).add_auth(
            request
        )
        prepared = urllib.request.Request(
            url, data=data.encode() if data else None, headers=dict(request.headers), method=method
        )
        try:
            with urllib.request.urlopen(prepared, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def quality_check(self) -> dict[str, Any]:
        client = self.session.client("lambda")
        response = client.invoke(
            FunctionName=self.outputs["QualityCheckFunctionName"], Payload=b"{}"
        )
        return json.loads(response["Payload"].read())


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(type(value).__name__)


def live_outputs() -> dict[str, str] | None:
    if not OUTPUTS_FILE.is_file():
        return None
    return json.loads(OUTPUTS_FILE.read_text())
