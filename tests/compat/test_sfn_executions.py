"""Step Functions executions through boto3: StartExecution (generated names, idempotency by name
and input), DescribeExecution, StopExecution, ListExecutions (statusFilter, nextToken pages,
paginator), GetExecutionHistory (ids, previousEventId chaining, reverseOrder, pages,
includeExecutionData), StartSyncExecution on EXPRESS machines and its `sync-` host prefix, and
RedriveExecution where this botocore models it.

Executions are polled to their end with bounded loops (compat_support.wait_for_end); the server
runs with `--time-scale 0.01`, so a `"Seconds": 100` Wait takes about one second.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest

from compat_support import (
    assert_well_formed_history,
    collected_only_where_modelled,
    expect_sfn_error,
    full_history,
    receive_json_body,
    wait_for_end,
    wait_for_event,
)
from conftest import ACCOUNT_ID, REGION, SFN_ROLE, make_sfn_client

# Waits 1000 s (10 s scaled): long enough to look at the execution RUNNING; tests stop it.
WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}}
ECHO = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$"}, "End": True}}}
FAILING = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Loan.Refused", "Cause": "score too low"}}}


def create(sfn, name: str, definition: dict, machine_type: str = "STANDARD") -> str:
    return sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=SFN_ROLE, type=machine_type
    )["stateMachineArn"]


def execution_arn(machine: str, name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{machine}:{name}"


def test_an_execution_runs_and_is_described_field_by_field(sfn, sfn_name):
    machine_name = sfn_name()
    machine = create(sfn, machine_name, ECHO)
    text_input = '{"amount": 100, "who": "ada ✓"}'
    started = sfn.start_execution(stateMachineArn=machine, name="e1", input=text_input)
    assert started["executionArn"] == execution_arn(machine_name, "e1")
    assert isinstance(started["startDate"], datetime.datetime)

    described = wait_for_end(sfn, started["executionArn"])
    assert described["executionArn"] == started["executionArn"]
    assert described["stateMachineArn"] == machine
    assert described["name"] == "e1"
    assert described["status"] == "SUCCEEDED"
    assert described["startDate"] == started["startDate"]
    assert described["stopDate"] >= described["startDate"]
    assert described["input"] == text_input, "the input comes back as the text sent"
    assert described["inputDetails"] == {"included": True}
    assert json.loads(described["output"]) == {"got": {"amount": 100, "who": "ada ✓"}}
    assert described["outputDetails"] == {"included": True}
    assert "error" not in described and "cause" not in described


def test_an_execution_without_a_name_or_input_gets_a_generated_name_and_empty_input(sfn, sfn_name):
    machine_name = sfn_name()
    machine = create(sfn, machine_name, ECHO)
    arns = [sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2)]
    assert arns[0] != arns[1]
    for arn in arns:
        prefix = execution_arn(machine_name, "")
        assert arn.startswith(prefix)
        name = arn[len(prefix):]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", name), name
        described = wait_for_end(sfn, arn)
        assert described["name"] == name
        assert json.loads(described["input"]) == {}
        assert json.loads(described["output"]) == {"got": {}}


def test_a_failed_execution_reports_its_error_and_cause(sfn, sfn_name):
    machine = create(sfn, sfn_name(), FAILING)
    arn = sfn.start_execution(stateMachineArn=machine, name="refused", input="{}")["executionArn"]
    described = wait_for_end(sfn, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "Loan.Refused"
    assert described["cause"] == "score too low"
    assert "output" not in described
    last = full_history(sfn, arn)[-1]
    assert last["type"] == "ExecutionFailed"
    assert last["executionFailedEventDetails"] == {"error": "Loan.Refused", "cause": "score too low"}


def test_start_is_idempotent_by_name_and_input_while_running(sfn, sfn_name):
    machine = create(sfn, sfn_name(), WAITING)
    first = sfn.start_execution(stateMachineArn=machine, name="once", input='{"n": 1}')
    again = sfn.start_execution(stateMachineArn=machine, name="once", input='{"n": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    # Same name, different input: ExecutionAlreadyExists, and nothing new starts.
    expect_sfn_error(sfn, sfn.start_execution, "ExecutionAlreadyExists", stateMachineArn=machine, name="once", input='{"n": 2}')
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [(e["name"], e["status"]) for e in listed] == [("once", "RUNNING")]
    assert json.loads(sfn.describe_execution(executionArn=first["executionArn"])["input"]) == {"n": 1}

    # Once the execution is closed, the name is taken whatever the input (AWS: 90 days).
    sfn.stop_execution(executionArn=first["executionArn"])
    expect_sfn_error(sfn, sfn.start_execution, "ExecutionAlreadyExists", stateMachineArn=machine, name="once", input='{"n": 1}')
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_stop_aborts_a_running_execution(sfn, sfn_name):
    machine = create(sfn, sfn_name(), WAITING)
    arn = sfn.start_execution(stateMachineArn=machine, name="stopped", input="{}")["executionArn"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    wait_for_event(sfn, arn, "WaitStateEntered")
    stopped = sfn.stop_execution(executionArn=arn, error="Operator.Cancelled", cause="changed my mind")
    assert isinstance(stopped["stopDate"], datetime.datetime)

    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"
    assert described["stopDate"] == stopped["stopDate"]
    assert described["error"] == "Operator.Cancelled"
    assert described["cause"] == "changed my mind"
    assert "output" not in described
    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Operator.Cancelled", "cause": "changed my mind"}

    # Stopping it again changes nothing: the same stop date.
    assert sfn.stop_execution(executionArn=arn)["stopDate"] == stopped["stopDate"]
    assert full_history(sfn, arn) == events


def test_list_executions_filters_by_status_newest_first_in_pages(sfn, sfn_name):
    machine = create(sfn, sfn_name(), {
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.wait", "BooleanEquals": True, "Next": "W"}], "Default": "Done"},
            "W": {"Type": "Wait", "Seconds": 100000, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    })
    order = ["s1", "r1", "s2", "r2", "s3"]
    arns = {}
    for name in order:
        arns[name] = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"wait": name.startswith("r")}))["executionArn"]
        if name.startswith("s"):
            assert wait_for_end(sfn, arns[name])["status"] == "SUCCEEDED"
    sfn.stop_execution(executionArn=arns["r1"])

    everything = sfn.list_executions(stateMachineArn=machine)
    assert "nextToken" not in everything
    assert [e["name"] for e in everything["executions"]] == list(reversed(order)), "newest first"
    for entry in everything["executions"]:
        described = sfn.describe_execution(executionArn=entry["executionArn"])
        assert entry["executionArn"] == arns[entry["name"]]
        assert entry["stateMachineArn"] == machine
        assert entry["status"] == described["status"]
        assert entry["startDate"] == described["startDate"]
        assert entry.get("stopDate") == described.get("stopDate")
    statuses = {e["name"]: e["status"] for e in everything["executions"]}
    assert statuses == {"s1": "SUCCEEDED", "r1": "ABORTED", "s2": "SUCCEEDED", "r2": "RUNNING", "s3": "SUCCEEDED"}

    def names(**kwargs):
        return [e["name"] for e in sfn.list_executions(stateMachineArn=machine, **kwargs)["executions"]]

    assert names(statusFilter="SUCCEEDED") == ["s3", "s2", "s1"]
    assert names(statusFilter="RUNNING") == ["r2"]
    assert names(statusFilter="ABORTED") == ["r1"]
    assert names(statusFilter="FAILED") == []

    pages, token = [], None
    while True:
        page = sfn.list_executions(stateMachineArn=machine, maxResults=2, **({"nextToken": token} if token else {}))
        pages.append([e["name"] for e in page["executions"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [["s3", "r2"], ["s2", "r1"], ["s1"]]
    paginated = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, statusFilter="SUCCEEDED", PaginationConfig={"PageSize": 2}
    )
    assert [[e["name"] for e in p["executions"]] for p in paginated] == [["s3", "s2"], ["s1"]]

    sfn.stop_execution(executionArn=arns["r2"])
    expect_sfn_error(sfn, sfn.list_executions, "InvalidToken", stateMachineArn=machine, nextToken="garbage")


def test_list_executions_errors(sfn, unvalidated_sfn, sfn_name):
    machine_name = sfn_name()
    express = create(sfn, sfn_name("x"), ECHO, "EXPRESS")
    # AWS keeps no list of EXPRESS executions.
    expect_sfn_error(sfn, sfn.list_executions, "StateMachineTypeNotSupported", stateMachineArn=express)
    expect_sfn_error(
        sfn, sfn.list_executions, "StateMachineDoesNotExist",
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{machine_name}",
    )
    expect_sfn_error(sfn, sfn.list_executions, "InvalidArn", stateMachineArn="nonsense")
    machine = create(sfn, machine_name, ECHO)
    # A status botocore would refuse to send: Tern's own enum check answers.
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.list_executions, "ValidationException", stateMachineArn=machine, statusFilter="DONE")
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.list_executions, "ValidationException")
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


HISTORY_MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"delay.$": "$.delay", "kind": "loan"}, "Next": "Pause"},
        "Pause": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "loan", "Next": "Done"}],
            "Default": "Nope",
        },
        "Nope": {"Type": "Fail", "Error": "Unexpected"},
        "Done": {"Type": "Succeed"},
    },
}


def test_history_has_aws_event_types_chained_ids_and_pages(sfn, sfn_name):
    machine = create(sfn, sfn_name(), HISTORY_MACHINE)
    arn = sfn.start_execution(stateMachineArn=machine, name="h", input='{"delay": 50}')["executionArn"]
    described = wait_for_end(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"delay": 50, "kind": "loan"}

    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered", "PassStateExited",
        "WaitStateEntered", "WaitStateExited",
        "ChoiceStateEntered", "ChoiceStateExited",
        "SucceedStateEntered", "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    for event in events:
        assert isinstance(event["timestamp"], datetime.datetime)
        assert event["previousEventId"] == event["id"] - 1, "a sequential run chains each event to the one before"
    started = events[0]["executionStartedEventDetails"]
    assert json.loads(started["input"]) == {"delay": 50}
    assert started["inputDetails"] == {"truncated": False}
    assert started["roleArn"] == SFN_ROLE
    assert events[1]["stateEnteredEventDetails"]["name"] == "Prepare"
    assert json.loads(events[1]["stateEnteredEventDetails"]["input"]) == {"delay": 50}
    assert events[2]["stateExitedEventDetails"]["name"] == "Prepare"
    assert json.loads(events[2]["stateExitedEventDetails"]["output"]) == {"delay": 50, "kind": "loan"}
    assert [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e] == ["Prepare", "Pause", "Route", "Done"]
    succeeded = events[-1]["executionSucceededEventDetails"]
    assert json.loads(succeeded["output"]) == {"delay": 50, "kind": "loan"}
    # The Wait waited (scaled) 50 s × 0.01 = 0.5 s at least.
    wait_entered, wait_exited = events[3]["timestamp"], events[4]["timestamp"]
    assert wait_exited - wait_entered >= datetime.timedelta(seconds=0.45)

    # reverseOrder: the same events, newest first.
    assert full_history(sfn, arn, reverseOrder=True) == list(reversed(events))

    # Pages of three by hand, forwards and backwards.
    for reverse, expected in [(False, events), (True, list(reversed(events)))]:
        pages, token = [], None
        while True:
            kwargs = {"executionArn": arn, "maxResults": 3, "reverseOrder": reverse}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            pages.append(page["events"])
            token = page.get("nextToken")
            if not token:
                break
        assert [len(p) for p in pages] == [3, 3, 3, 1]
        assert [e for p in pages for e in p] == expected
    assert [len(p["events"]) for p in sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, PaginationConfig={"PageSize": 4})] == [4, 4, 2]

    # includeExecutionData=False: the same events without their inputs and outputs.
    bare = full_history(sfn, arn, includeExecutionData=False)
    assert [(e["id"], e["type"], e["previousEventId"]) for e in bare] == [(e["id"], e["type"], e["previousEventId"]) for e in events]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert bare[0]["executionStartedEventDetails"]["roleArn"] == SFN_ROLE
    assert bare[1]["stateEnteredEventDetails"]["name"] == "Prepare"
    assert "input" not in bare[1]["stateEnteredEventDetails"]
    assert "output" not in bare[2]["stateExitedEventDetails"]
    assert "output" not in bare[-1].get("executionSucceededEventDetails", {})

    expect_sfn_error(sfn, sfn.get_execution_history, "InvalidToken", executionArn=arn, nextToken="garbage")
    expect_sfn_error(sfn, sfn.get_execution_history, "ExecutionDoesNotExist", executionArn=execution_arn("nope", "nope"))
    expect_sfn_error(sfn, sfn.get_execution_history, "InvalidArn", executionArn=machine)


def test_execution_errors_for_bad_input_change_nothing(sfn, unvalidated_sfn, sfn_name):
    machine_name = sfn_name()
    machine = create(sfn, machine_name, ECHO)
    expect_sfn_error(sfn, sfn.start_execution, "InvalidExecutionInput", stateMachineArn=machine, name="bad", input="{not json")
    expect_sfn_error(sfn, sfn.start_execution, "InvalidName", stateMachineArn=machine, name="has space")
    expect_sfn_error(sfn, sfn.start_execution, "InvalidName", stateMachineArn=machine, name="x" * 81)
    expect_sfn_error(sfn, sfn.start_execution, "InvalidArn", stateMachineArn="arn:aws:states:nope")
    expect_sfn_error(
        sfn, sfn.start_execution, "StateMachineDoesNotExist",
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{machine_name}-missing",
    )
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.start_execution, "ValidationException", name="no-machine")
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []

    missing = execution_arn(machine_name, "never")
    expect_sfn_error(sfn, sfn.describe_execution, "ExecutionDoesNotExist", executionArn=missing)
    expect_sfn_error(sfn, sfn.stop_execution, "ExecutionDoesNotExist", executionArn=missing)
    expect_sfn_error(sfn, sfn.describe_execution, "InvalidArn", executionArn="not-an-arn")
    expect_sfn_error(sfn, sfn.stop_execution, "InvalidArn", executionArn=machine)


# ---- StartSyncExecution -----------------------------------------------------------------------


def sync_client(endpoint: str):
    # boto3 sends StartSyncExecution to `sync-` + the endpoint's host (the operation's modelled
    # "endpoint": {"hostPrefix": "sync-"}): with endpoint http://127.0.0.1:PORT that is
    # http://sync-127.0.0.1:PORT, which is not a host name at all, and with http://localhost:PORT
    # it is sync-localhost, which resolves only if the user maps it (an /etc/hosts line). Tern
    # routes by X-Amz-Target, not by host, so the simplest thing for a user is to turn the
    # prefix off: Config(inject_host_prefix=False) sends the request to the endpoint as given.
    return make_sfn_client(endpoint, inject_host_prefix=False)


class _Stop(Exception):
    """Raised from a before-send hook to see a request without sending it."""


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_boto3_sends_start_sync_execution_to_the_sync_host_unless_told_not_to(sfn_tern, host):
    port = sfn_tern.endpoint.rsplit(":", 1)[1]
    urls = []

    def look(request, **kwargs):
        urls.append(request.url)
        raise _Stop()

    default = make_sfn_client(f"http://{host}:{port}")
    default.meta.events.register("before-send.sfn", look)
    with pytest.raises(_Stop):
        default.start_sync_execution(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:x")
    # Other operations go to the endpoint as given.
    with pytest.raises(_Stop):
        default.start_execution(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:x")
    assert urls == [f"http://sync-{host}:{port}/", f"http://{host}:{port}/"]

    urls.clear()
    plain = sync_client(f"http://{host}:{port}")
    plain.meta.events.register("before-send.sfn", look)
    with pytest.raises(_Stop):
        plain.start_sync_execution(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:x")
    assert urls == [f"http://{host}:{port}/"]


def test_start_sync_execution_runs_an_express_machine_to_its_end(sfn_tern, sfn, sfn_name):
    client = sync_client(sfn_tern.endpoint)
    machine_name = sfn_name("x")
    machine = create(sfn, machine_name, {
        "StartAt": "Double",
        "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)", "id.$": "$$.Execution.Id"}, "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 10, "End": True},
        },
    }, "EXPRESS")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    reply = client.start_sync_execution(stateMachineArn=machine, name="sync-1", input='{"n": 21}')
    assert reply["status"] == "SUCCEEDED"
    assert reply["name"] == "sync-1"
    assert reply["stateMachineArn"] == machine
    # EXPRESS executions have ARNs of their own kind: ...:express:MACHINE:NAME:ID.
    assert reply["executionArn"].startswith(f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:{machine_name}:sync-1:"), reply
    assert json.loads(reply["output"]) == {"n": 42, "id": reply["executionArn"]}
    assert reply["outputDetails"] == {"included": True}
    assert reply["input"] == '{"n": 21}'
    assert reply["inputDetails"] == {"included": True}
    assert before <= reply["startDate"] <= reply["stopDate"]
    billing = reply["billingDetails"]
    assert billing["billedMemoryUsedInMB"] > 0
    assert billing["billedDurationInMilliseconds"] >= 100
    assert "error" not in reply

    failing = create(sfn, sfn_name("xf"), FAILING, "EXPRESS")
    failed = client.start_sync_execution(stateMachineArn=failing, input="{}")
    assert failed["status"] == "FAILED"
    assert failed["error"] == "Loan.Refused"
    assert failed["cause"] == "score too low"
    assert "output" not in failed

    standard = create(sfn, sfn_name(), ECHO)
    expect_sfn_error(client, client.start_sync_execution, "StateMachineTypeNotSupported", stateMachineArn=standard)
    expect_sfn_error(client, client.start_sync_execution, "InvalidExecutionInput", stateMachineArn=machine, input="[")
    assert sfn.list_executions(stateMachineArn=standard)["executions"] == []


# ---- RedriveExecution (botocore ≥ 1.32: not in the query-era model) ------------------------------


@collected_only_where_modelled("RedriveExecution")
def test_redrive_resumes_a_failed_execution_from_the_state_that_failed(sfn, sfn_sqs, sfn_queue, sfn_name):
    queue = sfn_queue("redrive")
    machine = create(sfn, sfn_name(), {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": "once", "ResultPath": "$.before", "Next": "Ask"},
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue.url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer",
                "End": True,
            },
        },
    })
    arn = sfn.start_execution(stateMachineArn=machine, name="r", input='{"n": 1}')["executionArn"]
    body, _ = receive_json_body(sfn_sqs, queue.url)
    sfn.send_task_failure(taskToken=body["token"], error="Bank.Down", cause="try later")
    failed = wait_for_end(sfn, arn)
    assert failed["status"] == "FAILED"
    assert (failed["error"], failed["cause"]) == ("Bank.Down", "try later")
    assert failed["redriveCount"] == 0
    assert failed["redriveStatus"] == "REDRIVABLE"
    before = full_history(sfn, arn)

    redriven = sfn.redrive_execution(executionArn=arn)
    assert isinstance(redriven["redriveDate"], datetime.datetime)
    # The failed Task runs again (a new message with a new token); Before does not.
    body, _ = receive_json_body(sfn_sqs, queue.url)
    sfn.send_task_success(taskToken=body["token"], output='{"ok": true}')
    done = wait_for_end(sfn, arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"n": 1, "before": "once", "answer": {"ok": True}}
    assert done["redriveCount"] == 1
    assert done["redriveDate"] == redriven["redriveDate"]
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    assert done["redriveStatusReason"]

    events = full_history(sfn, arn)
    assert_well_formed_history(events)
    assert events[: len(before)] == before, "redrive appends to the history"
    added = [e["type"] for e in events[len(before):]]
    assert added[0] == "ExecutionRedriven"
    assert events[len(before)]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert "PassStateEntered" not in added
    assert [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"] == ["Ask", "Ask"]
    assert added[-1] == "ExecutionSucceeded"

    assert [e["name"] for e in sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")["executions"]] == ["r"]
    assert sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")["executions"] == []
    listed = sfn.list_executions(stateMachineArn=machine)["executions"][0]
    assert (listed["redriveCount"], listed["redriveDate"]) == (1, redriven["redriveDate"])

    # A SUCCEEDED execution cannot be redriven; nothing changes.
    expect_sfn_error(sfn, sfn.redrive_execution, "ExecutionNotRedrivable", executionArn=arn)
    assert full_history(sfn, arn) == events
    expect_sfn_error(sfn, sfn.redrive_execution, "ExecutionDoesNotExist", executionArn=arn + "-missing")
    expect_sfn_error(sfn, sfn.redrive_execution, "InvalidArn", executionArn=machine)


@collected_only_where_modelled("RedriveExecution")
def test_a_running_execution_cannot_be_redriven(sfn, sfn_name):
    machine = create(sfn, sfn_name(), WAITING)
    arn = sfn.start_execution(stateMachineArn=machine, name="busy")["executionArn"]
    described = sfn.describe_execution(executionArn=arn)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    expect_sfn_error(sfn, sfn.redrive_execution, "ExecutionNotRedrivable", executionArn=arn)
    sfn.stop_execution(executionArn=arn)
    aborted = wait_for_end(sfn, arn)
    assert aborted["status"] == "ABORTED"
    assert aborted["redriveStatus"] == "REDRIVABLE"
