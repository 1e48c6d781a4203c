"""Send, receive, delete; message attributes and their digests; system attributes; visibility;
long polling; delays."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from compat_support import (
    assert_error,
    counters,
    md5_hex,
    md5_of_message_attributes,
    receive_all,
)

# One attribute of every data type and of custom sub-types, with non-ASCII text and binary bytes
# that are not valid UTF-8.
EVERY_TYPE = {
    "text": {"DataType": "String", "StringValue": "héllo wörld ✓"},
    "count": {"DataType": "Number", "StringValue": "-12.5e3"},
    "blob": {"DataType": "Binary", "BinaryValue": bytes([0, 1, 2, 0xFE, 0xFF, 0x80])},
    "price": {"DataType": "Number.float", "StringValue": "3.14"},
    "label": {"DataType": "String.custom", "StringValue": "custom label"},
    "image": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\r\n"},
}

BODY = 'unicode ✓ — "quotes" <xml> & ampersand\n\ttabs \U0001F600'


def test_md5_helper_encodes_as_aws_specifies():
    """The helper's byte layout, spelled out for one String attribute (independent of Tern)."""
    assert md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e"
    attrs = {"a": {"DataType": "String", "StringValue": "b"}}
    # name "a": 00000001 61, type "String": 00000006 537472696e67, transport 01, value: 00000001 62
    expected = hashlib.md5(
        bytes.fromhex("0000000161" "00000006537472696e67" "01" "0000000162")
    ).hexdigest()
    assert md5_of_message_attributes(attrs) == expected


def test_send_receive_delete_with_every_attribute_type(sqs, queue_url):
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=BODY, MessageAttributes=EVERY_TYPE)
    assert sent["MD5OfMessageBody"] == md5_hex(BODY)
    assert sent["MD5OfMessageAttributes"] == md5_of_message_attributes(EVERY_TYPE)
    assert sent["MessageId"]

    received = sqs.receive_message(
        QueueUrl=queue_url,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=5,
    )["Messages"]
    assert len(received) == 1
    message = received[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == BODY
    assert message["MD5OfBody"] == md5_hex(BODY)
    assert message["MD5OfMessageAttributes"] == md5_of_message_attributes(EVERY_TYPE)
    assert message["MessageAttributes"] == EVERY_TYPE
    # Digest of what was received, not just of what was sent.
    assert md5_of_message_attributes(message["MessageAttributes"]) == message["MD5OfMessageAttributes"]
    assert message["ReceiptHandle"]

    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert counters(sqs, queue_url) == (0, 0, 0)


def test_receive_selected_message_attributes(sqs, queue_url):
    family = {
        "trace.id": {"DataType": "String", "StringValue": "abc"},
        "trace.span": {"DataType": "Number", "StringValue": "7"},
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody="pick", MessageAttributes={**EVERY_TYPE, **family})
    message = receive_all(sqs, queue_url, 1, MessageAttributeNames=["text", "blob"])[0]
    assert message["MessageAttributes"] == {"text": EVERY_TYPE["text"], "blob": EVERY_TYPE["blob"]}
    # AWS digests the attributes returned, not all those sent.
    assert message["MD5OfMessageAttributes"] == md5_of_message_attributes(message["MessageAttributes"])

    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    # "prefix.*" selects the attributes named "prefix.<anything>".
    prefixed = receive_all(sqs, queue_url, 1, MessageAttributeNames=["trace.*"])[0]
    assert prefixed["MessageAttributes"] == family
    assert prefixed["MD5OfMessageAttributes"] == md5_of_message_attributes(family)

    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=prefixed["ReceiptHandle"], VisibilityTimeout=0)
    bare = receive_all(sqs, queue_url, 1)[0]
    assert "MessageAttributes" not in bare
    assert "MD5OfMessageAttributes" not in bare
    assert bare["MD5OfBody"] == md5_hex("pick")


def test_message_without_attributes_has_no_attribute_digest(sqs, queue_url):
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="plain")
    assert sent["MD5OfMessageBody"] == md5_hex("plain")
    assert "MD5OfMessageAttributes" not in sent


def test_system_attributes(sqs, queue_url):
    before_ms = int(time.time() * 1000)
    sqs.send_message(QueueUrl=queue_url, MessageBody="sys")
    first = sqs.receive_message(
        QueueUrl=queue_url, AttributeNames=["All"], VisibilityTimeout=0, WaitTimeSeconds=5
    )["Messages"][0]
    attributes = first["Attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    sent_ms = int(attributes["SentTimestamp"])
    assert before_ms - 5000 <= sent_ms <= int(time.time() * 1000) + 5000, "epoch milliseconds"
    first_receive_ms = int(attributes["ApproximateFirstReceiveTimestamp"])
    assert first_receive_ms >= sent_ms
    assert attributes["SenderId"] == "AKIDTERNCOMPAT"

    second = receive_all(
        sqs, queue_url, 1, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]
    )[0]
    assert second["Attributes"] == {
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": str(first_receive_ms),
    }
    if "MessageSystemAttributeNames" in sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members:
        # Newer models name the parameter MessageSystemAttributeNames (AttributeNames is deprecated).
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
        third = receive_all(sqs, queue_url, 1, MessageSystemAttributeNames=["SentTimestamp"])[0]
        assert third["Attributes"] == {"SentTimestamp": str(sent_ms)}


def test_visibility_timeout_hides_then_redelivers(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=3, WaitTimeSeconds=5)["Messages"][0]
    hidden = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    assert hidden.get("Messages", []) == []

    again = receive_all(sqs, queue_url, 1, deadline_s=10, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in again] == ["again"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again[0]["ReceiptHandle"] != first["ReceiptHandle"]

    # The older receipt handle no longer deletes (AWS: ReceiptHandleIsInvalid or silently ignored;
    # either way the message stays until the current handle deletes it).
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])
    except sqs.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "ReceiptHandleIsInvalid", error.response
    assert counters(sqs, queue_url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=again[0]["ReceiptHandle"])
    assert counters(sqs, queue_url) == (0, 0, 0)


def test_queue_visibility_timeout_attribute_applies(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="short")
    assert len(receive_all(sqs, url, 1)) == 1
    started = time.monotonic()
    again = receive_all(sqs, url, 1, deadline_s=10)
    assert len(again) == 1
    assert time.monotonic() - started < 8


def test_change_visibility_releases_and_extends(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="change me")
    message = receive_all(sqs, queue_url, 1, VisibilityTimeout=600)[0]
    assert counters(sqs, queue_url) == (0, 1, 0)

    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    released = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2, VisibilityTimeout=3)["Messages"]
    assert [m["Body"] for m in released] == ["change me"]

    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=released[0]["ReceiptHandle"], VisibilityTimeout=600)
    time.sleep(3.5)  # past the 3 s it was received with
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []) == []
    assert counters(sqs, queue_url) == (0, 1, 0)


def test_long_poll_wakes_when_a_message_arrives(sqs, tern, queue_url):
    from conftest import make_client

    sender = make_client(tern.endpoint)
    result: dict = {}

    def poll():
        started = time.monotonic()
        result["reply"] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)
        result["elapsed"] = time.monotonic() - started

    waiter = threading.Thread(target=poll, daemon=True)
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive(), "the long poll returned before anything was sent"
    sent_at = time.monotonic()
    sender.send_message(QueueUrl=queue_url, MessageBody="wake up")
    waiter.join(timeout=25)
    assert not waiter.is_alive(), "the long poll did not return"
    assert [m["Body"] for m in result["reply"].get("Messages", [])] == ["wake up"]
    assert result["elapsed"] < 10, f"woke after {result['elapsed']:.1f}s, not on arrival"
    assert time.monotonic() - sent_at < 5


def test_long_poll_on_an_empty_queue_waits_the_full_time(sqs, queue_url):
    started = time.monotonic()
    reply = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)
    elapsed = time.monotonic() - started
    assert reply.get("Messages", []) == []
    assert 1.8 <= elapsed < 6, elapsed


def test_queue_receive_wait_time_attribute_makes_receives_long_polls(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"ReceiveMessageWaitTimeSeconds": "2"})["QueueUrl"]
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    assert time.monotonic() - started >= 1.8


def test_per_message_delay(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=2)
    sqs.send_message(QueueUrl=queue_url, MessageBody="now")
    assert counters(sqs, queue_url) == (1, 0, 1)
    first = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in first] == ["now"]
    delayed = receive_all(sqs, queue_url, 1, deadline_s=10)
    assert [m["Body"] for m in delayed] == ["later"]


def test_queue_delay_attribute(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "2"})["QueueUrl"]
    started = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="delayed by the queue")
    assert counters(sqs, url) == (0, 0, 1)
    delivered = receive_all(sqs, url, 1, deadline_s=10)
    assert [m["Body"] for m in delivered] == ["delayed by the queue"]
    assert time.monotonic() - started >= 1.5


def test_receive_at_most_max_number_of_messages(sqs, queue_url):
    for index in range(12):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{index}")
    got = receive_all(sqs, queue_url, 12)
    assert sorted(m["Body"] for m in got) == sorted(f"m{index}" for index in range(12))
    one = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)
    assert one.get("Messages", []) == [], "all twelve are in flight"


@pytest.mark.parametrize("size", [1024 * 1024])
def test_largest_message_round_trips(sqs, queue_url, size):
    body = "x" * size
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    message = receive_all(sqs, queue_url, 1)[0]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_hex(body)


def test_too_large_message_is_rejected(sqs, queue_url):
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x" * (1024 * 1024 + 1))
    assert_error(excinfo, "InvalidParameterValue")
    assert counters(sqs, queue_url) == (0, 0, 0)
