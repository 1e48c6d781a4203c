"""A few `aws sqs ...` and `aws sns ...` commands (aws-cli v1 from requirements-current.txt)
against Tern, with the JSON output parsed and checked.

awscli 1.46 vendors its own botocore (awscli/botocore) whose SQS model says "json", so the SQS
commands speak the AWS JSON 1.0 protocol; test_cli_speaks_json checks that on the wire via --debug.
Its SNS model says "query" (SNS has no other protocol); test_cli_sns_speaks_query checks that.

scripts/test always installs the CLI into tests/compat/.venv-current and runs this file with that
venv. Outside CI, without the CLI, the file is skipped with the reason shown in pytest's summary;
under CI=true a missing CLI fails the run instead.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from compat_support import md5_hex
from conftest import ACCOUNT_ID, COMPAT_DIR, REGION

COMMAND_TIMEOUT_S = 60


def find_aws() -> pathlib.Path | None:
    candidates = []
    if os.environ.get("TERN_AWS_CLI"):
        candidates.append(pathlib.Path(os.environ["TERN_AWS_CLI"]))
    candidates.append(pathlib.Path(sys.executable).parent / "aws")
    candidates.append(COMPAT_DIR / ".venv-current" / "bin" / "aws")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


AWS = find_aws()


@pytest.fixture(scope="module")
def aws_cli():
    if AWS is None:
        reason = (
            "aws-cli not found: set TERN_AWS_CLI or install tests/compat/requirements-current.txt "
            "into tests/compat/.venv-current (scripts/test does)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true this is a failure, not a skip")
        pytest.skip(reason)
    return AWS


@pytest.fixture
def aws(aws_cli, tern, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIDTERNCLI",
        "AWS_SECRET_ACCESS_KEY": "cli-secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_DEFAULT_OUTPUT": "json",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }

    def run(*args: str, expect_failure: bool = False, debug: bool = False, service: str = "sqs"):
        command = [str(aws_cli), "--endpoint-url", tern.endpoint, "--output", "json"]
        if debug:
            command.append("--debug")
        command += [service, *args]
        done = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        if expect_failure:
            assert done.returncode != 0, f"{args} succeeded: {done.stdout}"
            return done
        assert done.returncode == 0, f"aws {service} {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}"
        if debug:
            return done
        return json.loads(done.stdout) if done.stdout.strip() else {}

    return run


def test_cli_version_is_the_pinned_one(aws_cli):
    done = subprocess.run([str(aws_cli), "--version"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).startswith("aws-cli/1."), done.stdout + done.stderr


def test_cli_speaks_json(aws, queue_name):
    done = aws("create-queue", "--queue-name", queue_name, debug=True)
    assert "'X-Amz-Target': 'AmazonSQS.CreateQueue'" in done.stderr
    assert "application/x-amz-json-1.0" in done.stderr


def test_cli_queue_and_message_round_trip(aws, tern, queue_name):
    created = aws("create-queue", "--queue-name", queue_name, "--attributes", "VisibilityTimeout=40")
    url = created["QueueUrl"]
    assert url == tern.queue_url(queue_name)

    attributes = aws(
        "get-queue-attributes",
        "--queue-url", url,
        "--attribute-names", "VisibilityTimeout", "QueueArn", "ApproximateNumberOfMessages",
    )["Attributes"]
    assert attributes == {
        "VisibilityTimeout": "40",
        "QueueArn": f"arn:aws:sqs:{REGION}:000000000000:{queue_name}",
        "ApproximateNumberOfMessages": "0",
    }

    body = "from the aws cli ✓"
    sent = aws(
        "send-message",
        "--queue-url", url,
        "--message-body", body,
        "--message-attributes", json.dumps({"origin": {"DataType": "String", "StringValue": "cli"}}),
    )
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert sent["MessageId"]
    assert len(sent["MD5OfMessageAttributes"]) == 32

    counted = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert counted["ApproximateNumberOfMessages"] == "1"

    received = aws(
        "receive-message",
        "--queue-url", url,
        "--wait-time-seconds", "5",
        "--attribute-names", "All",
        "--message-attribute-names", "All",
    )["Messages"]
    assert len(received) == 1
    message = received[0]
    assert message["Body"] == body
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfBody"] == md5_hex(body)
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"] == {"origin": {"DataType": "String", "StringValue": "cli"}}
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["Attributes"]["SenderId"] == "AKIDTERNCLI"

    deleted = aws("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    assert deleted == {}
    after = aws(
        "get-queue-attributes",
        "--queue-url", url,
        "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
    )["Attributes"]
    assert after == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}

    listed = aws("list-queues", "--queue-name-prefix", queue_name)
    assert listed["QueueUrls"] == [url]


def test_cli_reports_missing_queue(aws, tern, queue_name):
    done = aws(
        "get-queue-attributes",
        "--queue-url", tern.queue_url(f"missing-{queue_name}"),
        "--attribute-names", "All",
        expect_failure=True,
    )
    # aws-cli v1 exits 255 on a service error (v2 uses 254).
    assert done.returncode == 255, (done.returncode, done.stderr)
    assert "AWS.SimpleQueueService.NonExistentQueue" in done.stderr, done.stderr


# ---- aws sns ----------------------------------------------------------------------------------


def test_cli_sns_speaks_query(aws, topic_name):
    done = aws("create-topic", "--name", topic_name, debug=True, service="sns")
    assert "X-Amz-Target" not in done.stderr
    assert "'Action': 'CreateTopic'" in done.stderr, done.stderr[-3000:]
    assert "'Version': '2010-03-31'" in done.stderr
    assert "/sns/aws4_request" in done.stderr
    assert json.loads(done.stdout) == {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic_name}"}


def test_cli_sns_topic_subscribe_publish_round_trip(aws, topic_name, queue_name):
    def sns(*args):
        return aws(*args, service="sns")

    created = sns(
        "create-topic",
        "--name", topic_name,
        "--attributes", "DisplayName=From the CLI",
        "--tags", "Key=team,Value=cli",
    )
    topic_arn = created["TopicArn"]
    assert topic_arn == f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic_name}"
    # create-topic is idempotent.
    assert sns("create-topic", "--name", topic_name)["TopicArn"] == topic_arn
    attributes = sns("get-topic-attributes", "--topic-arn", topic_arn)["Attributes"]
    assert attributes["DisplayName"] == "From the CLI"
    assert attributes["TopicArn"] == topic_arn
    assert sns("list-tags-for-resource", "--resource-arn", topic_arn)["Tags"] == [{"Key": "team", "Value": "cli"}]

    queue_url = aws("create-queue", "--queue-name", queue_name)["QueueUrl"]
    queue_arn = aws("get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "QueueArn")[
        "Attributes"
    ]["QueueArn"]
    subscribed = sns(
        "subscribe",
        "--topic-arn", topic_arn,
        "--protocol", "sqs",
        "--notification-endpoint", queue_arn,
        "--attributes", json.dumps({"FilterPolicy": json.dumps({"origin": ["cli"]})}),
        "--return-subscription-arn",
    )
    subscription_arn = subscribed["SubscriptionArn"]
    assert subscription_arn.startswith(f"{topic_arn}:")

    listed = sns("list-subscriptions-by-topic", "--topic-arn", topic_arn)
    assert listed["Subscriptions"] == [
        {
            "SubscriptionArn": subscription_arn,
            "Owner": ACCOUNT_ID,
            "Protocol": "sqs",
            "Endpoint": queue_arn,
            "TopicArn": topic_arn,
        }
    ]
    assert "NextToken" not in listed

    message = "published by the aws cli ✓"
    published = sns(
        "publish",
        "--topic-arn", topic_arn,
        "--message", message,
        "--subject", "CLI",
        "--message-attributes", json.dumps({"origin": {"DataType": "String", "StringValue": "cli"}}),
    )
    # Filtered out by the subscription's policy: stored nowhere.
    sns(
        "publish",
        "--topic-arn", topic_arn,
        "--message", "from elsewhere",
        "--message-attributes", json.dumps({"origin": {"DataType": "String", "StringValue": "sdk"}}),
    )
    counted = aws("get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "ApproximateNumberOfMessages")
    assert counted["Attributes"] == {"ApproximateNumberOfMessages": "1"}

    received = aws("receive-message", "--queue-url", queue_url, "--wait-time-seconds", "5")["Messages"]
    assert len(received) == 1
    envelope = json.loads(received[0]["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == "CLI"
    assert envelope["Message"] == message
    assert envelope["MessageAttributes"] == {"origin": {"Type": "String", "Value": "cli"}}

    sns("unsubscribe", "--subscription-arn", subscription_arn)
    assert sns("list-subscriptions-by-topic", "--topic-arn", topic_arn)["Subscriptions"] == []
    sns("delete-topic", "--topic-arn", topic_arn)
    assert topic_arn not in [t["TopicArn"] for t in sns("list-topics")["Topics"]]


def test_cli_sns_reports_missing_topic(aws, topic_name):
    done = aws(
        "get-topic-attributes",
        "--topic-arn", f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:missing-{topic_name}",
        expect_failure=True,
        service="sns",
    )
    assert done.returncode == 255, (done.returncode, done.stderr)
    assert "(NotFound)" in done.stderr, done.stderr
    assert "Topic does not exist" in done.stderr, done.stderr
