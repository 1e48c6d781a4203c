"""Step Functions tasks and workers through boto3: `.waitForTaskToken` via an SQS queue (the token
read back with the `sqs` client) answered by SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat,
heartbeat timeouts, the token errors (InvalidToken, TaskTimedOut, InvalidOutput); activities
(Create/Describe/List/Delete, tags) with a worker thread whose GetActivityTask long poll gets the
task and answers it.
"""

from __future__ import annotations

import datetime
import json
import threading

from compat_support import (
    SFN_DEADLINE_S,
    assert_well_formed_history,
    expect_sfn_error,
    full_history,
    receive_json_body,
    wait_for_end,
    wait_for_event,
)
from conftest import ACCOUNT_ID, REGION, SFN_ROLE, make_sfn_client


def create(sfn, name: str, definition: dict) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=SFN_ROLE)["stateMachineArn"]


def callback_machine(queue_url: str, heartbeat_seconds: int) -> dict:
    return {
        "StartAt": "AskBank",
        "States": {
            "AskBank": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "token.$": "$$.Task.Token",
                        "execution.$": "$$.Execution.Id",
                        "amount.$": "$.amount",
                    },
                },
                "HeartbeatSeconds": heartbeat_seconds,
                "Catch": [
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.failure", "Next": "NoAnswer"},
                    {"ErrorEquals": ["Bank.Declined"], "ResultPath": "$.failure", "Next": "Declined"},
                ],
                "ResultPath": "$.quote",
                "End": True,
            },
            "NoAnswer": {"Type": "Pass", "Result": "timed out", "ResultPath": "$.outcome", "End": True},
            "Declined": {"Type": "Pass", "Result": "declined", "ResultPath": "$.outcome", "End": True},
        },
    }


def test_a_task_token_travels_through_sqs_and_comes_back_with_send_task_success(sfn, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("bank")
    # HeartbeatSeconds 6000 (a minute, scaled): all the time the worker needs.
    machine = create(sfn, sfn_name(), callback_machine(queue.url, 6000))
    arn = sfn.start_execution(stateMachineArn=machine, name="answered", input='{"amount": 100}')["executionArn"]

    body, message = receive_json_body(sfn_sqs, queue.url)
    assert body["amount"] == 100
    assert body["execution"] == arn, "$$.Execution.Id is the execution's ARN"
    token = body["token"]
    assert isinstance(token, str) and 1 <= len(token) <= 1024
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    assert sfn.send_task_heartbeat(taskToken=token)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # Output that is not JSON is refused, and the task keeps waiting.
    expect_sfn_error(sfn, sfn.send_task_success, "InvalidOutput", taskToken=token, output="not json")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"rate": 4.2}')

    done = wait_for_end(sfn, arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"amount": 100, "quote": {"rate": 4.2}}

    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    types = [e["type"] for e in events]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = events[2]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "sqs"
    assert scheduled["resource"] == "sendMessage.waitForTaskToken"
    assert scheduled["region"] == REGION
    assert scheduled["heartbeatInSeconds"] == 6000
    parameters = json.loads(scheduled["parameters"])
    assert parameters["QueueUrl"] == queue.url
    assert parameters["MessageBody"]["token"] == token
    submitted = json.loads(events[4]["taskSubmittedEventDetails"]["output"])
    assert submitted["MessageId"] == message["MessageId"], "TaskSubmitted records SendMessage's reply"
    assert json.loads(events[5]["taskSucceededEventDetails"]["output"]) == {"rate": 4.2}

    # The task is closed: its token answers TaskTimedOut from now on, and nothing changes.
    expect_sfn_error(sfn, sfn.send_task_success, "TaskTimedOut", taskToken=token, output="{}")
    expect_sfn_error(sfn, sfn.send_task_failure, "TaskTimedOut", taskToken=token, error="Late")
    expect_sfn_error(sfn, sfn.send_task_heartbeat, "TaskTimedOut", taskToken=token)
    assert full_history(sfn, arn) == events


def test_send_task_failure_is_caught_by_the_machine(sfn, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("bank")
    machine = create(sfn, sfn_name(), callback_machine(queue.url, 6000))
    arn = sfn.start_execution(stateMachineArn=machine, name="declined", input='{"amount": 200}')["executionArn"]
    body, _ = receive_json_body(sfn_sqs, queue.url)
    sfn.send_task_failure(taskToken=body["token"], error="Bank.Declined", cause="too risky")
    done = wait_for_end(sfn, arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {
        "amount": 200,
        "outcome": "declined",
        "failure": {"Error": "Bank.Declined", "Cause": "too risky"},
    }
    failed = [e for e in full_history(sfn, arn) if e["type"] == "TaskFailed"]
    assert len(failed) == 1
    assert failed[0]["taskFailedEventDetails"] == {
        "resourceType": "sqs",
        "resource": "sendMessage.waitForTaskToken",
        "error": "Bank.Declined",
        "cause": "too risky",
    }


def test_a_silent_worker_times_out_on_heartbeats(sfn, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("bank")
    # HeartbeatSeconds 100: one second, scaled.
    machine = create(sfn, sfn_name(), callback_machine(queue.url, 100))
    arn = sfn.start_execution(stateMachineArn=machine, name="silent", input='{"amount": 300}')["executionArn"]
    body, _ = receive_json_body(sfn_sqs, queue.url)
    done = wait_for_end(sfn, arn)
    output = json.loads(done["output"])
    assert output["outcome"] == "timed out"
    assert output["failure"]["Error"] == "States.HeartbeatTimeout"
    timed_out = [e for e in full_history(sfn, arn) if e["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"
    expect_sfn_error(sfn, sfn.send_task_success, "TaskTimedOut", taskToken=body["token"], output="{}")


def test_malformed_task_tokens_are_invalid(sfn, unvalidated_sfn):
    expect_sfn_error(sfn, sfn.send_task_success, "InvalidToken", taskToken="not-a-token", output="{}")
    expect_sfn_error(sfn, sfn.send_task_failure, "InvalidToken", taskToken="not-a-token")
    expect_sfn_error(sfn, sfn.send_task_heartbeat, "InvalidToken", taskToken="not-a-token")
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.send_task_success, "ValidationException", taskToken="x" * 1025, output="{}")
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.send_task_success, "ValidationException", output="{}")


# ---- activities ---------------------------------------------------------------------------------


def activity_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:states:{region}:{ACCOUNT_ID}:activity:{name}"


def test_activities_are_created_described_listed_tagged_and_deleted(sfn_tern, sfn_name):
    # A region of its own, so the listing is exact.
    region = "ap-southeast-4"
    sfn = make_sfn_client(sfn_tern.endpoint, region=region)
    names = [sfn_name(f"a{i}") for i in range(3)]
    created = {}
    for name in names:
        reply = sfn.create_activity(name=name, tags=[{"key": "owner", "value": "bureau"}])
        assert reply["activityArn"] == activity_arn(name, region)
        assert isinstance(reply["creationDate"], datetime.datetime)
        created[name] = reply
    # CreateActivity is idempotent by name.
    again = sfn.create_activity(name=names[0])
    assert again == {**created[names[0]], "ResponseMetadata": again["ResponseMetadata"]}

    described = sfn.describe_activity(activityArn=created[names[0]]["activityArn"])
    assert described["activityArn"] == created[names[0]]["activityArn"]
    assert described["name"] == names[0]
    assert described["creationDate"] == created[names[0]]["creationDate"]

    pages = list(sfn.get_paginator("list_activities").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["activities"]) for p in pages] == [2, 1]
    listed = [a for p in pages for a in p["activities"]]
    assert sorted(a["name"] for a in listed) == sorted(names)
    for activity in listed:
        assert activity == {
            "activityArn": created[activity["name"]]["activityArn"],
            "name": activity["name"],
            "creationDate": created[activity["name"]]["creationDate"],
        }
    first = sfn.list_activities(maxResults=2)
    assert len(first["activities"]) == 2 and first["nextToken"]
    rest = sfn.list_activities(maxResults=2, nextToken=first["nextToken"])
    assert "nextToken" not in rest
    assert [a["name"] for a in first["activities"] + rest["activities"]] == [a["name"] for a in listed]
    expect_sfn_error(sfn, sfn.list_activities, "InvalidToken", nextToken="garbage")

    arn = created[names[0]]["activityArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "drop", "value": "me"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["drop"])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert sorted(tags, key=lambda t: t["key"]) == [{"key": "env", "value": "test"}, {"key": "owner", "value": "bureau"}]

    sfn.delete_activity(activityArn=arn)
    expect_sfn_error(sfn, sfn.describe_activity, "ActivityDoesNotExist", activityArn=arn)
    expect_sfn_error(sfn, sfn.get_activity_task, "ActivityDoesNotExist", activityArn=arn)
    expect_sfn_error(sfn, sfn.list_tags_for_resource, "ResourceNotFound", resourceArn=arn)
    assert sorted(a["name"] for a in sfn.list_activities()["activities"]) == sorted(names[1:])


def test_activity_errors_change_nothing(sfn, sfn_name):
    name = sfn_name("bad")
    expect_sfn_error(sfn, sfn.create_activity, "InvalidName", name="has space")
    expect_sfn_error(sfn, sfn.create_activity, "InvalidName", name="a" * 81)
    expect_sfn_error(sfn, sfn.create_activity, "TooManyTags", name=name, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    expect_sfn_error(sfn, sfn.describe_activity, "ActivityDoesNotExist", activityArn=activity_arn(name))
    expect_sfn_error(sfn, sfn.describe_activity, "InvalidArn", activityArn="nonsense")
    expect_sfn_error(sfn, sfn.get_activity_task, "InvalidArn", activityArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}")
    names = [a["name"] for p in sfn.get_paginator("list_activities").paginate() for a in p["activities"]]
    assert name not in names and "has space" not in names


def test_an_activity_worker_long_polls_gets_the_task_and_answers_it(sfn_tern, sfn, sfn_name):
    activity = sfn.create_activity(name=sfn_name("act"))["activityArn"]
    machine = create(sfn, sfn_name(), {
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task", "Resource": activity, "TimeoutSeconds": 60000,
            "Parameters": {"customer.$": "$.customer", "token.$": "$$.Task.Token"},
            "ResultPath": "$.result", "End": True,
        }},
    })

    # The worker: its own client (boto3 clients are thread-safe, but this mirrors a separate
    # process), one long poll that must wake when the task is queued, then SendTaskSuccess.
    worker = make_sfn_client(sfn_tern.endpoint)
    got: dict = {}
    polling = threading.Event()

    def work():
        try:
            polling.set()
            task = worker.get_activity_task(activityArn=activity, workerName="underwriter-1")
            got["task"] = task
            task_input = json.loads(task["input"])
            worker.send_task_success(taskToken=task["taskToken"], output=json.dumps({"approved": task_input["customer"] == "ada"}))
        except Exception as error:  # reported by the assertions below
            got["error"] = error

    thread = threading.Thread(target=work, name="activity-worker", daemon=True)
    thread.start()
    assert polling.wait(5)
    # Nothing is queued yet: a long poll does not come back empty-handed at once.
    thread.join(0.5)
    assert thread.is_alive(), f"GetActivityTask returned before any task existed: {got}"
    arn = sfn.start_execution(stateMachineArn=machine, name="job", input='{"customer": "ada", "noise": true}')["executionArn"]
    thread.join(SFN_DEADLINE_S + 5)
    assert not thread.is_alive(), "the long poll did not return"
    assert "error" not in got, got
    task = got["task"]
    # The token is handed both as taskToken and, through $$.Task.Token, inside the input.
    assert json.loads(task["input"]) == {"customer": "ada", "token": task["taskToken"]}

    done = wait_for_end(sfn, arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"customer": "ada", "noise": True, "result": {"approved": True}}
    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    types = [e["type"] for e in events]
    assert types == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    scheduled = events[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == activity
    assert json.loads(scheduled["input"]) == json.loads(task["input"])
    assert scheduled["timeoutInSeconds"] == 60000
    assert events[3]["activityStartedEventDetails"] == {"workerName": "underwriter-1"}
    assert json.loads(events[4]["activitySucceededEventDetails"]["output"]) == {"approved": True}

    expect_sfn_error(sfn, sfn.send_task_success, "TaskTimedOut", taskToken=task["taskToken"], output="{}")


def test_an_activity_task_failure_fails_the_execution(sfn, sfn_name):
    activity = sfn.create_activity(name=sfn_name("act"))["activityArn"]
    machine = create(sfn, sfn_name(), {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}})
    arn = sfn.start_execution(stateMachineArn=machine, name="job", input='{"k": 1}')["executionArn"]
    wait_for_event(sfn, arn, "ActivityScheduled")
    # The task is already queued: the poll answers at once.
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"k": 1}
    sfn.send_task_failure(taskToken=task["taskToken"], error="Work.Broken", cause="no disk")
    done = wait_for_end(sfn, arn)
    assert done["status"] == "FAILED"
    assert (done["error"], done["cause"]) == ("Work.Broken", "no disk")
    failed = [e for e in full_history(sfn, arn) if e["type"] == "ActivityFailed"]
    assert [e["activityFailedEventDetails"] for e in failed] == [{"error": "Work.Broken", "cause": "no disk"}]
    started = [e for e in full_history(sfn, arn) if e["type"] == "ActivityStarted"]
    assert len(started) == 1
    assert "workerName" not in started[0].get("activityStartedEventDetails", {}), "no workerName was given"
