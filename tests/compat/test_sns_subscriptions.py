"""SNS subscriptions of SQS queues through boto3: Subscribe (ReturnSubscriptionArn, attributes at
subscribe time, idempotency), Unsubscribe (the action and the envelope's UnsubscribeURL),
ListSubscriptions and ListSubscriptionsByTopic with paging, Get/SetSubscriptionAttributes
(RawMessageDelivery, FilterPolicy, FilterPolicyScope), and what each change does to delivery.

Only the `sqs` protocol is exercised: http/https subscriptions are not part of this file.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest

from compat_support import (
    expect_sns_error,
    notifications,
    queue_is_empty,
    receive_all,
)
from conftest import ACCOUNT_ID

SUBSCRIPTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def subscriptions_of(sns, topic_arn: str) -> list[dict]:
    listed = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        listed.extend(page["Subscriptions"])
    return listed


def all_subscriptions(sns) -> list[dict]:
    listed = []
    for page in sns.get_paginator("list_subscriptions").paginate():
        listed.extend(page["Subscriptions"])
    return listed


def test_subscribe_a_queue(sns, topic_arn, new_queue):
    queue = new_queue()
    reply = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn, ReturnSubscriptionArn=True)
    arn = reply["SubscriptionArn"]
    prefix, _, identifier = arn.rpartition(":")
    assert prefix == topic_arn
    assert SUBSCRIPTION_ID.match(identifier), arn

    entry = {
        "SubscriptionArn": arn,
        "Owner": ACCOUNT_ID,
        "Protocol": "sqs",
        "Endpoint": queue.arn,
        "TopicArn": topic_arn,
    }
    assert subscriptions_of(sns, topic_arn) == [entry]
    assert entry in all_subscriptions(sns)

    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["SubscriptionArn"] == arn
    assert attributes["TopicArn"] == topic_arn
    assert attributes["Owner"] == ACCOUNT_ID
    assert attributes["Protocol"] == "sqs"
    assert attributes["Endpoint"] == queue.arn
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["ConfirmationWasAuthenticated"] == "true"
    assert attributes["RawMessageDelivery"] == "false"
    assert "FilterPolicy" not in attributes

    topic = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert topic["SubscriptionsConfirmed"] == "1"
    assert topic["SubscriptionsPending"] == "0"


def test_subscribe_without_return_subscription_arn_still_returns_it_for_sqs(sns, topic_arn, new_queue):
    """A same-account SQS subscription needs no confirmation, so its ARN comes back at once (it
    would be "pending confirmation" only for a subscription that needs confirming)."""
    queue = new_queue()
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]
    assert arn.startswith(f"{topic_arn}:")
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"


def test_subscribe_with_attributes(sns, topic_arn, new_queue):
    queue = new_queue()
    policy = {"order": {"status": ["paid"]}}
    arn = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue.arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps(policy),
            "FilterPolicyScope": "MessageBody",
        },
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == policy
    assert attributes["FilterPolicyScope"] == "MessageBody"


def test_subscribe_again_returns_the_same_subscription(sns, topic_arn, new_queue):
    queue = new_queue()
    attributes = {"RawMessageDelivery": "true"}
    first = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn, Attributes=attributes)
    again = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn, Attributes=attributes)
    bare = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)
    assert first["SubscriptionArn"] == again["SubscriptionArn"] == bare["SubscriptionArn"]
    assert len(subscriptions_of(sns, topic_arn)) == 1

    expect_sns_error(
        sns,
        sns.subscribe,
        "InvalidParameter",
        "InvalidParameterException",
        message="Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue.arn,
        Attributes={"RawMessageDelivery": "false"},
    )
    assert len(subscriptions_of(sns, topic_arn)) == 1
    current = sns.get_subscription_attributes(SubscriptionArn=first["SubscriptionArn"])["Attributes"]
    assert current["RawMessageDelivery"] == "true"


def test_one_queue_on_two_topics_and_two_queues_on_one_topic(sns, topic_arn, topic_name, new_queue):
    other_topic = sns.create_topic(Name=f"{topic_name}-other")["TopicArn"]
    shared, second = new_queue("shared"), new_queue("second")
    a = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=shared.arn)["SubscriptionArn"]
    b = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=second.arn)["SubscriptionArn"]
    c = sns.subscribe(TopicArn=other_topic, Protocol="sqs", Endpoint=shared.arn)["SubscriptionArn"]
    assert len({a, b, c}) == 3
    assert {s["SubscriptionArn"] for s in subscriptions_of(sns, topic_arn)} == {a, b}
    assert [s["SubscriptionArn"] for s in subscriptions_of(sns, other_topic)] == [c]
    assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["SubscriptionsConfirmed"] == "2"


def test_unsubscribe_removes_the_subscription_and_stops_delivery(sns, sqs, topic_arn, new_queue):
    kept, dropped = new_queue("kept"), new_queue("dropped")
    kept_arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=kept.arn)["SubscriptionArn"]
    dropped_arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=dropped.arn)["SubscriptionArn"]

    assert sns.unsubscribe(SubscriptionArn=dropped_arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [s["SubscriptionArn"] for s in subscriptions_of(sns, topic_arn)] == [kept_arn]
    assert dropped_arn not in {s["SubscriptionArn"] for s in all_subscriptions(sns)}
    expect_sns_error(
        sns,
        sns.get_subscription_attributes,
        "NotFound",
        "NotFoundException",
        status=404,
        message="Subscription does not exist",
        SubscriptionArn=dropped_arn,
    )
    assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["SubscriptionsConfirmed"] == "1"

    sns.publish(TopicArn=topic_arn, Message="after the unsubscribe")
    assert [n["Message"] for n in notifications(receive_all(sqs, kept.url, 1))] == ["after the unsubscribe"]
    assert queue_is_empty(sqs, dropped.url)


def test_the_unsubscribe_url_of_a_notification_unsubscribes(sns, sqs, topic_arn, new_queue):
    """AWS: visiting the envelope's UnsubscribeURL unsubscribes the endpoint (an unsigned GET)."""
    queue = new_queue()
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic_arn, Message="how to leave")
    (notification,) = notifications(receive_all(sqs, queue.url, 1))
    url = notification["UnsubscribeURL"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"Action": ["Unsubscribe"], "SubscriptionArn": [arn]}

    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        body = response.read().decode()
    assert "<UnsubscribeResponse" in body, body
    assert subscriptions_of(sns, topic_arn) == []


def test_list_subscriptions_by_topic_pages_by_one_hundred(sns, topic_arn, new_queue):
    queues = [new_queue(f"p{index}") for index in range(105)]
    arns = {
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]
        for queue in queues
    }
    assert len(arns) == 105

    pages = []
    token = None
    while True:
        kwargs = {"TopicArn": topic_arn}
        if token:
            kwargs["NextToken"] = token
        reply = sns.list_subscriptions_by_topic(**kwargs)
        pages.append(reply["Subscriptions"])
        token = reply.get("NextToken")
        if not token:
            break
        assert len(pages) <= 10, "ListSubscriptionsByTopic never ended"
    assert [len(page) for page in pages] == [100, 5]
    listed = [entry for page in pages for entry in page]
    assert {entry["SubscriptionArn"] for entry in listed} == arns
    assert len(listed) == 105
    assert {entry["Endpoint"] for entry in listed} == {queue.arn for queue in queues}
    assert all(entry["TopicArn"] == topic_arn and entry["Protocol"] == "sqs" for entry in listed)

    assert sorted(s["SubscriptionArn"] for s in subscriptions_of(sns, topic_arn)) == sorted(arns)

    # ListSubscriptions pages the same way over every topic's subscriptions.
    first = sns.list_subscriptions()
    assert len(first["Subscriptions"]) == 100
    assert first.get("NextToken")
    everything = all_subscriptions(sns)
    everything_arns = [entry["SubscriptionArn"] for entry in everything]
    assert len(everything_arns) == len(set(everything_arns)), "a subscription was listed twice"
    assert arns <= set(everything_arns)

    # A topic's subscriptions go with it.
    sns.delete_topic(TopicArn=topic_arn)
    assert not arns & {entry["SubscriptionArn"] for entry in all_subscriptions(sns)}


def test_list_subscriptions_by_topic_with_a_bad_token(sns, topic_arn):
    expect_sns_error(
        sns,
        sns.list_subscriptions_by_topic,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        NextToken="not a token",
    )


def test_raw_message_delivery_can_be_switched(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]

    sns.publish(TopicArn=topic_arn, Message="wrapped")
    (wrapped,) = receive_all(sqs, queue.url, 1)
    assert json.loads(wrapped["Body"])["Message"] == "wrapped"
    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=wrapped["ReceiptHandle"])

    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["RawMessageDelivery"] == "true"
    sns.publish(TopicArn=topic_arn, Message="bare")
    (bare,) = receive_all(sqs, queue.url, 1)
    assert bare["Body"] == "bare"
    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=bare["ReceiptHandle"])

    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="false")
    sns.publish(TopicArn=topic_arn, Message="wrapped again")
    (again,) = receive_all(sqs, queue.url, 1)
    assert json.loads(again["Body"])["Message"] == "wrapped again"


def publish_colours(sns, topic_arn):
    for colour in ["red", "blue", "green"]:
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps({"colour": colour}),
            MessageAttributes={"colour": {"DataType": "String", "StringValue": colour}},
        )


def received_colours(sqs, queue, expected: int) -> list[str]:
    messages = receive_all(sqs, queue.url, expected)
    for message in messages:
        sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
    assert queue_is_empty(sqs, queue.url)
    return sorted(json.loads(n["Message"])["colour"] for n in notifications(messages))


def test_filter_policy_set_changed_scoped_and_removed(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]

    # On message attributes (the default scope).
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps({"colour": ["red"]})
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"colour": ["red"]}
    assert attributes["FilterPolicyScope"] == "MessageAttributes"
    publish_colours(sns, topic_arn)
    assert received_colours(sqs, queue, 1) == ["red"]

    # The same policy on the body: the body carries {"colour": ...} too.
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps({"colour": ["blue", "green"]})
    )
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageBody"
    publish_colours(sns, topic_arn)
    assert received_colours(sqs, queue, 2) == ["blue", "green"]

    # AWS: setting the FilterPolicy to {} removes it; every message is delivered again.
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="{}")
    publish_colours(sns, topic_arn)
    assert received_colours(sqs, queue, 3) == ["blue", "green", "red"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert "FilterPolicy" not in attributes, attributes


@pytest.mark.parametrize(
    "name, value",
    [
        ("RawMessageDelivery", "yes"),
        ("FilterPolicyScope", "Body"),
        ("FilterPolicy", "{not json"),
        ("FilterPolicy", json.dumps({"colour": "red"})),
        ("FilterPolicy", json.dumps({"colour": []})),
        ("FilterPolicy", json.dumps({"n": [{"numeric": [">", "x"]}]})),
        ("Colour", "blue"),
    ],
    ids=["raw-not-boolean", "scope", "policy-not-json", "policy-not-array", "policy-empty-array",
         "policy-bad-numeric", "unknown-attribute"],
)
def test_set_subscription_attributes_rejects_bad_values_and_changes_nothing(sns, topic_arn, new_queue, name, value):
    queue = new_queue()
    arn = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue.arn,
        Attributes={"FilterPolicy": json.dumps({"colour": ["red"]}), "RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    before = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    expect_sns_error(
        sns,
        sns.set_subscription_attributes,
        "InvalidParameter",
        "InvalidParameterException",
        SubscriptionArn=arn,
        AttributeName=name,
        AttributeValue=value,
    )
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"] == before


def test_filter_policy_invalid_at_subscribe_time_subscribes_nothing(sns, topic_arn, new_queue):
    queue = new_queue()
    error = expect_sns_error(
        sns,
        sns.subscribe,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue.arn,
        Attributes={"FilterPolicy": "{not json"},
    )
    assert error["Message"].startswith("Invalid parameter: "), error
    assert "FilterPolicy" in error["Message"], error
    assert subscriptions_of(sns, topic_arn) == []


@pytest.mark.parametrize(
    "protocol, endpoint",
    [
        ("carrier-pigeon", "coo"),
        ("sqs", "not-an-arn"),
        ("sqs", "arn:aws:sns:us-east-1:000000000000:a-topic-not-a-queue"),
    ],
    ids=["unknown-protocol", "endpoint-not-an-arn", "endpoint-not-a-queue"],
)
def test_subscribe_with_a_bad_protocol_or_endpoint(sns, topic_arn, protocol, endpoint):
    expect_sns_error(
        sns,
        sns.subscribe,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
    )
    assert subscriptions_of(sns, topic_arn) == []


def test_fifo_and_standard_do_not_mix(sns, topic_arn, topic_name, new_queue):
    fifo_topic = sns.create_topic(Name=f"{topic_name}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    fifo_queue, standard_queue = new_queue("f", fifo=True), new_queue("s")

    expect_sns_error(
        sns,
        sns.subscribe,
        "InvalidParameter",
        "InvalidParameterException",
        message="Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=fifo_queue.arn,
    )
    expect_sns_error(
        sns,
        sns.subscribe,
        "InvalidParameter",
        "InvalidParameterException",
        message="Invalid parameter: Invalid parameter: Endpoint Reason: Please use FIFO SQS queue",
        TopicArn=fifo_topic,
        Protocol="sqs",
        Endpoint=standard_queue.arn,
    )
    assert subscriptions_of(sns, topic_arn) == []
    assert subscriptions_of(sns, fifo_topic) == []

    # The matching pairs are fine.
    sns.subscribe(TopicArn=fifo_topic, Protocol="sqs", Endpoint=fifo_queue.arn)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=standard_queue.arn)
    assert [s["Endpoint"] for s in subscriptions_of(sns, fifo_topic)] == [fifo_queue.arn]
    assert [s["Endpoint"] for s in subscriptions_of(sns, topic_arn)] == [standard_queue.arn]


def test_subscription_of_a_missing_topic_or_subscription(sns, topic_arn, topic_name, new_queue):
    queue = new_queue()
    missing_topic = topic_arn.replace(topic_name, f"missing-{topic_name}")
    expect_sns_error(
        sns, sns.subscribe, "NotFound", "NotFoundException", status=404, message="Topic does not exist",
        TopicArn=missing_topic, Protocol="sqs", Endpoint=queue.arn,
    )
    expect_sns_error(
        sns, sns.list_subscriptions_by_topic, "NotFound", "NotFoundException", status=404, TopicArn=missing_topic,
    )
    missing_subscription = f"{topic_arn}:00000000-0000-4000-8000-000000000000"
    for call, kwargs in [
        (sns.get_subscription_attributes, {}),
        (sns.set_subscription_attributes, {"AttributeName": "RawMessageDelivery", "AttributeValue": "true"}),
    ]:
        expect_sns_error(
            sns, call, "NotFound", "NotFoundException", status=404, message="Subscription does not exist",
            SubscriptionArn=missing_subscription, **kwargs,
        )
