"""The run speaks the protocol it is meant to: the botocore model, the request on the wire and
Tern's reply all agree with the flavour scripts/test asked for."""

from __future__ import annotations

import os

from compat_support import PROTOCOL
from conftest import EXPECTED_PROTOCOL


def test_flavour_is_the_expected_protocol_on_the_wire(sqs, wire, queue_name):
    under_ci = os.environ.get("CI") == "true"
    if EXPECTED_PROTOCOL is None:
        assert not under_ci, "scripts/test must set TERN_COMPAT_EXPECT_PROTOCOL under CI=true"
    else:
        assert PROTOCOL == EXPECTED_PROTOCOL, (
            f"this venv's botocore speaks {PROTOCOL!r} to SQS, the run expected {EXPECTED_PROTOCOL!r}"
        )
    assert sqs.meta.service_model.protocol == PROTOCOL

    created = sqs.create_queue(QueueName=queue_name)
    assert created["QueueUrl"].endswith(f"/000000000000/{queue_name}")
    listed = sqs.list_queues(QueueNamePrefix=queue_name)
    assert listed["QueueUrls"] == [created["QueueUrl"]]

    assert len(wire.requests) == 2
    for request, action in zip(wire.requests, ["CreateQueue", "ListQueues"]):
        headers = request["headers"]
        if PROTOCOL == "json":
            assert headers["content-type"] == "application/x-amz-json-1.0"
            assert headers["x-amz-target"] == f"AmazonSQS.{action}"
            assert request["body"].startswith("{")
        else:
            assert headers["content-type"].startswith("application/x-www-form-urlencoded")
            assert "x-amz-target" not in headers
            assert f"Action={action}" in request["body"].split("&")
            assert "Version=2012-11-05" in request["body"].split("&")
        assert "credential=akidterncompat/" in headers["authorization"].lower()

    assert [r["operation"] for r in wire.responses] == ["CreateQueue", "ListQueues"]
    for response in wire.responses:
        assert response["status"] == 200
        content_type = response["headers"].get("content-type", "")
        if PROTOCOL == "json":
            assert content_type.startswith("application/x-amz-json-1.0"), response
        else:
            assert content_type.startswith("text/xml"), response
            assert response["body"].lstrip().startswith("<"), response
            assert "<QueueUrl>" in response["body"] or "<ListQueuesResult" in response["body"]
