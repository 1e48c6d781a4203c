"""Publish and PublishBatch through boto3, read back from subscribed SQS queues with boto3's SQS
client: the JSON envelope field by field, raw delivery with message attributes of every SNS data
type, MessageStructure=json, Subject, filter policies on attributes and on the body, FIFO topics
into FIFO queues (group order, deduplication), batch successes, per-entry failures and batch
errors.

Publish stores every delivery before it replies, so "this queue got nothing" is checked with the
queue's counters right after the replies: exact, not a timed wait. Signatures (the envelope's
`Signature`) are not checked here.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
import urllib.parse

import pytest

from compat_support import (
    counters,
    expect_sns_error,
    md5_hex,
    md5_of_message_attributes,
    notifications,
    queue_is_empty,
    receive_all,
    receive_and_delete,
)

# One message attribute of each SNS data type, with non-ASCII text and bytes that are not UTF-8.
EVERY_TYPE = {
    "text": {"DataType": "String", "StringValue": "héllo wörld ✓"},
    "count": {"DataType": "Number", "StringValue": "-12.5e3"},
    "blob": {"DataType": "Binary", "BinaryValue": bytes([0, 1, 2, 0xFE, 0xFF, 0x80])},
    "labels": {"DataType": "String.Array", "StringValue": '["a", "b", 3, true, null]'},
}

# How the envelope writes each of them: {Type, Value}, Binary as base64.
EVERY_TYPE_IN_ENVELOPE = {
    "text": {"Type": "String", "Value": "héllo wörld ✓"},
    "count": {"Type": "Number", "Value": "-12.5e3"},
    "blob": {"Type": "Binary", "Value": base64.b64encode(bytes([0, 1, 2, 0xFE, 0xFF, 0x80])).decode()},
    "labels": {"Type": "String.Array", "Value": '["a", "b", 3, true, null]'},
}

MESSAGE = 'unicode ✓ — "quotes" <xml> & ampersand\r\n\ttabs \U0001F600'

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The envelope's documented fields. `Signature` is allowed but not checked (signing is separate
# work); `SequenceNumber` appears for FIFO topics only.
ENVELOPE_FIELDS = {
    "Type", "MessageId", "SequenceNumber", "TopicArn", "Subject", "Message", "Timestamp",
    "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes",
}


def subscribe(sns, topic_arn, queue, **attributes) -> str:
    return sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue.arn,
        Attributes={name: str(value) for name, value in attributes.items()},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]


def parse_timestamp(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


# ---- the envelope -----------------------------------------------------------------------------


def test_publish_delivers_the_envelope_field_by_field(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscription = subscribe(sns, topic_arn, queue)

    before = time.time()
    published = sns.publish(TopicArn=topic_arn, Message=MESSAGE, Subject="Headline ✓", MessageAttributes=EVERY_TYPE)
    after = time.time()
    assert UUID.match(published["MessageId"]), published
    assert "SequenceNumber" not in published

    (message,) = receive_all(
        sqs, queue.url, 1, MessageAttributeNames=["All"], AttributeNames=["All"]
    )
    assert message["MD5OfBody"] == md5_hex(message["Body"])
    # The attributes travel inside the envelope, not as SQS message attributes.
    assert "MessageAttributes" not in message
    assert "MD5OfMessageAttributes" not in message
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"

    envelope = json.loads(message["Body"])
    assert set(envelope) <= ENVELOPE_FIELDS, set(envelope) - ENVELOPE_FIELDS
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == "Headline ✓"
    assert envelope["Message"] == MESSAGE
    assert TIMESTAMP.match(envelope["Timestamp"]), envelope["Timestamp"]
    assert before - 1 <= parse_timestamp(envelope["Timestamp"]) <= after + 1, (before, envelope["Timestamp"], after)
    assert envelope["SignatureVersion"] == "1"
    assert urllib.parse.urlsplit(envelope["SigningCertURL"]).scheme in ("http", "https")
    unsubscribe = urllib.parse.urlsplit(envelope["UnsubscribeURL"])
    assert unsubscribe.scheme in ("http", "https")
    assert urllib.parse.parse_qs(unsubscribe.query) == {
        "Action": ["Unsubscribe"],
        "SubscriptionArn": [subscription],
    }
    assert envelope["MessageAttributes"] == EVERY_TYPE_IN_ENVELOPE
    assert "SequenceNumber" not in envelope


def test_envelope_without_subject_or_attributes_leaves_them_out(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    published = sns.publish(TopicArn=topic_arn, Message="plain")
    (envelope,) = notifications(receive_all(sqs, queue.url, 1))
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["Message"] == "plain"
    assert "Subject" not in envelope
    assert "MessageAttributes" not in envelope


def test_target_arn_publishes_to_the_topic(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    published = sns.publish(TargetArn=topic_arn, Message="via TargetArn")
    (envelope,) = notifications(receive_all(sqs, queue.url, 1))
    assert (envelope["MessageId"], envelope["Message"]) == (published["MessageId"], "via TargetArn")


def test_every_subscribed_queue_gets_its_own_copy(sns, sqs, topic_arn, new_queue):
    queues = [new_queue(f"fan{index}") for index in range(3)]
    subscriptions = [subscribe(sns, topic_arn, queue) for queue in queues]
    published = sns.publish(TopicArn=topic_arn, Message="to everyone")
    for queue, subscription in zip(queues, subscriptions):
        (envelope,) = notifications(receive_all(sqs, queue.url, 1))
        assert envelope["MessageId"] == published["MessageId"]
        # Each copy names its own subscription in its UnsubscribeURL.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(envelope["UnsubscribeURL"]).query)
        assert query["SubscriptionArn"] == [subscription]


def test_publish_to_a_topic_without_subscribers(sns, topic_arn):
    published = sns.publish(TopicArn=topic_arn, Message="nobody listens")
    assert UUID.match(published["MessageId"])


# ---- raw delivery -----------------------------------------------------------------------------


def test_raw_delivery_carries_the_message_and_its_attributes(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue, RawMessageDelivery="true")
    sns.publish(TopicArn=topic_arn, Message=MESSAGE, Subject="not in raw messages", MessageAttributes=EVERY_TYPE)

    (message,) = receive_all(sqs, queue.url, 1, MessageAttributeNames=["All"])
    assert message["Body"] == MESSAGE
    assert message["MD5OfBody"] == md5_hex(MESSAGE)
    assert message["MessageAttributes"] == EVERY_TYPE
    assert message["MD5OfMessageAttributes"] == md5_of_message_attributes(EVERY_TYPE)


def test_raw_and_enveloped_subscribers_of_one_publish(sns, sqs, topic_arn, new_queue):
    raw, wrapped = new_queue("raw"), new_queue("wrapped")
    subscribe(sns, topic_arn, raw, RawMessageDelivery="true")
    subscribe(sns, topic_arn, wrapped)
    published = sns.publish(TopicArn=topic_arn, Message="one publish")
    (raw_message,) = receive_all(sqs, raw.url, 1, MessageAttributeNames=["All"])
    assert raw_message["Body"] == "one publish"
    assert "MessageAttributes" not in raw_message
    (envelope,) = notifications(receive_all(sqs, wrapped.url, 1))
    assert (envelope["Message"], envelope["MessageId"]) == ("one publish", published["MessageId"])


def test_largest_message_is_delivered_whole(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue, RawMessageDelivery="true")
    body = "x" * (256 * 1024)
    sns.publish(TopicArn=topic_arn, Message=body)
    (message,) = receive_all(sqs, queue.url, 1)
    assert message["Body"] == body


def test_too_long_message_is_rejected(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue, RawMessageDelivery="true")
    expect_sns_error(
        sns,
        sns.publish,
        "InvalidParameter",
        "InvalidParameterException",
        message="Invalid parameter: Message too long",
        TopicArn=topic_arn,
        Message="x" * (256 * 1024 + 1),
    )
    # The limit counts the attributes too.
    expect_sns_error(
        sns,
        sns.publish,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        Message="x" * (256 * 1024 - 10),
        MessageAttributes={"attribute": {"DataType": "String", "StringValue": "y" * 20}},
    )
    assert queue_is_empty(sqs, queue.url)


# ---- MessageStructure=json and Subject ---------------------------------------------------------


def test_message_structure_json_picks_the_sqs_entry_then_the_default(sns, sqs, topic_arn, new_queue):
    wrapped, raw = new_queue("wrapped"), new_queue("raw")
    subscribe(sns, topic_arn, wrapped)
    subscribe(sns, topic_arn, raw, RawMessageDelivery="true")

    sns.publish(
        TopicArn=topic_arn,
        MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "sqs": "for queues ✓", "email": "for people"}),
    )
    (envelope,) = notifications(receive_and_delete(sqs, wrapped.url, 1))
    assert envelope["Message"] == "for queues ✓"
    assert [m["Body"] for m in receive_and_delete(sqs, raw.url, 1)] == ["for queues ✓"]

    sns.publish(TopicArn=topic_arn, MessageStructure="json", Message=json.dumps({"default": "only default"}))
    (envelope,) = notifications(receive_and_delete(sqs, wrapped.url, 1))
    assert envelope["Message"] == "only default"
    assert [m["Body"] for m in receive_and_delete(sqs, raw.url, 1)] == ["only default"]


@pytest.mark.parametrize(
    "message",
    [json.dumps({"sqs": "no default"}), "{not json", json.dumps(["default"])],
    ids=["no-default", "not-json", "not-an-object"],
)
def test_bad_message_structure_json_is_invalid_parameter(sns, sqs, topic_arn, new_queue, message):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    error = expect_sns_error(
        sns,
        sns.publish,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        MessageStructure="json",
        Message=message,
    )
    assert error["Message"].startswith("Invalid parameter: Message Structure"), error
    assert queue_is_empty(sqs, queue.url)


def test_subject_limits(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    longest = "S" * 100
    sns.publish(TopicArn=topic_arn, Message="m", Subject=longest)
    (envelope,) = notifications(receive_and_delete(sqs, queue.url, 1))
    assert envelope["Subject"] == longest
    for subject in ["S" * 101, "two\nlines"]:
        expect_sns_error(
            sns, sns.publish, "InvalidParameter", "InvalidParameterException",
            TopicArn=topic_arn, Message="m", Subject=subject,
        )
    assert queue_is_empty(sqs, queue.url)


# ---- message attributes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {"n": {"DataType": "Number", "StringValue": "not a number"}},
        {"w": {"DataType": "Weird", "StringValue": "x"}},
        {"s": {"DataType": "String", "StringValue": ""}},
        {"b": {"DataType": "Binary", "BinaryValue": b""}},
        {"a": {"DataType": "String.Array", "StringValue": "not an array"}},
    ],
    ids=["bad-number", "unknown-type", "empty-string", "empty-binary", "array-not-json"],
)
def test_invalid_message_attributes_are_parameter_value_invalid(sns, sqs, topic_arn, new_queue, attributes):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    expect_sns_error(
        sns,
        sns.publish,
        "ParameterValueInvalid",
        "InvalidParameterValueException",
        TopicArn=topic_arn,
        Message="m",
        MessageAttributes=attributes,
    )
    assert queue_is_empty(sqs, queue.url)


def test_empty_message_and_missing_topic(sns, topic_arn, topic_name):
    expect_sns_error(
        sns, sns.publish, "InvalidParameter", "InvalidParameterException",
        message="Invalid parameter: Empty message", TopicArn=topic_arn, Message="",
    )
    missing = topic_arn.replace(topic_name, f"missing-{topic_name}")
    expect_sns_error(
        sns, sns.publish, "NotFound", "NotFoundException", status=404, message="Topic does not exist",
        TopicArn=missing, Message="m",
    )


# ---- filter policies --------------------------------------------------------------------------

ATTRIBUTE_MESSAGES = {
    "m1": {"colour": ("String", "red"), "price": ("Number", "5"), "tags": ("String.Array", '["urgent", "x"]')},
    "m2": {"colour": ("String", "blue"), "price": ("Number", "50")},
    "m3": {"colour": ("String", "black"), "price": ("Number", "150"), "tags": ("String.Array", '["low"]')},
    "m4": {"price": ("Number", "75")},
    "m5": {"colour": ("String", "red"), "price": ("Number", "80")},
}

ATTRIBUTE_POLICIES = {
    "exact": ({"colour": ["red"]}, ["m1", "m5"]),
    "anything-but": ({"colour": [{"anything-but": ["red"]}]}, ["m2", "m3"]),
    "numeric-range": ({"price": [{"numeric": [">=", 10, "<", 100]}]}, ["m2", "m4", "m5"]),
    "prefix": ({"colour": [{"prefix": "bl"}]}, ["m2", "m3"]),
    "absent": ({"colour": [{"exists": False}]}, ["m4"]),
    "array-member": ({"tags": ["urgent"]}, ["m1"]),
    "and": ({"colour": ["red"], "price": [{"numeric": [">", 50]}]}, ["m5"]),
    "or": ({"$or": [{"colour": ["blue"]}, {"price": [{"numeric": [">", 100]}]}]}, ["m2", "m3"]),
}


def test_filter_policies_on_message_attributes(sns, sqs, topic_arn, new_queue):
    queues = {}
    for label, (policy, _) in ATTRIBUTE_POLICIES.items():
        queues[label] = new_queue(label)
        subscribe(sns, topic_arn, queues[label], FilterPolicy=json.dumps(policy))
    queues["everything"] = new_queue("everything")
    subscribe(sns, topic_arn, queues["everything"])

    for body, attributes in ATTRIBUTE_MESSAGES.items():
        sns.publish(
            TopicArn=topic_arn,
            Message=body,
            MessageAttributes={
                name: {"DataType": data_type, "StringValue": value}
                for name, (data_type, value) in attributes.items()
            },
        )

    expected = {label: wanted for label, (_, wanted) in ATTRIBUTE_POLICIES.items()}
    expected["everything"] = sorted(ATTRIBUTE_MESSAGES)
    for label, wanted in expected.items():
        # Every delivery was stored before the replies: the counter is exact now.
        assert counters(sqs, queues[label].url)[0] == len(wanted), label
        got = sorted(n["Message"] for n in notifications(receive_all(sqs, queues[label].url, len(wanted))))
        assert got == wanted, label


BODY_MESSAGES = {
    "b1": {"order": {"status": "paid", "total": 150, "items": ["book", "pen"]}},
    "b2": {"order": {"status": "open", "total": 20}},
    "b3": {"order": {"status": "paid", "total": 5}, "region": "eu-west-1"},
    "b4": "not json at all",
    "b5": {"customer": "c-42"},
}

BODY_POLICIES = {
    "nested-exact": ({"order": {"status": ["paid"]}}, ["b1", "b3"]),
    "nested-numeric": ({"order": {"total": [{"numeric": [">", 100]}]}}, ["b1"]),
    "array-member": ({"order": {"items": ["pen"]}}, ["b1"]),
    "prefix": ({"region": [{"prefix": "eu-"}]}, ["b3"]),
    "exists": ({"customer": [{"exists": True}]}, ["b5"]),
}


def test_filter_policies_on_the_message_body(sns, sqs, topic_arn, new_queue):
    queues = {}
    for label, (policy, _) in BODY_POLICIES.items():
        queues[label] = new_queue(label)
        subscribe(sns, topic_arn, queues[label], FilterPolicy=json.dumps(policy), FilterPolicyScope="MessageBody")
    # Attributes do not count for a body policy: this one matches nothing published below.
    queues["attributes-only"] = new_queue("attrs")
    subscribe(
        sns, topic_arn, queues["attributes-only"],
        FilterPolicy=json.dumps({"kind": ["order"]}), FilterPolicyScope="MessageBody",
    )

    texts = {}
    for label, body in BODY_MESSAGES.items():
        texts[label] = body if isinstance(body, str) else json.dumps(body)
        sns.publish(
            TopicArn=topic_arn,
            Message=texts[label],
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
        )

    for label, (_, wanted) in BODY_POLICIES.items():
        assert counters(sqs, queues[label].url)[0] == len(wanted), label
        got = sorted(n["Message"] for n in notifications(receive_all(sqs, queues[label].url, len(wanted))))
        assert got == sorted(texts[name] for name in wanted), label
    assert queue_is_empty(sqs, queues["attributes-only"].url)


# ---- FIFO topics -------------------------------------------------------------------------------


@pytest.fixture
def fifo_topic(sns, topic_name):
    return sns.create_topic(Name=f"{topic_name}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]


def test_fifo_topic_into_fifo_queue_keeps_group_order_and_deduplicates(sns, sqs, fifo_topic, new_queue):
    wrapped, raw = new_queue("w", fifo=True), new_queue("r", fifo=True)
    subscribe(sns, fifo_topic, wrapped)
    subscribe(sns, fifo_topic, raw, RawMessageDelivery="true")

    plan = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3"), ("b", "b3"), ("a", "a4")]
    replies = {}
    for group, body in plan:
        replies[body] = sns.publish(
            TopicArn=fifo_topic, Message=body, MessageGroupId=group, MessageDeduplicationId=f"dedup-{body}"
        )
    # A duplicate of a2 (same deduplication id, other text) is accepted but not delivered.
    duplicate = sns.publish(
        TopicArn=fifo_topic, Message="a2 again", MessageGroupId="a", MessageDeduplicationId="dedup-a2"
    )
    assert duplicate["MessageId"]

    # SequenceNumber: digits, growing with every publish to the topic.
    numbers = [int(replies[body]["SequenceNumber"]) for _, body in plan]
    assert all(re.fullmatch(r"\d+", replies[body]["SequenceNumber"]) for _, body in plan)
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers

    assert counters(sqs, wrapped.url)[0] == len(plan)
    received = receive_and_delete(
        sqs, wrapped.url, len(plan), AttributeNames=["MessageGroupId", "MessageDeduplicationId"]
    )
    assert len(received) == len(plan)
    by_group: dict[str, list[str]] = {}
    for message in received:
        envelope = json.loads(message["Body"])
        body = envelope["Message"]
        assert envelope["TopicArn"] == fifo_topic
        assert envelope["MessageId"] == replies[body]["MessageId"]
        assert envelope["SequenceNumber"] == replies[body]["SequenceNumber"]
        assert message["Attributes"]["MessageGroupId"] == body[0]
        assert message["Attributes"]["MessageDeduplicationId"] == f"dedup-{body}"
        by_group.setdefault(message["Attributes"]["MessageGroupId"], []).append(body)
    assert by_group == {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2", "b3"]}

    raw_received = receive_and_delete(sqs, raw.url, len(plan), AttributeNames=["MessageGroupId"])
    raw_groups: dict[str, list[str]] = {}
    for message in raw_received:
        raw_groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(message["Body"])
    assert raw_groups == by_group
    assert queue_is_empty(sqs, wrapped.url) and queue_is_empty(sqs, raw.url)


def test_fifo_topic_content_based_deduplication(sns, sqs, topic_name, new_queue):
    topic = sns.create_topic(
        Name=f"{topic_name}.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    queue = new_queue("q", fifo=True)
    subscribe(sns, topic, queue, RawMessageDelivery="true")

    for body in ["same", "same", "other", "same"]:
        sns.publish(TopicArn=topic, Message=body, MessageGroupId="g")
    # An explicit id overrides the content hash: a new id delivers the same text again.
    sns.publish(TopicArn=topic, Message="same", MessageGroupId="g", MessageDeduplicationId="explicit-1")

    assert counters(sqs, queue.url)[0] == 3
    received = receive_and_delete(sqs, queue.url, 3)
    assert [message["Body"] for message in received] == ["same", "other", "same"]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"MessageDeduplicationId": "d"}, "MessageGroupId"),
        ({"MessageGroupId": "g"}, "ContentBasedDeduplication"),
        ({"MessageGroupId": "g", "MessageDeduplicationId": "d" * 129}, "MessageDeduplicationId"),
    ],
    ids=["no-group", "no-dedup-id", "dedup-id-too-long"],
)
def test_fifo_publish_needs_group_and_deduplication(sns, sqs, fifo_topic, new_queue, kwargs, fragment):
    queue = new_queue("q", fifo=True)
    subscribe(sns, fifo_topic, queue)
    error = expect_sns_error(
        sns, sns.publish, "InvalidParameter", "InvalidParameterException", TopicArn=fifo_topic, Message="m", **kwargs
    )
    assert fragment in error["Message"], error
    assert queue_is_empty(sqs, queue.url)


def test_deduplication_id_on_a_standard_topic_is_invalid(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    expect_sns_error(
        sns, sns.publish, "InvalidParameter", "InvalidParameterException",
        TopicArn=topic_arn, Message="m", MessageDeduplicationId="d",
    )
    assert queue_is_empty(sqs, queue.url)


# ---- PublishBatch -----------------------------------------------------------------------------


def test_publish_batch_delivers_every_entry(sns, sqs, topic_arn, new_queue):
    wrapped, raw = new_queue("wrapped"), new_queue("raw")
    subscribe(sns, topic_arn, wrapped)
    subscribe(sns, topic_arn, raw, RawMessageDelivery="true")
    entries = [
        {"Id": "plain", "Message": "first"},
        {"Id": "with-subject", "Message": "second", "Subject": "Batch"},
        {"Id": "with_attributes", "Message": "third", "MessageAttributes": EVERY_TYPE},
        {"Id": "structured", "Message": json.dumps({"default": "fourth", "sqs": "fourth (sqs)"}),
         "MessageStructure": "json"},
    ]
    reply = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
    assert reply["Failed"] == []
    successful = {entry["Id"]: entry for entry in reply["Successful"]}
    assert set(successful) == {entry["Id"] for entry in entries}
    assert all(UUID.match(entry["MessageId"]) for entry in successful.values())
    assert len({entry["MessageId"] for entry in successful.values()}) == 4

    envelopes = {n["MessageId"]: n for n in notifications(receive_all(sqs, wrapped.url, 4))}
    assert set(envelopes) == {entry["MessageId"] for entry in successful.values()}
    assert envelopes[successful["plain"]["MessageId"]]["Message"] == "first"
    assert "Subject" not in envelopes[successful["plain"]["MessageId"]]
    assert envelopes[successful["with-subject"]["MessageId"]]["Subject"] == "Batch"
    assert envelopes[successful["with_attributes"]["MessageId"]]["MessageAttributes"] == EVERY_TYPE_IN_ENVELOPE
    assert envelopes[successful["structured"]["MessageId"]]["Message"] == "fourth (sqs)"

    raw_messages = {m["Body"]: m for m in receive_all(sqs, raw.url, 4, MessageAttributeNames=["All"])}
    assert set(raw_messages) == {"first", "second", "third", "fourth (sqs)"}
    assert raw_messages["third"]["MessageAttributes"] == EVERY_TYPE
    assert raw_messages["third"]["MD5OfMessageAttributes"] == md5_of_message_attributes(EVERY_TYPE)


def test_publish_batch_reports_failed_entries_and_delivers_the_rest(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscribe(sns, topic_arn, queue, RawMessageDelivery="true")
    reply = sns.publish_batch(
        TopicArn=topic_arn,
        PublishBatchRequestEntries=[
            {"Id": "good1", "Message": "kept 1"},
            {"Id": "empty", "Message": ""},
            {"Id": "badnumber", "Message": "x", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "one"}}},
            {"Id": "longsubject", "Message": "x", "Subject": "S" * 101},
            {"Id": "good2", "Message": "kept 2"},
        ],
    )
    assert sorted(entry["Id"] for entry in reply["Successful"]) == ["good1", "good2"]
    failed = {entry["Id"]: entry for entry in reply["Failed"]}
    assert set(failed) == {"empty", "badnumber", "longsubject"}
    for entry in failed.values():
        assert set(entry) == {"Id", "Code", "Message", "SenderFault"}, entry
        assert entry["SenderFault"] is True
        assert entry["Message"]
    # Each entry fails with the code a Publish of it alone gets.
    assert failed["empty"]["Code"] == "InvalidParameter"
    assert failed["empty"]["Message"] == "Invalid parameter: Empty message"
    assert failed["badnumber"]["Code"] == "ParameterValueInvalid"
    assert failed["longsubject"]["Code"] == "InvalidParameter"

    assert counters(sqs, queue.url)[0] == 2
    assert sorted(m["Body"] for m in receive_all(sqs, queue.url, 2)) == ["kept 1", "kept 2"]


def test_publish_batch_to_a_fifo_topic(sns, sqs, fifo_topic, new_queue):
    queue = new_queue("q", fifo=True)
    subscribe(sns, fifo_topic, queue, RawMessageDelivery="true")
    entries = [
        {"Id": f"e{index}", "Message": f"m{index}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{index}"}
        for index in range(5)
    ]
    entries.append({"Id": "nogroup", "Message": "x", "MessageDeduplicationId": "dx"})
    reply = sns.publish_batch(TopicArn=fifo_topic, PublishBatchRequestEntries=entries)
    assert [entry["Id"] for entry in reply["Failed"]] == ["nogroup"]
    assert reply["Failed"][0]["Code"] == "InvalidParameter"
    successful = {entry["Id"]: entry for entry in reply["Successful"]}
    numbers = [int(successful[f"e{index}"]["SequenceNumber"]) for index in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5, numbers
    received = receive_and_delete(sqs, queue.url, 5)
    assert [message["Body"] for message in received] == [f"m{index}" for index in range(5)]


@pytest.mark.parametrize(
    "entries, code, shape",
    [
        ([{"Id": f"e{index}", "Message": "x"} for index in range(11)],
         "TooManyEntriesInBatchRequest", "TooManyEntriesInBatchRequestException"),
        ([{"Id": "same", "Message": "x"}, {"Id": "same", "Message": "y"}],
         "BatchEntryIdsNotDistinct", "BatchEntryIdsNotDistinctException"),
        ([{"Id": "has space", "Message": "x"}], "InvalidBatchEntryId", "InvalidBatchEntryIdException"),
        ([{"Id": "i" * 81, "Message": "x"}], "InvalidBatchEntryId", "InvalidBatchEntryIdException"),
        ([{"Id": f"e{index}", "Message": "x" * (100 * 1024)} for index in range(3)],
         "BatchRequestTooLong", "BatchRequestTooLongException"),
    ],
    ids=["eleven-entries", "repeated-id", "id-with-space", "id-81-characters", "too-long"],
)
def test_batch_errors_reject_the_whole_batch(sns, sqs, topic_arn, new_queue, entries, code, shape):
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    expect_sns_error(sns, sns.publish_batch, code, shape, TopicArn=topic_arn, PublishBatchRequestEntries=entries)
    assert queue_is_empty(sqs, queue.url)


def test_empty_batch_is_empty_batch_request(unvalidated_sns, sqs, topic_arn, new_queue):
    """botocore refuses an empty list itself; without its validation it sends
    `PublishBatchRequestEntries=` and SNS answers EmptyBatchRequest."""
    sns = unvalidated_sns
    queue = new_queue()
    subscribe(sns, topic_arn, queue)
    expect_sns_error(
        sns, sns.publish_batch, "EmptyBatchRequest", "EmptyBatchRequestException",
        TopicArn=topic_arn, PublishBatchRequestEntries=[],
    )
    assert queue_is_empty(sqs, queue.url)


def test_publish_batch_to_a_missing_topic(sns, topic_arn, topic_name):
    missing = topic_arn.replace(topic_name, f"missing-{topic_name}")
    expect_sns_error(
        sns, sns.publish_batch, "NotFound", "NotFoundException", status=404,
        TopicArn=missing, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}],
    )
