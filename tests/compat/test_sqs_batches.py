"""SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch: digests per entry,
partial failures reported per entry, whole-request failures that change nothing."""

from __future__ import annotations

import pytest

from compat_support import assert_error, counters, md5_hex, md5_of_message_attributes, receive_all

ATTRIBUTES = {
    "kind": {"DataType": "String", "StringValue": "batch"},
    "n": {"DataType": "Number", "StringValue": "7"},
    "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
}


def failed_by_id(reply) -> dict:
    return {entry["Id"]: entry for entry in reply.get("Failed", [])}


def assert_sender_fault(entry: dict, code: str):
    assert entry["SenderFault"] is True, entry
    assert entry["Code"] == code, entry
    assert entry.get("Message"), entry


def test_send_batch_reports_every_entry_with_digests(sqs, queue_url):
    entries = [
        {"Id": "plain", "MessageBody": "one"},
        {"Id": "with-attributes", "MessageBody": "two ✓", "MessageAttributes": ATTRIBUTES},
        {"Id": "delayed_3", "MessageBody": "three", "DelaySeconds": 1},
    ]
    reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert reply.get("Failed", []) == []
    successful = {entry["Id"]: entry for entry in reply["Successful"]}
    assert set(successful) == {"plain", "with-attributes", "delayed_3"}
    for entry in entries:
        result = successful[entry["Id"]]
        assert result["MD5OfMessageBody"] == md5_hex(entry["MessageBody"])
        assert result["MessageId"]
        if "MessageAttributes" in entry:
            assert result["MD5OfMessageAttributes"] == md5_of_message_attributes(entry["MessageAttributes"])
        else:
            assert "MD5OfMessageAttributes" not in result
    assert len({result["MessageId"] for result in successful.values()}) == 3

    received = receive_all(sqs, queue_url, 3, MessageAttributeNames=["All"])
    by_body = {message["Body"]: message for message in received}
    assert set(by_body) == {"one", "two ✓", "three"}
    assert by_body["two ✓"]["MessageAttributes"] == ATTRIBUTES
    assert by_body["two ✓"]["MessageId"] == successful["with-attributes"]["MessageId"]


def test_send_batch_with_bad_entries_sends_the_others(sqs, queue_url):
    entries = [
        {"Id": "good-1", "MessageBody": "fine"},
        {"Id": "bad-body", "MessageBody": "control \x01 character"},
        {"Id": "good-2", "MessageBody": "also fine"},
    ]
    reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert {entry["Id"] for entry in reply["Successful"]} == {"good-1", "good-2"}
    failed = failed_by_id(reply)
    assert set(failed) == {"bad-body"}
    assert_sender_fault(failed["bad-body"], "InvalidMessageContents")

    bodies = sorted(message["Body"] for message in receive_all(sqs, queue_url, 2))
    assert bodies == ["also fine", "fine"]
    assert counters(sqs, queue_url)[0] == 0


def test_delete_batch_deletes_valid_entries_and_reports_bad_handles(sqs, queue_url):
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": f"m{index}", "MessageBody": f"m{index}"} for index in range(3)],
    )
    received = receive_all(sqs, queue_url, 3, VisibilityTimeout=60)
    assert len(received) == 3
    entries = [{"Id": f"d{index}", "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(received[:2])]
    entries.append({"Id": "garbage", "ReceiptHandle": "not-a-receipt-handle"})
    reply = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    assert {entry["Id"] for entry in reply["Successful"]} == {"d0", "d1"}
    failed = failed_by_id(reply)
    assert set(failed) == {"garbage"}
    assert_sender_fault(failed["garbage"], "ReceiptHandleIsInvalid")
    assert counters(sqs, queue_url) == (0, 1, 0)


def test_change_visibility_batch_changes_valid_entries_and_reports_bad_handles(sqs, queue_url):
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": f"m{index}", "MessageBody": f"m{index}"} for index in range(2)],
    )
    received = receive_all(sqs, queue_url, 2, VisibilityTimeout=600)
    release, keep = received
    reply = sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "release", "ReceiptHandle": release["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "keep", "ReceiptHandle": keep["ReceiptHandle"], "VisibilityTimeout": 900},
            {"Id": "garbage", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 0},
        ],
    )
    assert {entry["Id"] for entry in reply["Successful"]} == {"release", "keep"}
    failed = failed_by_id(reply)
    assert set(failed) == {"garbage"}
    assert_sender_fault(failed["garbage"], "ReceiptHandleIsInvalid")

    again = receive_all(sqs, queue_url, 2, deadline_s=3)
    assert [m["Body"] for m in again] == [release["Body"]]


@pytest.mark.parametrize("action", ["send", "delete", "change"])
def test_empty_batch_is_empty_batch_request(unvalidated_sqs, queue_url, action):
    sqs = unvalidated_sqs
    call = {
        "send": sqs.send_message_batch,
        "delete": sqs.delete_message_batch,
        "change": sqs.change_message_visibility_batch,
    }[action]
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        call(QueueUrl=queue_url, Entries=[])
    assert_error(excinfo, "AWS.SimpleQueueService.EmptyBatchRequest", shape="EmptyBatchRequest", client=sqs)


def test_more_than_ten_entries_is_too_many_entries(sqs, queue_url):
    entries = [{"Id": f"e{index}", "MessageBody": "x"} for index in range(11)]
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert_error(
        excinfo,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        shape="TooManyEntriesInBatchRequest",
        client=sqs,
    )
    deletes = [{"Id": f"d{index}", "ReceiptHandle": f"handle-{index}"} for index in range(11)]
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=deletes)
    assert_error(excinfo, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
    assert counters(sqs, queue_url) == (0, 0, 0), "a rejected batch stored nothing"


def test_repeated_ids_are_batch_entry_ids_not_distinct(sqs, queue_url):
    entries = [
        {"Id": "same", "MessageBody": "one"},
        {"Id": "other", "MessageBody": "two"},
        {"Id": "same", "MessageBody": "three"},
    ]
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert_error(
        excinfo,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        shape="BatchEntryIdsNotDistinct",
        client=sqs,
    )
    assert counters(sqs, queue_url) == (0, 0, 0), "a rejected batch stored nothing"


def test_invalid_entry_id_is_invalid_batch_entry_id(sqs, queue_url):
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "has space", "MessageBody": "x"}])
    assert_error(
        excinfo,
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        shape="InvalidBatchEntryId",
        client=sqs,
    )
    assert counters(sqs, queue_url) == (0, 0, 0)


def test_batch_over_the_total_size_is_batch_request_too_long(sqs, queue_url):
    # Each entry is within the per-message limit; together they exceed 1 MiB.
    entries = [{"Id": f"e{index}", "MessageBody": "x" * (300 * 1024)} for index in range(4)]
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert_error(
        excinfo,
        "AWS.SimpleQueueService.BatchRequestTooLong",
        shape="BatchRequestTooLong",
        client=sqs,
    )
    assert counters(sqs, queue_url) == (0, 0, 0)
