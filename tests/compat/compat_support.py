"""Helpers shared by the scenario files: AWS's digests computed independently of Tern, error
assertions that hold for both client flavours, bounded receive loops."""

from __future__ import annotations

import hashlib
import json
import struct
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError

# The protocol this botocore speaks to SQS, straight from its service model.
PROTOCOL = botocore.session.get_session().get_service_model("sqs").protocol
# ... and to SNS: "query" in both pinned botocores (SNS has no JSON protocol).
SNS_PROTOCOL = botocore.session.get_session().get_service_model("sns").protocol


def md5_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_message_attributes(attributes: dict) -> str:
    """AWS's MD5OfMessageAttributes: attributes sorted by name; for each, length-prefixed name,
    length-prefixed data type, one transport byte (1 = String/Number, 2 = Binary) and the
    length-prefixed value, all lengths 4-byte big-endian."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        attribute = attributes[name]
        data_type = attribute["DataType"]
        digest.update(_length_prefixed(name.encode("utf-8")))
        digest.update(_length_prefixed(data_type.encode("utf-8")))
        if data_type.split(".", 1)[0] == "Binary":
            value = attribute["BinaryValue"]
            if isinstance(value, str):
                value = value.encode("utf-8")
            digest.update(b"\x02" + _length_prefixed(value))
        else:
            digest.update(b"\x01" + _length_prefixed(attribute["StringValue"].encode("utf-8")))
    return digest.hexdigest()


# What each flavour surfaces for a missing queue, recorded from the two pinned botocores:
#  - query (botocore 1.31.80): Error.Code is the Query code from the XML <Code>, and the modelled
#    exception is found through the shape's "error": {"code": ...} in the query-era model.
#  - json (botocore 1.44.x): Tern sends `x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender`;
#    botocore makes that header's code Error.Code, keeps the JSON __type's shape name in
#    Error.QueryErrorCode and picks the modelled exception class from it.
# Both therefore report the Query code as Error.Code and raise client.exceptions.QueueDoesNotExist.


def modelled_errors(client) -> set[str]:
    return {shape.name for shape in client.meta.service_model.error_shapes}


def assert_error(excinfo, code: str, *, status: int = 400, shape: str | None = None, client=None):
    """Checks the Query-style code both flavours report, the HTTP status, the fault type and, for
    an error with a shape in the SQS Smithy model, the exception class: the modelled class where
    this flavour's botocore models the shape (the query-era model lacks some, e.g.
    InvalidAttributeValue, and raises a plain ClientError for those) and, on JSON, the shape name
    botocore keeps in Error.QueryErrorCode."""
    exc = excinfo.value
    assert isinstance(exc, ClientError), repr(exc)
    error = exc.response["Error"]
    assert error["Code"] == code, exc.response
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status, exc.response
    assert error.get("Message"), f"an AWS error carries a message: {exc.response}"
    assert error.get("Type") == "Sender", exc.response
    if shape is not None and client is not None:
        if shape in modelled_errors(client):
            modelled = getattr(client.exceptions, shape)
            assert isinstance(exc, modelled), f"{type(exc).__name__} is not {shape}: {exc.response}"
        else:
            assert type(exc) is ClientError, f"{type(exc).__name__}: {exc.response}"
        if PROTOCOL == "json":
            assert error.get("QueryErrorCode") == shape, exc.response


def receive_all(sqs, queue_url: str, expected: int, *, deadline_s: float = 15, **kwargs) -> list[dict]:
    """Receives until `expected` messages arrived or the deadline passed (bounded)."""
    return _receive(sqs, queue_url, expected, deadline_s, delete=False, **kwargs)


def _receive(sqs, queue_url: str, expected: int, deadline_s: float, *, delete: bool, **kwargs) -> list[dict]:
    messages: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while len(messages) < expected and time.monotonic() < deadline:
        reply = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, expected - len(messages)),
            WaitTimeSeconds=1,
            **kwargs,
        )
        batch = reply.get("Messages", [])
        if delete:
            for message in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


def counters(sqs, queue_url: str) -> tuple[int, int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


def queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


# SNS errors. Both pinned botocores speak Query to SNS and model every SNS error Tern raises as a
# `...Exception` shape whose "error" code is the Query code (NotFoundException <- NotFound,
# InvalidParameterValueException <- ParameterValueInvalid, ...): botocore takes Error.Code from
# the XML <Code> and raises the class whose modelled code matches.


def assert_sns_error(excinfo, code: str, shape: str, client, *, status: int = 400, message: str | None = None):
    """Checks the Query code, the HTTP status, the fault type, that the message is there (and is
    `message` when given) and that boto3 raised the modelled exception class `shape`."""
    exc = excinfo.value
    assert isinstance(exc, ClientError), repr(exc)
    error = exc.response["Error"]
    assert error["Code"] == code, exc.response
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status, exc.response
    assert error.get("Type") == "Sender", exc.response
    assert error.get("Message"), f"an AWS error carries a message: {exc.response}"
    if message is not None:
        assert error["Message"] == message, exc.response
    assert shape in modelled_errors(client), f"{shape} is not in this botocore's SNS model"
    modelled = getattr(client.exceptions, shape)
    assert isinstance(exc, modelled), f"{type(exc).__name__} is not {shape}: {exc.response}"


def expect_sns_error(client, call, code: str, shape: str, *, status: int = 400, message: str | None = None, **kwargs):
    """Calls `call(**kwargs)`, which must fail with that SNS error; returns the error dict."""
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    assert_sns_error(excinfo, code, shape, client, status=status, message=message)
    return excinfo.value.response["Error"]


def receive_and_delete(sqs, queue_url: str, expected: int, *, deadline_s: float = 15, **kwargs) -> list[dict]:
    """Like receive_all, but deletes each batch as it arrives, so the next message of a FIFO
    group becomes receivable; the result is in the order received."""
    return _receive(sqs, queue_url, expected, deadline_s, delete=True, **kwargs)


def notifications(messages: list[dict]) -> list[dict]:
    """The SNS envelopes (JSON bodies) of messages a subscribed queue received."""
    return [json.loads(message["Body"]) for message in messages]


def queue_is_empty(sqs, queue_url: str) -> bool:
    """True when the queue holds nothing, visible, in flight or delayed. Publish stores every
    delivery before it replies, so after the replies this is exact, not a race."""
    return counters(sqs, queue_url) == (0, 0, 0)


# ---- Step Functions -------------------------------------------------------------------------
# Both pinned botocores model Step Functions (API version 2016-11-23) with the AWS JSON 1.0
# protocol and X-Amz-Target prefix AWSStepFunctions, so the test_sfn_*.py files speak the same
# wire format from both environments. The older model (botocore 1.31.80) predates some
# operations: RedriveExecution, ValidateStateMachineDefinition and TestState are not in it (nor
# the redrive members of DescribeExecution/ListExecutions, which that botocore's parser drops).
# Tests of such an operation are collected only where the model has it, through
# `collected_only_where_modelled`: a run never skips them (under CI=true a skip is a failure),
# it simply does not have them.

SFN_MODEL = botocore.session.get_session().get_service_model("stepfunctions")
SFN_OPERATIONS = frozenset(SFN_MODEL.operation_names)
# What a test waits at most for an execution to reach the state it expects.
SFN_DEADLINE_S = 20


def sfn_model_has(operation: str) -> bool:
    """Whether this botocore's Step Functions model has `operation` (so boto3 can call it)."""
    return operation in SFN_OPERATIONS


def sfn_operations_not_modelled(*operations: str) -> list[str]:
    return [operation for operation in operations if not sfn_model_has(operation)]


def collected_only_where_modelled(*operations: str):
    """Decorator for a test that calls Step Functions operations an older botocore lacks: where
    this botocore's model has them all, the test is returned unchanged; otherwise the name is
    bound to None, which pytest does not collect (no skip is reported, none is needed: the
    client cannot make the call at all)."""

    def decide(test):
        return test if not sfn_operations_not_modelled(*operations) else None

    return decide


def assert_sfn_error(excinfo, code: str, client, *, status: int = 400, message_contains: str | None = None):
    """Checks what boto3 surfaces for a Step Functions error: Error.Code (botocore takes it from
    the JSON `__type` after its `#`), the HTTP status, that there is a message (containing
    `message_contains` when given) and the exception class — the modelled one where this
    botocore's model has the shape, a plain ClientError otherwise."""
    exc = excinfo.value
    assert isinstance(exc, ClientError), repr(exc)
    error = exc.response["Error"]
    assert error["Code"] == code, exc.response
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status, exc.response
    assert error.get("Message"), f"an AWS error carries a message: {exc.response}"
    if message_contains is not None:
        assert message_contains in error["Message"], exc.response
    if code in modelled_errors(client):
        modelled = getattr(client.exceptions, code)
        assert isinstance(exc, modelled), f"{type(exc).__name__} is not {code}: {exc.response}"
    else:
        assert type(exc) is ClientError, f"{type(exc).__name__}: {exc.response}"
    return error


def expect_sfn_error(client, call, code: str, *, status: int = 400, message_contains: str | None = None, **kwargs):
    """Calls `call(**kwargs)`, which must fail with that Step Functions error; returns Error."""
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    return assert_sfn_error(excinfo, code, client, status=status, message_contains=message_contains)


def wait_for_end(sfn, execution_arn: str, *, deadline_s: float = SFN_DEADLINE_S) -> dict:
    """Polls DescribeExecution until the execution leaves RUNNING (bounded); returns the reply."""
    deadline = time.monotonic() + deadline_s
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, (
            f"{execution_arn} still RUNNING after {deadline_s}s: "
            f"{[e['type'] for e in full_history(sfn, execution_arn)]}"
        )
        time.sleep(0.05)


def full_history(sfn, execution_arn: str, **kwargs) -> list[dict]:
    """The whole history through boto3's paginator, oldest first unless reverseOrder=True."""
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, **kwargs):
        events.extend(page["events"])
    return events


def wait_for_event(sfn, execution_arn: str, event_type: str, *, deadline_s: float = SFN_DEADLINE_S) -> list[dict]:
    """Polls the history until an event of `event_type` is in it (bounded); returns the history."""
    deadline = time.monotonic() + deadline_s
    while True:
        events = full_history(sfn, execution_arn)
        if any(event["type"] == event_type for event in events):
            return events
        assert time.monotonic() < deadline, f"no {event_type} in {execution_arn}: {[e['type'] for e in events]}"
        time.sleep(0.05)


def assert_well_formed_history(events: list[dict]) -> None:
    """Ids run 1, 2, 3, … with no gap or repeat, each event's previousEventId names an earlier
    event (0 for the first), and timestamps never go backwards."""
    assert events, "an execution always has a history"
    for index, event in enumerate(events):
        assert event["id"] == index + 1, [(e["id"], e["type"]) for e in events]
        assert 0 <= event["previousEventId"] < event["id"], event
    assert events[0]["previousEventId"] == 0
    stamps = [event["timestamp"] for event in events]
    assert stamps == sorted(stamps), stamps


def receive_json_body(sqs, queue_url: str, *, deadline_s: float = SFN_DEADLINE_S) -> tuple[dict, dict]:
    """Receives one message (bounded long polls); returns (body as JSON, the message) and deletes it."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return json.loads(message["Body"]), message
    raise AssertionError(f"no message on {queue_url} within {deadline_s}s")
