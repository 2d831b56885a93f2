"""The local runtime's parts: reading assemblies, resolving intrinsics, reporting gaps."""

from __future__ import annotations

import base64
import json
import os
import zlib
from pathlib import Path

import pytest

from etl_constructs.local import AssemblyError, CloudAssembly, LocalPipeline, LocalRuntimeError
from etl_constructs.local.assembly import synthesize
from etl_constructs.local.resolve import ResolveError, Resolver

pytestmark = pytest.mark.xdist_group("moto-runtime")
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def _assembly(tmp_path: Path, stacks: dict[str, dict]) -> CloudAssembly:
    artifacts = {}
    for name, template in stacks.items():
        (tmp_path / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    artifacts["Tree"] = {"type": "cdk:tree"}
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return CloudAssembly.load(tmp_path)


PRODUCER = {
    "Parameters": {"Stage": {"Type": "String", "Default": "blue"}},
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs-dlq"}},
        "Unnamed": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {}},
    },
    "Outputs": {
        "ExportsOutputQueue": {
            "Value": {"Fn::GetAtt": ["Queue", "Arn"]},
            "Export": {"Name": "Producer:QueueArn"},
        },
        "QueueUrl": {"Value": {"Ref": "Queue"}},
    },
}
CONSUMER = {
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Join": ["-", ["data", {"Ref": "AWS::AccountId"}]]}},
        }
    }
}


def test_resolver_evaluates_what_the_templates_use(tmp_path):
    assembly = _assembly(tmp_path, {"Producer": PRODUCER, "Consumer": CONSUMER})
    resolver = Resolver(assembly)
    resolve = resolver.resolve
    assert resolve({"Fn::ImportValue": "Producer:QueueArn"}, "Consumer") == (
        "arn:aws:sqs:us-east-1:123456789012:jobs-dlq"
    )
    assert resolve({"Ref": "Queue"}, "Producer").endswith("/123456789012/jobs-dlq")
    assert resolve({"Fn::GetAtt": "Queue.QueueName"}, "Producer") == "jobs-dlq"
    assert resolve({"Fn::Sub": "${Queue.Arn}/${AWS::Region}/${Stage}"}, "Producer") == (
        "arn:aws:sqs:us-east-1:123456789012:jobs-dlq/us-east-1/blue"
    )
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "Producer") == "b"
    assert resolve({"Ref": "Unnamed"}, "Producer").endswith("/producer-unnamed")
    assert resolve({"Ref": "Bucket"}, "Consumer") == "data-123456789012"
    assert resolve({"Nested": [{"Ref": "AWS::Partition"}]}, "Consumer") == {"Nested": ["aws"]}
    assert assembly.outputs() == {"QueueUrl": ("Producer", {"Ref": "Queue"})}
    for bad, message in (
        ({"Fn::ImportValue": "Nope"}, "no stack exports 'Nope'"),
        ({"Fn::GetAtt": ["Queue", "Colour"]}, "AWS::SQS::Queue.Colour is not supported"),
        ({"Fn::Base64": "x"}, "Fn::Base64 is not supported"),
        ({"Ref": "Missing"}, "Producer has no resource Missing"),
    ):
        with pytest.raises(ResolveError, match=message):
            resolve(bad, "Producer")


def test_unsupported_resources_are_reported_and_ignored_ones_explained(tmp_path):
    assembly = _assembly(tmp_path, {"Producer": PRODUCER})
    with LocalPipeline(assembly) as pipeline:
        assert pipeline.unsupported == ["Producer/Stream (AWS::Kinesis::Stream)"]
        with pytest.raises(LocalRuntimeError, match="no trigger function"):
            pipeline.function_by_handler("trigger")
        with pytest.raises(LocalRuntimeError, match="no scheduled rule"):
            pipeline.run_schedule("quality_check")


def test_broken_assemblies_are_clear_errors(tmp_path):
    with pytest.raises(AssemblyError, match="not a cloud assembly"):
        CloudAssembly.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {}}))
    with pytest.raises(AssemblyError, match="holds no stacks"):
        CloudAssembly.load(tmp_path)
    assembly = _assembly(
        tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path, {"Producer": PRODUCER}
    )
    with pytest.raises(AssemblyError, match="not a staged asset"):
        assembly.asset_path({"ZipFile": "print(1)"})
    with pytest.raises(AssemblyError, match="missing from the cloud assembly"):
        assembly.asset_path({"S3Key": "abc123.zip"})
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {}}))
    with pytest.raises(AssemblyError, match='has no "app" command'):
        synthesize(tmp_path / "out", project_dir=tmp_path)


def test_without_cdk_json_the_library_default_pipeline_runs(tmp_path):
    assembly = synthesize(tmp_path / "out", project_dir=tmp_path)
    assert list(assembly.templates) == ["EtlPipeline-local"]
    with LocalPipeline(assembly, time_scale=0.05) as pipeline:
        assert pipeline.unsupported == []
        assert pipeline.bucket == "etl-data-bucket-local"
        key, version = pipeline.upload(DATA / "transactions-clean.csv")
        job = pipeline.wait([(key, version)], timeout=60)[(key, version)]
        assert job["status"] == "SUCCEEDED" and job["rows"]["enriched"] == 6
        # the upload and every object the steps wrote carry their CRC32, which S3 checks
        listed = pipeline.s3.list_objects_v2(Bucket=pipeline.bucket)["Contents"]
        assert {item["Key"].split("/")[0] for item in listed} >= {"raw", "processed", "enriched"}
        for item in listed:
            got = pipeline.s3.get_object(
                Bucket=pipeline.bucket, Key=item["Key"], ChecksumMode="ENABLED"
            )
            crc = zlib.crc32(got["Body"].read()).to_bytes(4, "big")
            assert got.get("ChecksumCRC32") == base64.b64encode(crc).decode(), item["Key"]


def test_invocations_never_remove_a_variable_other_threads_may_be_reading(monkeypatch):
    from etl_constructs.local.lambdas import FunctionRegistry, LocalFunction

    monkeypatch.delenv("ETL_ONLY_A", raising=False)
    seen = {}

    def capture(name):
        def target(event, context):
            seen[name] = os.environ.get("ETL_ONLY_A")
            return {}

        return target

    registry = FunctionRegistry()
    for name, env in (("a", {"ETL_ONLY_A": "1"}), ("b", {})):
        registry.add(
            LocalFunction(
                name=name,
                arn=f"arn:aws:lambda:us-east-1:1:function:{name}",
                handler=name,
                environment=env,
                timeout_seconds=5,
                memory_mb=128,
                asset=Path("."),
                target=capture(name),
            )
        )
    registry.invoke(registry.get("a"), {})
    registry.invoke(registry.get("b"), {})
    assert seen == {"a": "1", "b": ""}  # b does not declare it: empty, which reads as unset
    assert os.environ["ETL_ONLY_A"] == ""  # still there after b: nothing was popped mid-run
    registry.restore_environment()
    assert "ETL_ONLY_A" not in os.environ


def test_a_poll_waits_while_a_function_runs_until_it_returns():
    """Pollers pause while an invocation runs (their reads would only slow it down), and
    look again as soon as it returns, or after ``busy`` seconds at the latest."""
    import threading
    import time

    from etl_constructs.local.lambdas import FunctionRegistry, LocalFunction

    started, release = threading.Event(), threading.Event()

    def slow(event, context):
        started.set()
        release.wait(10)
        return {}

    registry = FunctionRegistry()
    registry.add(
        LocalFunction(
            name="slow",
            arn="arn:aws:lambda:us-east-1:1:function:slow",
            handler="slow",
            environment={},
            timeout_seconds=30,
            memory_mb=128,
            asset=Path("."),
            target=slow,
        )
    )
    worker = threading.Thread(target=registry.invoke, args=(registry.get("slow"), {}))
    worker.start()
    assert started.wait(10)
    began = time.monotonic()
    registry.pause(0.01, busy=0.2)  # still running: back after busy seconds
    assert 0.15 < time.monotonic() - began < 5
    threading.Timer(0.3, release.set).start()
    began = time.monotonic()
    registry.pause(0.01, busy=10)  # back when it returns, long before busy seconds
    assert 0.25 < time.monotonic() - began < 5
    worker.join(10)
    began = time.monotonic()
    registry.pause(0.01, busy=10)  # nothing runs: the short sleep
    assert time.monotonic() - began < 5


def test_memory_an_invocation_freed_goes_back_to_the_system_before_the_next():
    """Functions share the runtime's process (on Lambda each has its own): what one step
    freed is given back, so the next step's peak does not stack on top of it."""
    from etl_constructs.local import lambdas

    if lambdas._malloc_trim() is None:
        pytest.skip("no glibc malloc_trim here: nothing to give back")

    def resident_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    # 200 MB in heap-sized pieces, every 8th kept: the heap cannot shrink from its top
    pieces = [bytes(2048) for _ in range(100_000)]
    kept = pieces[::8]
    del pieces
    before = resident_mb()
    lambdas.give_back_freed_memory()
    assert before - resident_mb() > 100
    assert len(kept) == 12_500
