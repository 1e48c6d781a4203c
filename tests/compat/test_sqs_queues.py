"""Queue lifecycle, listing, attributes and tags through boto3."""

from __future__ import annotations

import time

import pytest

from compat_support import assert_error, counters, receive_all
from conftest import ACCOUNT_ID, REGION

DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
}


def test_create_is_idempotent_and_get_url_finds_it(sqs, tern, queue_name):
    attributes = {"VisibilityTimeout": "45", "DelaySeconds": "2"}
    first = sqs.create_queue(QueueName=queue_name, Attributes=attributes)
    assert first["QueueUrl"] == tern.queue_url(queue_name)
    again = sqs.create_queue(QueueName=queue_name, Attributes=attributes)
    assert again["QueueUrl"] == first["QueueUrl"]

    found = sqs.get_queue_url(QueueName=queue_name)
    assert found["QueueUrl"] == first["QueueUrl"]
    found_by_owner = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=ACCOUNT_ID)
    assert found_by_owner["QueueUrl"] == first["QueueUrl"]


def test_create_with_conflicting_attributes_is_queue_already_exists(sqs, queue_name):
    sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "46"})
    assert_error(excinfo, "QueueAlreadyExists", shape="QueueNameExists", client=sqs)
    # The existing queue is untouched.
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"] == {"VisibilityTimeout": "45"}


def test_list_queues_by_prefix_with_pagination(sqs, queue_name):
    names = [f"{queue_name[:60]}-{index}" for index in range(5)]
    urls = sorted(sqs.create_queue(QueueName=name)["QueueUrl"] for name in names)
    sqs.create_queue(QueueName=f"other-{queue_name[:60]}")

    everything = sqs.list_queues(QueueNamePrefix=queue_name[:60])
    assert sorted(everything["QueueUrls"]) == urls
    assert "NextToken" not in everything

    seen: list[str] = []
    pages = 0
    token = None
    while True:
        kwargs = {"QueueNamePrefix": queue_name[:60], "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sqs.list_queues(**kwargs)
        pages += 1
        assert 1 <= len(page["QueueUrls"]) <= 2, page
        seen.extend(page["QueueUrls"])
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert sorted(seen) == urls, "every queue exactly once across the pages"

    # boto3's paginator drives the same tokens.
    paginator = sqs.get_paginator("list_queues")
    paged = [
        url
        for page in paginator.paginate(QueueNamePrefix=queue_name[:60], PaginationConfig={"PageSize": 2})
        for url in page.get("QueueUrls", [])
    ]
    assert sorted(paged) == urls

    nothing = sqs.list_queues(QueueNamePrefix=f"absent-{queue_name}")
    assert nothing.get("QueueUrls", []) == []


def test_all_attributes_and_named_attributes(sqs, queue_name):
    before = int(time.time())
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    for name, value in DEFAULTS.items():
        assert attributes[name] == value, (name, attributes)
    assert attributes["QueueArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}"
    for name in (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ):
        assert attributes[name] == "0", (name, attributes)
    created = int(attributes["CreatedTimestamp"])
    assert before - 5 <= created <= int(time.time()) + 5, "CreatedTimestamp is epoch seconds"
    assert int(attributes["LastModifiedTimestamp"]) >= created

    named = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"]
    )["Attributes"]
    assert named == {"VisibilityTimeout": "30", "QueueArn": attributes["QueueArn"]}

    none_asked = sqs.get_queue_attributes(QueueUrl=url)
    assert none_asked.get("Attributes", {}) == {}


def test_approximate_counters_follow_messages(sqs, queue_url):
    assert counters(sqs, queue_url) == (0, 0, 0)
    sqs.send_message(QueueUrl=queue_url, MessageBody="visible-1")
    sqs.send_message(QueueUrl=queue_url, MessageBody="visible-2")
    sqs.send_message(QueueUrl=queue_url, MessageBody="delayed", DelaySeconds=60)
    assert counters(sqs, queue_url) == (2, 0, 1)

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    assert len(received["Messages"]) == 1
    assert counters(sqs, queue_url) == (1, 1, 1)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received["Messages"][0]["ReceiptHandle"])
    assert counters(sqs, queue_url) == (1, 0, 1)


def test_set_attributes_changes_them(sqs, queue_url):
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": "120",
            "MessageRetentionPeriod": "3600",
            "MaximumMessageSize": "2048",
            "DelaySeconds": "1",
            "ReceiveMessageWaitTimeSeconds": "3",
        },
    )
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "120"
    assert attributes["MessageRetentionPeriod"] == "3600"
    assert attributes["MaximumMessageSize"] == "2048"
    assert attributes["DelaySeconds"] == "1"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "3"


def test_set_attributes_is_all_or_nothing(sqs, queue_url):
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.set_queue_attributes(
            QueueUrl=queue_url,
            Attributes={"DelaySeconds": "5", "VisibilityTimeout": "43201"},
        )
    assert_error(excinfo, "InvalidAttributeValue", shape="InvalidAttributeValue", client=sqs)
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["DelaySeconds", "VisibilityTimeout"]
    )["Attributes"]
    assert attributes == {"DelaySeconds": "0", "VisibilityTimeout": "30"}


def test_tags_add_list_remove(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, tags={"team": "core", "env": "test"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "test"}

    sqs.tag_queue(QueueUrl=url, Tags={"env": "ci", "cost-centre": "42"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "team": "core",
        "env": "ci",
        "cost-centre": "42",
    }

    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "ci", "cost-centre": "42"}

    sqs.untag_queue(QueueUrl=url, TagKeys=["env", "cost-centre"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


def test_delete_queue_removes_it(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="left behind")
    sqs.delete_queue(QueueUrl=url)

    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.get_queue_url(QueueName=queue_name)
    assert_error(excinfo, "AWS.SimpleQueueService.NonExistentQueue", shape="QueueDoesNotExist", client=sqs)
    assert url not in sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", [])
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="too late")
    assert_error(excinfo, "AWS.SimpleQueueService.NonExistentQueue", shape="QueueDoesNotExist", client=sqs)


def test_purge_empties_the_queue(sqs, queue_url):
    for index in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{index}")
    in_flight = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    assert len(in_flight["Messages"]) == 1
    assert counters(sqs, queue_url) == (2, 1, 0)

    sqs.purge_queue(QueueUrl=queue_url)
    assert counters(sqs, queue_url) == (0, 0, 0)
    assert receive_all(sqs, queue_url, 1, deadline_s=2) == []

    sqs.send_message(QueueUrl=queue_url, MessageBody="after the purge")
    after = receive_all(sqs, queue_url, 1)
    assert [message["Body"] for message in after] == ["after the purge"]
