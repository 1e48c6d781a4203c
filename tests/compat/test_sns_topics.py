"""SNS topics through boto3: CreateTopic (standard and FIFO, attributes, tags, idempotency),
DeleteTopic, ListTopics with NextToken and boto3's paginator, Get/SetTopicAttributes and the tag
actions, against the same `tern` (and port) the SQS files use.

SNS speaks the Query protocol in both pinned botocores; the first test checks the model and the
wire. Every rejected request is followed by a look at the state it must have left alone.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from compat_support import SNS_PROTOCOL, expect_sns_error
from conftest import ACCOUNT_ID, REGION


def arn_of(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"


def all_topic_arns(sns) -> list[str]:
    arns = []
    for page in sns.get_paginator("list_topics").paginate():
        arns.extend(topic["TopicArn"] for topic in page["Topics"])
    return arns


def test_sns_speaks_query_on_the_wire(sns, sns_wire, topic_name):
    assert SNS_PROTOCOL == "query", "SNS has only the Query protocol in every botocore"
    assert sns.meta.service_model.protocol == "query"

    created = sns.create_topic(Name=topic_name)
    assert created["TopicArn"] == arn_of(topic_name)
    attributes = sns.get_topic_attributes(TopicArn=created["TopicArn"])["Attributes"]
    assert attributes["TopicArn"] == created["TopicArn"]

    assert len(sns_wire.requests) == 2
    for request, action in zip(sns_wire.requests, ["CreateTopic", "GetTopicAttributes"]):
        headers = request["headers"]
        assert headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert "x-amz-target" not in headers
        form = urllib.parse.parse_qs(request["body"])
        assert form["Action"] == [action]
        assert form["Version"] == ["2010-03-31"]
        # Signed for SNS: that is how the shared port tells SNS from SQS.
        assert f"/{REGION}/sns/aws4_request" in headers["authorization"]

    assert [r["operation"] for r in sns_wire.responses] == ["CreateTopic", "GetTopicAttributes"]
    for response, action in zip(sns_wire.responses, ["CreateTopic", "GetTopicAttributes"]):
        assert response["status"] == 200
        assert response["headers"].get("content-type", "").startswith("text/xml"), response
        body = response["body"]
        assert f'<{action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' in body, body
        assert f"<{action}Result>" in body
        assert "<ResponseMetadata><RequestId>" in body.replace("\n", "").replace(" ", "")


def test_create_standard_topic_with_default_attributes(sns, topic_name):
    arn = sns.create_topic(Name=topic_name)["TopicArn"]
    assert arn == arn_of(topic_name)

    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["Owner"] == ACCOUNT_ID
    assert attributes["DisplayName"] == ""
    assert attributes["SubscriptionsConfirmed"] == "0"
    assert attributes["SubscriptionsPending"] == "0"
    assert attributes["SubscriptionsDeleted"] == "0"
    assert "FifoTopic" not in attributes or attributes["FifoTopic"] == "false"
    # The default access policy: the owner may do everything on this topic.
    policy = json.loads(attributes["Policy"])
    statements = policy["Statement"]
    assert len(statements) == 1
    assert statements[0]["Effect"] == "Allow"
    assert statements[0]["Resource"] == arn
    assert "SNS:Publish" in statements[0]["Action"]
    assert statements[0]["Condition"] == {"StringEquals": {"AWS:SourceOwner": ACCOUNT_ID}}
    delivery = json.loads(attributes["EffectiveDeliveryPolicy"])
    assert delivery["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3

    assert arn in all_topic_arns(sns)
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_create_with_attributes_and_tags(sns, topic_name):
    delivery_policy = {
        "http": {
            "defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 10, "numRetries": 4}
        }
    }
    arn = sns.create_topic(
        Name=topic_name,
        Attributes={"DisplayName": "Orders ✓", "DeliveryPolicy": json.dumps(delivery_policy)},
        Tags=[{"Key": "team", "Value": "core"}, {"Key": "cost-centre", "Value": ""}],
    )["TopicArn"]

    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Orders ✓"
    assert json.loads(attributes["DeliveryPolicy"]) == delivery_policy
    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert sorted(tags, key=lambda tag: tag["Key"]) == [
        {"Key": "cost-centre", "Value": ""},
        {"Key": "team", "Value": "core"},
    ]


def test_create_is_idempotent_for_the_same_name_and_settings(sns, topic_name):
    settings = dict(Attributes={"DisplayName": "News"}, Tags=[{"Key": "team", "Value": "core"}])
    first = sns.create_topic(Name=topic_name, **settings)["TopicArn"]
    again = sns.create_topic(Name=topic_name, **settings)["TopicArn"]
    bare = sns.create_topic(Name=topic_name)["TopicArn"]
    assert first == again == bare == arn_of(topic_name)
    assert all_topic_arns(sns).count(first) == 1
    assert sns.get_topic_attributes(TopicArn=first)["Attributes"]["DisplayName"] == "News"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"Attributes": {"DisplayName": "Other"}},
            "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
        ),
        (
            {"Tags": [{"Key": "team", "Value": "other"}]},
            "Invalid parameter: Tags Reason: Topic already exists with different tags",
        ),
    ],
    ids=["attributes", "tags"],
)
def test_create_again_with_different_settings_is_invalid_parameter(sns, topic_name, change, message):
    arn = sns.create_topic(
        Name=topic_name, Attributes={"DisplayName": "News"}, Tags=[{"Key": "team", "Value": "core"}]
    )["TopicArn"]
    expect_sns_error(
        sns,
        sns.create_topic,
        "InvalidParameter",
        "InvalidParameterException",
        message=message,
        Name=topic_name,
        **change,
    )
    # Nothing changed.
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "News"
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "core"}]


def test_create_with_an_empty_tag_list(sns, topic_name):
    """botocore sends an empty list as `Tags=` (no members)."""
    arn = sns.create_topic(Name=topic_name, Tags=[])["TopicArn"]
    assert arn == arn_of(topic_name)
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_fifo_topic_attributes(sns, topic_name):
    name = f"{topic_name}.fifo"
    arn = sns.create_topic(Name=name, Attributes={"FifoTopic": "true"})["TopicArn"]
    assert arn == arn_of(name)
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["FifoTopic"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"

    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["ContentBasedDeduplication"] == "true"

    # The same FIFO settings again: the same topic.
    again = sns.create_topic(
        Name=name, Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    assert again == arn
    # A FIFO topic cannot become standard.
    expect_sns_error(
        sns,
        sns.set_topic_attributes,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=arn,
        AttributeName="FifoTopic",
        AttributeValue="false",
    )
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["FifoTopic"] == "true"


def test_fifo_topic_with_content_based_deduplication_at_creation(sns, topic_name):
    name = f"{topic_name}.fifo"
    arn = sns.create_topic(
        Name=name, Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (attributes["FifoTopic"], attributes["ContentBasedDeduplication"]) == ("true", "true")


@pytest.mark.parametrize(
    "suffix, attributes",
    [
        (".fifo", {}),
        ("", {"FifoTopic": "true"}),
        ("", {"FifoTopic": "maybe"}),
        ("", {"ContentBasedDeduplication": "true"}),
        ("", {"Colour": "blue"}),
        ("", {"Policy": "not json"}),
    ],
    ids=["fifo-name-standard-topic", "fifo-topic-plain-name", "fifo-not-boolean", "dedup-on-standard",
         "unknown-attribute", "policy-not-json"],
)
def test_create_with_bad_name_or_attributes_is_invalid_parameter(sns, topic_name, suffix, attributes):
    name = topic_name + suffix
    expect_sns_error(
        sns, sns.create_topic, "InvalidParameter", "InvalidParameterException", Name=name, Attributes=attributes
    )
    assert arn_of(name) not in all_topic_arns(sns)


@pytest.mark.parametrize("name", ["has space", "x" * 257, "dot.in.name", "slash/name", "ünïcode"])
def test_invalid_topic_names(sns, name):
    expect_sns_error(sns, sns.create_topic, "InvalidParameter", "InvalidParameterException", Name=name)
    assert arn_of(name) not in all_topic_arns(sns)


def test_longest_topic_name(sns, request):
    name = ("L" + request.node.name.replace("_", "-"))[:20] + "x" * 236
    assert len(name) == 256
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == arn_of(name)
    sns.delete_topic(TopicArn=arn)


def test_set_topic_attributes_round_trip(sns, topic_arn):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "publishers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
            }
        ],
    }
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="DisplayName", AttributeValue="Renamed")
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="TracingConfig", AttributeValue="Active")
    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes["DisplayName"] == "Renamed"
    assert json.loads(attributes["Policy"]) == policy
    assert attributes["SignatureVersion"] == "2"
    assert attributes["TracingConfig"] == "Active"
    assert attributes["TopicArn"] == topic_arn
    assert attributes["Owner"] == ACCOUNT_ID


@pytest.mark.parametrize(
    "name, value",
    [
        ("Colour", "blue"),
        ("ContentBasedDeduplication", "true"),
        ("Policy", "{not json"),
        ("SignatureVersion", "3"),
        ("TracingConfig", "Sometimes"),
    ],
    ids=["unknown", "dedup-on-standard", "policy-not-json", "signature-version-3", "tracing"],
)
def test_set_topic_attributes_rejects_bad_values_and_changes_nothing(sns, topic_arn, name, value):
    before = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    expect_sns_error(
        sns,
        sns.set_topic_attributes,
        "InvalidParameter",
        "InvalidParameterException",
        TopicArn=topic_arn,
        AttributeName=name,
        AttributeValue=value,
    )
    assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"] == before


def test_delete_topic_removes_it_and_its_subscriptions(sns, sqs, topic_arn, new_queue):
    queue = new_queue()
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn)["SubscriptionArn"]

    assert sns.delete_topic(TopicArn=topic_arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert topic_arn not in all_topic_arns(sns)
    expect_sns_error(
        sns,
        sns.get_topic_attributes,
        "NotFound",
        "NotFoundException",
        status=404,
        message="Topic does not exist",
        TopicArn=topic_arn,
    )
    expect_sns_error(
        sns, sns.get_subscription_attributes, "NotFound", "NotFoundException", status=404,
        SubscriptionArn=subscription,
    )
    listed = []
    for page in sns.get_paginator("list_subscriptions").paginate():
        listed.extend(entry["SubscriptionArn"] for entry in page["Subscriptions"])
    assert subscription not in listed
    # The subscribed queue is not touched.
    assert sqs.get_queue_url(QueueName=queue.name)["QueueUrl"] == queue.url

    # Deleting a topic that does not exist is not an error in SNS.
    assert sns.delete_topic(TopicArn=topic_arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # A topic of the same name can be made again, with no subscriptions.
    name = topic_arn.rsplit(":", 1)[1]
    assert sns.create_topic(Name=name)["TopicArn"] == topic_arn
    assert sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"] == []


def test_list_topics_pages_by_one_hundred(sns, topic_name):
    names = [f"{topic_name}-{index:03d}" for index in range(105)]
    created = {sns.create_topic(Name=name)["TopicArn"] for name in names}
    assert created == {arn_of(name) for name in names}

    # By hand: follow NextToken until there is none.
    pages = []
    token = None
    while True:
        reply = sns.list_topics(**({"NextToken": token} if token else {}))
        pages.append([topic["TopicArn"] for topic in reply["Topics"]])
        token = reply.get("NextToken")
        if not token:
            break
        assert len(pages) <= 1000, "ListTopics never ended"
    assert len(pages) >= 2
    assert all(len(page) == 100 for page in pages[:-1]), [len(page) for page in pages]
    assert 1 <= len(pages[-1]) <= 100
    listed = [arn for page in pages for arn in page]
    assert len(listed) == len(set(listed)), "a topic was listed twice"
    assert created <= set(listed)
    assert all(arn.startswith(f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:") for arn in listed)

    # boto3's paginator sees the same topics, page by page.
    paginated = all_topic_arns(sns)
    assert sorted(paginated) == sorted(listed)
    full = sns.get_paginator("list_topics").paginate().build_full_result()
    assert sorted(topic["TopicArn"] for topic in full["Topics"]) == sorted(listed)

    for arn in created:
        sns.delete_topic(TopicArn=arn)
    assert not created & set(all_topic_arns(sns))


def test_list_topics_with_a_bad_token_is_invalid_parameter(sns):
    expect_sns_error(sns, sns.list_topics, "InvalidParameter", "InvalidParameterException", NextToken="not a token")


def test_tags_add_overwrite_list_remove(sns, topic_arn):
    assert sns.tag_resource(
        ResourceArn=topic_arn,
        Tags=[{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}, {"Key": "tier", "Value": "1"}],
    )["ResponseMetadata"]["HTTPStatusCode"] == 200
    sns.tag_resource(ResourceArn=topic_arn, Tags=[{"Key": "env", "Value": "prod"}])

    def tags():
        listed = sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]
        assert all(set(tag) == {"Key", "Value"} for tag in listed), listed
        return {tag["Key"]: tag["Value"] for tag in listed}

    assert tags() == {"team": "core", "env": "prod", "tier": "1"}
    sns.untag_resource(ResourceArn=topic_arn, TagKeys=["tier", "never-set"])
    assert tags() == {"team": "core", "env": "prod"}
    # Empty lists: botocore sends `Tags=` and `TagKeys=`.
    sns.untag_resource(ResourceArn=topic_arn, TagKeys=[])
    sns.tag_resource(ResourceArn=topic_arn, Tags=[])
    assert tags() == {"team": "core", "env": "prod"}
    sns.untag_resource(ResourceArn=topic_arn, TagKeys=["team", "env"])
    assert tags() == {}


def test_more_than_fifty_tags_is_tag_limit_exceeded(sns, topic_arn):
    sns.tag_resource(ResourceArn=topic_arn, Tags=[{"Key": f"k{index:02d}", "Value": "v"} for index in range(45)])
    expect_sns_error(
        sns,
        sns.tag_resource,
        "TagLimitExceeded",
        "TagLimitExceededException",
        ResourceArn=topic_arn,
        Tags=[{"Key": f"more{index}", "Value": "v"} for index in range(6)],
    )
    listed = sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]
    assert sorted(tag["Key"] for tag in listed) == [f"k{index:02d}" for index in range(45)]
    # Up to fifty is fine, and overwriting an existing key does not count twice.
    sns.tag_resource(
        ResourceArn=topic_arn,
        Tags=[{"Key": f"more{index}", "Value": "v"} for index in range(5)] + [{"Key": "k00", "Value": "w"}],
    )
    assert len(sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]) == 50


def test_tags_at_creation_over_the_limit_create_nothing(sns, topic_name):
    expect_sns_error(
        sns,
        sns.create_topic,
        "TagLimitExceeded",
        "TagLimitExceededException",
        Name=topic_name,
        Tags=[{"Key": f"k{index}", "Value": "v"} for index in range(51)],
    )
    assert arn_of(topic_name) not in all_topic_arns(sns)


@pytest.mark.parametrize(
    "tag",
    [{"Key": "k" * 129, "Value": "v"}, {"Key": "", "Value": "v"}, {"Key": "k", "Value": "v" * 257}],
    ids=["key-129", "key-empty", "value-257"],
)
def test_tag_lengths_are_checked(unvalidated_sns, topic_arn, tag):
    sns = unvalidated_sns
    sns.tag_resource(ResourceArn=topic_arn, Tags=[{"Key": "keep", "Value": "me"}])
    expect_sns_error(
        sns, sns.tag_resource, "InvalidParameter", "InvalidParameterException", ResourceArn=topic_arn, Tags=[tag]
    )
    assert sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"] == [{"Key": "keep", "Value": "me"}]


@pytest.mark.parametrize("action", ["tag_resource", "untag_resource", "list_tags_for_resource"])
def test_tags_of_a_missing_topic_are_resource_not_found(sns, topic_name, action):
    kwargs = {"ResourceArn": arn_of(f"missing-{topic_name}")}
    if action == "tag_resource":
        kwargs["Tags"] = [{"Key": "k", "Value": "v"}]
    elif action == "untag_resource":
        kwargs["TagKeys"] = ["k"]
    expect_sns_error(
        sns, getattr(sns, action), "ResourceNotFound", "ResourceNotFoundException", status=404, **kwargs
    )
    assert arn_of(f"missing-{topic_name}") not in all_topic_arns(sns)
