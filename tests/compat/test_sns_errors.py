"""SNS error codes, HTTP statuses and exception classes as boto3 surfaces them, across actions.

Both pinned botocores speak Query to SNS and model every error used here, so each raises
`client.exceptions.<Shape>`: NotFound -> NotFoundException (404), ResourceNotFound ->
ResourceNotFoundException (404), InvalidParameter -> InvalidParameterException (400),
ParameterValueInvalid -> InvalidParameterValueException (400). The action-specific errors are in
the other test_sns_*.py files.
"""

from __future__ import annotations

import pytest

from compat_support import expect_sns_error

# Each action that names a topic, with the rest of a valid request.
TOPIC_ACTIONS = {
    "get_topic_attributes": {},
    "set_topic_attributes": {"AttributeName": "DisplayName", "AttributeValue": "x"},
    "subscribe": {"Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:any"},
    "list_subscriptions_by_topic": {},
    "publish": {"Message": "m"},
    "publish_batch": {"PublishBatchRequestEntries": [{"Id": "a", "Message": "m"}]},
}


@pytest.mark.parametrize("action", sorted(TOPIC_ACTIONS))
def test_missing_topic_is_not_found(sns, topic_name, action):
    missing = f"arn:aws:sns:us-east-1:000000000000:missing-{topic_name}"
    expect_sns_error(
        sns,
        getattr(sns, action),
        "NotFound",
        "NotFoundException",
        status=404,
        message="Topic does not exist",
        TopicArn=missing,
        **TOPIC_ACTIONS[action],
    )
    # None of them made the topic.
    expect_sns_error(sns, sns.get_topic_attributes, "NotFound", "NotFoundException", status=404, TopicArn=missing)


@pytest.mark.parametrize("action", sorted(TOPIC_ACTIONS))
@pytest.mark.parametrize(
    "arn",
    ["not-an-arn", "arn:aws:sqs:us-east-1:000000000000:a-queue", "arn:aws:sns:us-east-1:000000000000"],
    ids=["not-an-arn", "sqs-arn", "no-name"],
)
def test_malformed_topic_arn_is_invalid_parameter(sns, action, arn):
    expect_sns_error(
        sns, getattr(sns, action), "InvalidParameter", "InvalidParameterException", TopicArn=arn, **TOPIC_ACTIONS[action]
    )


def test_topic_of_another_account_is_not_found(sns, topic_arn):
    elsewhere = topic_arn.replace(":000000000000:", ":111111111111:")
    expect_sns_error(sns, sns.get_topic_attributes, "NotFound", "NotFoundException", status=404, TopicArn=elsewhere)
    expect_sns_error(sns, sns.publish, "NotFound", "NotFoundException", status=404, TopicArn=elsewhere, Message="m")


@pytest.mark.parametrize(
    "arn",
    ["not-an-arn", "arn:aws:sns:us-east-1:000000000000:"],
    ids=["not-an-arn", "empty-id"],
)
def test_malformed_subscription_arn_is_invalid_parameter(sns, arn):
    expect_sns_error(
        sns, sns.get_subscription_attributes, "InvalidParameter", "InvalidParameterException", SubscriptionArn=arn
    )


@pytest.mark.parametrize(
    "action, kwargs",
    [
        ("create_topic", {}),
        ("get_topic_attributes", {}),
        ("subscribe", {"Protocol": "sqs"}),
        ("publish", {"Message": "m"}),
        ("publish", {"TopicArn": "arn:aws:sns:us-east-1:000000000000:whatever"}),
        ("set_subscription_attributes", {"AttributeName": "RawMessageDelivery"}),
        ("list_tags_for_resource", {}),
    ],
    ids=["create-no-name", "get-no-arn", "subscribe-no-topic", "publish-no-target", "publish-no-message",
         "set-subscription-no-arn", "list-tags-no-arn"],
)
def test_missing_required_parameter_is_invalid_parameter(unvalidated_sns, action, kwargs):
    """Without botocore's own check, Tern answers a missing required member itself."""
    sns = unvalidated_sns
    expect_sns_error(sns, getattr(sns, action), "InvalidParameter", "InvalidParameterException", **kwargs)

