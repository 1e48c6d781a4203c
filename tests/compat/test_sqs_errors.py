"""AWS error codes, HTTP statuses and exception classes as each client flavour surfaces them.

What the two pinned flavours surface (see compat_support.assert_error):
- Error.Code is the Query-protocol code in both, e.g. AWS.SimpleQueueService.NonExistentQueue
  (the JSON flavour takes it from Tern's x-amzn-query-error header);
- modelled errors raise client.exceptions.<Shape> in both (QueueDoesNotExist, QueueNameExists,
  ReceiptHandleIsInvalid, EmptyBatchRequest, ...); the JSON flavour also reports the shape as
  Error.QueryErrorCode;
- InvalidAttributeValue is modelled only in the JSON-era model: the Query flavour (botocore
  1.31.80) raises a plain ClientError with Code InvalidAttributeValue;
- InvalidParameterValue and MissingParameter are modelled in neither: a plain ClientError.
"""

from __future__ import annotations

import pytest

from compat_support import assert_error


def expect(client, call, **kwargs):
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo


NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


@pytest.mark.parametrize(
    "action",
    [
        "get_queue_attributes",
        "send_message",
        "receive_message",
        "delete_queue",
        "purge_queue",
        "list_queue_tags",
    ],
)
def test_missing_queue_is_queue_does_not_exist(sqs, tern, queue_name, action):
    url = tern.queue_url(f"missing-{queue_name}")
    kwargs = {"QueueUrl": url}
    if action == "send_message":
        kwargs["MessageBody"] = "nobody home"
    excinfo = expect(sqs, getattr(sqs, action), **kwargs)
    assert_error(excinfo, NON_EXISTENT, shape="QueueDoesNotExist", client=sqs)


def test_get_queue_url_of_missing_queue(sqs, queue_name):
    excinfo = expect(sqs, sqs.get_queue_url, QueueName=f"missing-{queue_name}")
    assert_error(excinfo, NON_EXISTENT, shape="QueueDoesNotExist", client=sqs)


def test_invalid_receipt_handle(sqs, queue_url):
    excinfo = expect(sqs, sqs.delete_message, QueueUrl=queue_url, ReceiptHandle="garbage")
    assert_error(excinfo, "ReceiptHandleIsInvalid", status=404, shape="ReceiptHandleIsInvalid", client=sqs)
    excinfo = expect(
        sqs, sqs.change_message_visibility, QueueUrl=queue_url, ReceiptHandle="garbage", VisibilityTimeout=5
    )
    assert_error(excinfo, "ReceiptHandleIsInvalid", status=404, shape="ReceiptHandleIsInvalid", client=sqs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"MaxNumberOfMessages": 11},
        {"MaxNumberOfMessages": 0},
        {"VisibilityTimeout": 43201},
        {"WaitTimeSeconds": 21},
    ],
    ids=["max-messages-11", "max-messages-0", "visibility-43201", "wait-21"],
)
def test_receive_out_of_range_is_invalid_parameter_value(sqs, queue_url, kwargs):
    excinfo = expect(sqs, sqs.receive_message, QueueUrl=queue_url, **kwargs)
    assert_error(excinfo, "InvalidParameterValue")
    name, value = next(iter(kwargs.items()))
    assert name in excinfo.value.response["Error"]["Message"]


def test_change_visibility_out_of_range(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    message = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)["Messages"][0]
    excinfo = expect(
        sqs,
        sqs.change_message_visibility,
        QueueUrl=queue_url,
        ReceiptHandle=message["ReceiptHandle"],
        VisibilityTimeout=43201,
    )
    assert_error(excinfo, "InvalidParameterValue")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"DelaySeconds": 901},
        {"MessageBody": "nul \x00 is not allowed"},
        {"MessageAttributes": {"n": {"DataType": "Number", "StringValue": "not a number"}}},
        {"MessageAttributes": {"w": {"DataType": "Weird", "StringValue": "x"}}},
        {"MessageAttributes": {"AWS.reserved": {"DataType": "String", "StringValue": "x"}}},
    ],
    ids=["delay-901", "nul-in-body", "bad-number", "unknown-type", "reserved-name"],
)
def test_invalid_send_is_rejected(sqs, queue_url, kwargs):
    arguments = {"QueueUrl": queue_url, "MessageBody": "body"}
    arguments.update(kwargs)
    excinfo = expect(sqs, sqs.send_message, **arguments)
    code = excinfo.value.response["Error"]["Code"]
    expected = "InvalidMessageContents" if "MessageBody" in kwargs else "InvalidParameterValue"
    assert code == expected, excinfo.value.response
    assert_error(excinfo, expected)


def test_unknown_attribute_name(sqs, queue_url):
    excinfo = expect(sqs, sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=["Colour"])
    assert_error(excinfo, "InvalidAttributeName", shape="InvalidAttributeName", client=sqs)
    excinfo = expect(sqs, sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"Colour": "blue"})
    assert_error(excinfo, "InvalidAttributeName", shape="InvalidAttributeName", client=sqs)
    excinfo = expect(sqs, sqs.create_queue, QueueName=f"{queue_url.rsplit('/', 1)[1]}-x", Attributes={"Colour": "blue"})
    assert_error(excinfo, "InvalidAttributeName", shape="InvalidAttributeName", client=sqs)


@pytest.mark.parametrize(
    "attributes",
    [{"VisibilityTimeout": "43201"}, {"DelaySeconds": "-1"}, {"MaximumMessageSize": "1023"}],
    ids=["visibility", "delay", "max-size"],
)
def test_invalid_attribute_value(sqs, queue_name, attributes):
    excinfo = expect(sqs, sqs.create_queue, QueueName=queue_name, Attributes=attributes)
    assert_error(excinfo, "InvalidAttributeValue", shape="InvalidAttributeValue", client=sqs)
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


@pytest.mark.parametrize("name", ["has space", "x" * 81, "dot.not.allowed"])
def test_invalid_queue_name(sqs, name):
    excinfo = expect(sqs, sqs.create_queue, QueueName=name)
    assert_error(excinfo, "InvalidParameterValue")


def test_list_queues_max_results_out_of_range(sqs):
    excinfo = expect(sqs, sqs.list_queues, MaxResults=1001)
    assert_error(excinfo, "InvalidParameterValue")


def test_purge_twice_within_a_minute_is_purge_queue_in_progress(sqs, queue_url):
    sqs.purge_queue(QueueUrl=queue_url)
    excinfo = expect(sqs, sqs.purge_queue, QueueUrl=queue_url)
    assert_error(
        excinfo,
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        status=403,
        shape="PurgeQueueInProgress",
        client=sqs,
    )
