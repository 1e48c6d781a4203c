"""Helpers shared by the scenario files: AWS's digests computed independently of Tern, error
assertions that hold for both client flavours, bounded receive loops."""

from __future__ import annotations

import hashlib
import struct
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError

# The protocol this botocore speaks to SQS, straight from its service model.
PROTOCOL = botocore.session.get_session().get_service_model("sqs").protocol


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
    messages: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while len(messages) < expected and time.monotonic() < deadline:
        reply = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, expected - len(messages)),
            WaitTimeSeconds=1,
            **kwargs,
        )
        messages.extend(reply.get("Messages", []))
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
