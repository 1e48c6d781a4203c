"""Amazon States Language behaviour end to end through boto3 — Choice, Map (ItemSelector,
MaxConcurrency), Parallel, Retry then Catch (States.ALL), Wait (SecondsPath), intrinsic
functions, the context object — and the request-response integrations `sqs:sendMessage` and
`sns:publish`, each message read back from the queue (or the topic's subscribed queue) with the
SQS client. Expected values are computed here, independently of Tern.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from compat_support import (
    assert_well_formed_history,
    full_history,
    md5_hex,
    receive_json_body,
    wait_for_end,
)
from conftest import ACCOUNT_ID, REGION, SFN_ROLE


def run(sfn, name: str, definition: dict, payload, execution: str = "run") -> tuple[dict, list[dict]]:
    """Creates the machine, runs one execution to its end (bounded) and returns
    (DescribeExecution's reply, the whole history)."""
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=SFN_ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=execution, input=json.dumps(payload))["executionArn"]
    described = wait_for_end(sfn, arn)
    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    return described, events


def output_of(described: dict):
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


CHOICE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.amount", "NumericGreaterThanEquals": 1000},
                        {"Not": {"Variable": "$.vip", "BooleanEquals": True}},
                    ],
                    "Next": "Review",
                },
                {"Variable": "$.country", "StringMatches": "G*", "Next": "Germany"},
                {"Or": [{"Variable": "$.amount", "NumericLessThanPath": "$.limit"}, {"Variable": "$.tag", "IsPresent": True}], "Next": "Fast"},
            ],
            "Default": "Reject",
        },
        "Review": {"Type": "Pass", "Result": "review", "End": True},
        "Germany": {"Type": "Pass", "Result": "germany", "End": True},
        "Fast": {"Type": "Pass", "Result": "fast", "End": True},
        "Reject": {"Type": "Fail", "Error": "Route.None", "Cause": "no rule matched"},
    },
}


def test_choice_routes_on_comparisons_and_falls_back_to_default(sfn, sfn_name):
    machine = sfn.create_state_machine(name=sfn_name(), definition=json.dumps(CHOICE), roleArn=SFN_ROLE)["stateMachineArn"]
    cases = [
        ({"amount": 5000, "vip": False, "limit": 0}, "review"),
        ({"amount": 5000, "vip": True, "country": "GB", "limit": 0}, "germany"),
        ({"amount": 10, "vip": True, "country": "FR", "limit": 50}, "fast"),
        ({"amount": 10, "vip": True, "country": "FR", "limit": 5, "tag": None}, "fast"),
    ]
    arns = [sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"] for payload, _ in cases]
    for arn, (payload, expected) in zip(arns, cases):
        assert output_of(wait_for_end(sfn, arn)) == expected, payload
        events = full_history(sfn, arn)
        assert [e["type"] for e in events][:3] == ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited"]
    rejected = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"amount": 10, "vip": True, "country": "FR", "limit": 5}))
    failed = wait_for_end(sfn, rejected["executionArn"])
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Route.None", "no rule matched")


def test_a_choice_without_a_match_or_default_fails_with_no_choice_matched(sfn, sfn_name):
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Done"}]},
            "Done": {"Type": "Succeed"},
        },
    }, {"n": 2})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.NoChoiceMatched"
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"]["error"] == "States.NoChoiceMatched"


def test_map_with_item_selector_and_max_concurrency(sfn, sfn_name):
    items = ["a", "b", "c", "d", "e"]
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "prefix.$": "$.prefix"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Label",
                    "States": {
                        "Label": {"Type": "Pass", "Parameters": {"label.$": "States.Format('{}{}-{}', $.prefix, $.index, $.value)"}, "Next": "Nap"},
                        "Nap": {"Type": "Wait", "Seconds": 5, "End": True},
                    },
                },
                "ResultPath": "$.labels",
                "End": True,
            }
        },
    }, {"items": items, "prefix": "#"})
    assert output_of(described) == {
        "items": items,
        "prefix": "#",
        "labels": [{"label": f"#{i}-{v}"} for i, v in enumerate(items)],
    }, "results keep the items' order"
    types = [e["type"] for e in events]
    assert types[:3] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]
    started = events[2]["mapStateStartedEventDetails"]
    assert started == {"length": 5}
    iteration_started = [e for e in events if e["type"] == "MapIterationStarted"]
    iteration_succeeded = [e for e in events if e["type"] == "MapIterationSucceeded"]
    assert sorted(e["mapIterationStartedEventDetails"]["index"] for e in iteration_started) == [0, 1, 2, 3, 4]
    assert sorted(e["mapIterationSucceededEventDetails"]["index"] for e in iteration_succeeded) == [0, 1, 2, 3, 4]
    assert all(e["mapIterationStartedEventDetails"]["name"] == "Each" for e in iteration_started)
    assert types[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]

    # MaxConcurrency 2: in history order, never more than two iterations started and not done.
    running = peak = 0
    for event in events:
        if event["type"] == "MapIterationStarted":
            running += 1
            peak = max(peak, running)
        elif event["type"] in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            running -= 1
    # (Five items without the cap would all start at once.)
    assert 1 <= peak <= 2, [e["type"] for e in events]


def test_parallel_runs_every_branch_and_collects_their_outputs_in_order(sfn, sfn_name):
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {
                        "Slow": {"Type": "Wait", "Seconds": 20, "Next": "SlowDone"},
                        "SlowDone": {"Type": "Pass", "Parameters": {"branch": "slow", "n.$": "$.n"}, "End": True},
                    }},
                    {"StartAt": "Fast", "States": {
                        "Fast": {"Type": "Pass", "Parameters": {"branch": "fast", "double.$": "States.MathAdd($.n, $.n)"}, "End": True},
                    }},
                ],
                "ResultSelector": {"slow.$": "$[0]", "fast.$": "$[1]"},
                "ResultPath": "$.results",
                "End": True,
            }
        },
    }, {"n": 4})
    assert output_of(described) == {
        "n": 4,
        "results": {"slow": {"branch": "slow", "n": 4}, "fast": {"branch": "fast", "double": 8}},
    }
    types = [e["type"] for e in events]
    assert types[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    assert types.count("WaitStateEntered") == 1 and types.count("PassStateEntered") == 2


def test_retry_then_catch_with_states_all(sfn, sfn_name):
    missing_queue = f"http://127.0.0.1:1/{ACCOUNT_ID}/no-such-queue-{sfn_name('q')}"
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": missing_queue, "MessageBody": "hello"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 2, "BackoffRate": 2.0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recover"}],
                "End": True,
            },
            "Recover": {"Type": "Pass", "Parameters": {"recovered": True, "error.$": "$.failure.Error"}, "End": True},
        },
    }, {"order": 7})
    output = output_of(described)
    assert output["recovered"] is True
    assert output["error"].startswith("SQS."), output
    types = [e["type"] for e in events]
    # One attempt and two retries, each scheduled and failed, then the Catch.
    assert types.count("TaskScheduled") == 3
    failures = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert len(failures) == 3
    assert all(f["error"] == output["error"] and f["resourceType"] == "sqs" and f["resource"] == "sendMessage" for f in failures)
    assert [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e] == ["Send", "Recover"]
    recover_input = json.loads([e for e in events if e["type"] == "PassStateEntered"][0]["stateEnteredEventDetails"]["input"])
    assert recover_input["order"] == 7
    assert recover_input["failure"]["Error"] == output["error"]
    assert recover_input["failure"]["Cause"]
    # Retries wait (scaled) 10 s then 20 s: 0.1 s and 0.2 s at least, by the history's clock.
    scheduled = [e["timestamp"] for e in events if e["type"] == "TaskScheduled"]
    assert (scheduled[1] - scheduled[0]).total_seconds() >= 0.09
    assert (scheduled[2] - scheduled[1]).total_seconds() >= 0.19

    # Without Retry/Catch the same failure fails the execution with that error.
    failed, _ = run(sfn, sfn_name("u"), {
        "StartAt": "Send",
        "States": {"Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {"QueueUrl": missing_queue, "MessageBody": "hello"}, "End": True}},
    }, {})
    assert failed["status"] == "FAILED"
    assert failed["error"] == output["error"]


def test_wait_seconds_path_and_timestamp_path(sfn, sfn_name):
    described, events = run(sfn, sfn_name(), {
        "StartAt": "ByPath",
        "States": {
            "ByPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Past"},
            "Past": {"Type": "Wait", "TimestampPath": "$.when", "End": True},
        },
    }, {"delay": 30, "when": "2020-01-01T00:00:00Z"})
    assert output_of(described) == {"delay": 30, "when": "2020-01-01T00:00:00Z"}
    waits = [e for e in events if e["type"] in ("WaitStateEntered", "WaitStateExited")]
    assert [e["type"] for e in waits] == ["WaitStateEntered", "WaitStateExited"] * 2
    assert (waits[1]["timestamp"] - waits[0]["timestamp"]).total_seconds() >= 0.29, "30 s scaled by 0.01"

    bad, events = run(sfn, sfn_name("b"), {
        "StartAt": "ByPath", "States": {"ByPath": {"Type": "Wait", "SecondsPath": "$.delay", "End": True}},
    }, {"delay": "soon"})
    assert bad["status"] == "FAILED"
    assert bad["error"] == "States.Runtime"


def test_intrinsic_functions(sfn, sfn_name):
    payload = {"name": "ada", "n": 3, "list": [1, 2, 2, 3], "text": "a,b,c", "json": '{"k": [1, 2]}'}
    described, _ = run(sfn, sfn_name(), {
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Parameters": {
            "format.$": "States.Format('Hello {}, you are {}', $.name, $.n)",
            "array.$": "States.Array($.name, $.n, 'x')",
            "partition.$": "States.ArrayPartition($.list, 3)",
            "contains.$": "States.ArrayContains($.list, 2)",
            "range.$": "States.ArrayRange(1, 9, 3)",
            "item.$": "States.ArrayGetItem($.list, 3)",
            "length.$": "States.ArrayLength($.list)",
            "unique.$": "States.ArrayUnique($.list)",
            "encoded.$": "States.Base64Encode($.name)",
            "decoded.$": "States.Base64Decode('aGVsbG8=')",
            "hash.$": "States.Hash($.name, 'SHA-256')",
            "merged.$": "States.JsonMerge(States.StringToJson($.json), States.StringToJson('{\"z\": true}'), false)",
            "parsed.$": "States.StringToJson($.json)",
            "text.$": "States.JsonToString($.list)",
            "sum.$": "States.MathAdd($.n, -10)",
            "random.$": "States.MathRandom(1, 5)",
            "split.$": "States.StringSplit($.text, ',')",
            "uuid.$": "States.UUID()",
        }, "End": True}},
    }, payload)
    output = output_of(described)
    assert output["format"] == "Hello ada, you are 3"
    assert output["array"] == ["ada", 3, "x"]
    assert output["partition"] == [[1, 2, 2], [3]]
    assert output["contains"] is True
    assert output["range"] == [1, 4, 7]
    assert output["item"] == 3
    assert output["length"] == 4
    assert output["unique"] == [1, 2, 3]
    assert output["encoded"] == base64.b64encode(b"ada").decode()
    assert output["decoded"] == "hello"
    assert output["hash"] == hashlib.sha256(b"ada").hexdigest()
    assert output["merged"] == {"k": [1, 2], "z": True}
    assert output["parsed"] == {"k": [1, 2]}
    assert json.loads(output["text"]) == [1, 2, 2, 3]
    assert output["sum"] == -7
    assert 1 <= output["random"] <= 5 and isinstance(output["random"], int)
    assert output["split"] == ["a", "b", "c"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", output["uuid"]), output["uuid"]

    # An intrinsic's runtime error fails the execution with States.IntrinsicFailure (AWS's name).
    failed, _ = run(sfn, sfn_name("f"), {
        "StartAt": "Bad",
        "States": {"Bad": {"Type": "Pass", "Parameters": {"x.$": "States.ArrayGetItem($.list, 10)"}, "End": True}},
    }, payload)
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.IntrinsicFailure"


def test_the_context_object(sfn, sfn_name):
    machine_name = sfn_name()
    described, events = run(sfn, machine_name, {
        "StartAt": "Look",
        "States": {"Look": {"Type": "Pass", "Parameters": {
            "executionId.$": "$$.Execution.Id",
            "executionName.$": "$$.Execution.Name",
            "executionInput.$": "$$.Execution.Input",
            "roleArn.$": "$$.Execution.RoleArn",
            "startTime.$": "$$.Execution.StartTime",
            "stateName.$": "$$.State.Name",
            "enteredTime.$": "$$.State.EnteredTime",
            "machineId.$": "$$.StateMachine.Id",
            "machineName.$": "$$.StateMachine.Name",
        }, "End": True}},
    }, {"hello": "world"}, execution="ctx")
    output = output_of(described)
    machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{machine_name}"
    assert output["executionId"] == described["executionArn"] == f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{machine_name}:ctx"
    assert output["executionName"] == "ctx"
    assert output["executionInput"] == {"hello": "world"}
    assert output["roleArn"] == SFN_ROLE
    assert output["stateName"] == "Look"
    assert output["machineId"] == machine_arn
    assert output["machineName"] == machine_name
    for key in ("startTime", "enteredTime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", output[key]), output[key]
    assert output["startTime"] <= output["enteredTime"]


# ---- request-response integrations ---------------------------------------------------------------


def test_sqs_send_message_integration_delivers_to_the_queue(sfn, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("out")
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Send",
        "States": {"Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": queue.url,
                "MessageBody": {"order.$": "$.order", "execution.$": "$$.Execution.Id"},
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}},
            },
            "ResultSelector": {"messageId.$": "$.MessageId", "md5.$": "$.MD5OfMessageBody"},
            "ResultPath": "$.sent",
            "End": True,
        }},
    }, {"order": 42})
    output = output_of(described)

    reply = sfn_sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=5, MessageAttributeNames=["All"])
    messages = reply.get("Messages", [])
    assert len(messages) == 1, reply
    message = messages[0]
    assert json.loads(message["Body"]) == {"order": 42, "execution": described["executionArn"]}
    assert message["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "order"}}
    assert output["sent"] == {"messageId": message["MessageId"], "md5": md5_hex(message["Body"])}
    assert message["MD5OfBody"] == md5_hex(message["Body"])

    types = [e["type"] for e in events]
    assert types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    succeeded = json.loads(events[4]["taskSucceededEventDetails"]["output"])
    assert succeeded["MessageId"] == message["MessageId"]
    assert succeeded["MD5OfMessageBody"] == md5_hex(message["Body"])
    assert events[4]["taskSucceededEventDetails"]["resourceType"] == "sqs"
    assert events[4]["taskSucceededEventDetails"]["resource"] == "sendMessage"


def test_sns_publish_integration_reaches_the_topics_subscribed_queue(sfn, sfn_sns, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("sub")
    topic = sfn_sns.create_topic(Name=sfn_name("t"))["TopicArn"]
    sfn_sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue.arn)
    described, events = run(sfn, sfn_name(), {
        "StartAt": "Publish",
        "States": {"Publish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": topic, "Subject": "Loan", "Message.$": "States.Format('approved {}', $.id)"},
            "ResultPath": "$.published",
            "End": True,
        }},
    }, {"id": "L-1"})
    output = output_of(described)
    envelope, _ = receive_json_body(sfn_sqs, queue.url)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "Loan"
    assert envelope["Message"] == "approved L-1"
    assert output["published"]["MessageId"] == envelope["MessageId"]
    assert output["id"] == "L-1"
    succeeded = [e for e in events if e["type"] == "TaskSucceeded"]
    assert len(succeeded) == 1
    assert succeeded[0]["taskSucceededEventDetails"]["resourceType"] == "sns"
    assert succeeded[0]["taskSucceededEventDetails"]["resource"] == "publish"
