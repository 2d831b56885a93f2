"""Every workaround for what moto does not do, in one place.

The local runtime relies on moto (pinned in the ``local`` extra) for S3, DynamoDB, SQS,
EventBridge and Step Functions. Where moto stops short of AWS, the gap is bridged here, and
``tests/local/test_moto_compat.py`` pins each behaviour relied on, so a moto upgrade that
changes one fails a test instead of the pipeline:

1. Lambda: moto's Lambda backend needs Docker. A botocore ``before-call`` handler answers
   every ``lambda:Invoke`` in-process (see :class:`LambdaDispatch`), as botocore's Stubber
   does, for our clients and for the clients moto's Step Functions interpreter creates.
2. Step Functions: executions run only with ``execute_state_machine``; state machines must
   be created through the Step Functions API (moto's CloudFormation puts them in a backend
   that does not execute).
3. EventBridge: moto matches S3 ``Object Created`` events against rules but never invokes
   Lambda targets. Each such rule gets an extra SQS target (a tap); the runtime drains the
   tap and delivers to the rule's Lambda targets itself (see :class:`EventTap`).
4. Scheduled rules never fire in moto: the runtime invokes their targets on request.
5. S3 CopyObject from the state machine: AWS takes ``CopySource`` URL-encoded, as the
   failure branch passes it; moto's interpreter calls S3 through botocore, which encodes a
   string ``CopySource`` once more. While installed, :class:`CopySourceDecoding` decodes it
   first, so the copy reaches the same key it does on AWS.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from moto import mock_aws

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
_INVOKE_EVENT = "before-call.lambda.Invoke"

#: (function name or ARN, payload, invocation type) -> (payload, function error or None)
InvokeHandler = Callable[[str, bytes, str], tuple[bytes, "str | None"]]


def start_mock() -> Any:
    """Start moto with the Step Functions interpreter switched on."""
    mock = mock_aws(config=MOTO_CONFIG)
    mock.start()
    return mock


class LambdaDispatch:
    """Answers ``lambda:Invoke`` calls in-process while installed.

    The handler goes into botocore's built-in handler list (sessions created later get it)
    and onto boto3's default session (clients created later from it get it). Clients that
    already exist keep their own event copy; the runtime creates its clients after this.
    """

    _current: InvokeHandler | None = None
    _installed = False

    @classmethod
    def install(cls, handler: InvokeHandler) -> None:
        cls._current = handler
        if not cls._installed:
            _register_everywhere(_INVOKE_EVENT, cls._before_call)
            cls._installed = True

    @classmethod
    def uninstall(cls) -> None:
        cls._current = None

    @classmethod
    def _before_call(cls, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict] | None:
        handler = cls._current
        if handler is None:
            return None  # let the call go on (moto answers, or fails for lack of Docker)
        # url_path: /2015-03-31/functions/<quoted name or ARN>/invocations
        function = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        headers = params.get("headers", {})
        invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        body = params.get("body") or b"{}"
        payload, error = handler(
            function, body if isinstance(body, bytes) else body.encode(), invocation_type
        )
        status = 202 if invocation_type == "Event" else 200
        response_headers = {"X-Amz-Executed-Version": "$LATEST"}
        parsed: dict[str, Any] = {
            "StatusCode": status,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": response_headers},
        }
        if error:
            parsed["FunctionError"] = error
            response_headers["X-Amz-Function-Error"] = error
        http = AWSResponse(params.get("url", ""), status, response_headers, None)
        return http, parsed


class CopySourceDecoding:
    """Undo the URL-encoding of a string ``CopySource`` before botocore encodes it again."""

    active = False
    _installed = False

    @classmethod
    def install(cls) -> None:
        cls.active = True
        if not cls._installed:
            _register_everywhere(_COPY_EVENT, cls._before_parameter_build, first=True)
            cls._installed = True

    @classmethod
    def uninstall(cls) -> None:
        cls.active = False

    @classmethod
    def _before_parameter_build(cls, params: dict[str, Any], **_: Any) -> None:
        source = params.get("CopySource")
        if cls.active and isinstance(source, str):
            path, _, query = source.partition("?")
            params["CopySource"] = unquote_plus(path) + (f"?{query}" if query else "")


_COPY_EVENT = "before-parameter-build.s3.CopyObject"


def _register_everywhere(event: str, handler: Callable[..., Any], *, first: bool = False) -> None:
    """Register on sessions to come (botocore's built-in list) and on boto3's default one."""
    if first:
        botocore.handlers.BUILTIN_HANDLERS.insert(
            0, (event, handler, botocore.handlers.REGISTER_FIRST)
        )
    else:
        botocore.handlers.BUILTIN_HANDLERS.append((event, handler))
    session = boto3._get_default_session()
    if first:
        session.events.register_first(event, handler)
    else:
        session.events.register(event, handler)


@dataclass
class EventTap:
    """An SQS queue added as a target of one EventBridge rule, to see what it matched."""

    rule: str
    queue_url: str

    @classmethod
    def attach(cls, *, events: Any, sqs: Any, rule: str) -> EventTap:
        queue_url = sqs.create_queue(QueueName=f"local-tap-{rule}"[:80])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_targets(Rule=rule, Targets=[{"Id": "local-tap", "Arn": queue_arn}])
        return cls(rule=rule, queue_url=queue_url)

    def drain(self, sqs: Any) -> list[dict[str, Any]]:
        """Every event delivered so far, oldest first."""
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
