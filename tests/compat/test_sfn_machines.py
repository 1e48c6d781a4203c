"""Step Functions state machines through boto3: Create/Describe/Update/Delete/List (nextToken
pages and boto3's paginator), ValidateStateMachineDefinition (where this botocore models it),
DescribeStateMachineForExecution, tags, and AWS's errors for bad input — each rejected request
followed by a look at the state it must have left alone.

Both pinned botocores model Step Functions with AWS JSON 1.0 (`X-Amz-Target: AWSStepFunctions.*`);
the first test checks the model and the wire. These tests run against the Step Functions `tern`
(`sfn_tern` in conftest.py, started with `--time-scale 0.01`).
"""

from __future__ import annotations

import datetime
import json

from compat_support import (
    SFN_MODEL,
    collected_only_where_modelled,
    expect_sfn_error,
    sfn_model_has,
    wait_for_end,
)
from conftest import ACCOUNT_ID, REGION, SFN_ROLE, make_sfn_client


def pass_machine(result) -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}})


def machine_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{name}"


# A definition AWS rejects: "Next" names a state that does not exist.
BROKEN = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
# A state that waits long enough (1000 s, scaled: 10 s) for a test to look at it RUNNING; tests
# stop such executions themselves.
WAITING = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}})


def all_machine_names(sfn) -> list[str]:
    names = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        names.extend(machine["name"] for machine in page["stateMachines"])
    return names


def test_step_functions_speaks_json_1_0_on_the_wire(sfn, sfn_wire, sfn_name):
    assert SFN_MODEL.protocol == "json"
    assert SFN_MODEL.metadata["jsonVersion"] == "1.0"
    assert SFN_MODEL.metadata["targetPrefix"] == "AWSStepFunctions"
    assert SFN_MODEL.api_version == "2016-11-23"

    name = sfn_name()
    arn = sfn.create_state_machine(name=name, definition=pass_machine("x"), roleArn=SFN_ROLE)["stateMachineArn"]
    sfn.describe_state_machine(stateMachineArn=arn)

    assert [r["headers"]["x-amz-target"] for r in sfn_wire.requests] == [
        "AWSStepFunctions.CreateStateMachine",
        "AWSStepFunctions.DescribeStateMachine",
    ]
    for request in sfn_wire.requests:
        assert request["headers"]["content-type"] == "application/x-amz-json-1.0"
        # Signed for service `states`; the X-Amz-Target is what routes it on the shared port.
        assert f"/{REGION}/states/aws4_request" in request["headers"]["authorization"]
    assert json.loads(sfn_wire.requests[1]["body"]) == {"stateMachineArn": arn}
    for response in sfn_wire.responses:
        assert response["status"] == 200
        assert response["headers"]["content-type"].startswith("application/x-amz-json-1.0"), response
        assert response["headers"].get("x-amzn-requestid"), response
    created = json.loads(sfn_wire.responses[0]["body"])
    assert set(created) == {"stateMachineArn", "creationDate"}
    assert isinstance(created["creationDate"], (int, float)), "timestamps are epoch seconds"


def test_errors_on_the_wire_are_aws_json_errors(sfn, sfn_wire, sfn_name):
    missing = machine_arn(sfn_name("gone"))
    error = expect_sfn_error(sfn, sfn.describe_state_machine, "StateMachineDoesNotExist", stateMachineArn=missing)
    response = sfn_wire.responses[-1]
    assert response["operation"] == "DescribeStateMachine"
    assert response["status"] == 400
    assert response["headers"]["content-type"].startswith("application/x-amz-json-1.0")
    body = json.loads(response["body"])
    # AWS's `__type` is namespaced; botocore keeps what follows the `#` as Error.Code.
    assert body["__type"].rsplit("#", 1)[-1] == "StateMachineDoesNotExist", body
    assert body["message"] == error["Message"]
    assert sfn_wire.requests[-1]["headers"]["x-amz-target"] == "AWSStepFunctions.DescribeStateMachine"


def test_create_describe_update_and_delete_a_state_machine(sfn, sfn_name):
    name = sfn_name()
    definition = pass_machine("v1")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    created = sfn.create_state_machine(
        name=name,
        definition=definition,
        roleArn=SFN_ROLE,
        tags=[{"key": "team", "value": "loans"}],
    )
    arn = created["stateMachineArn"]
    assert arn == machine_arn(name)
    assert isinstance(created["creationDate"], datetime.datetime)
    assert before <= created["creationDate"] <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)

    # The same request again is idempotent: same ARN, same creation date.
    again = sfn.create_state_machine(name=name, definition=definition, roleArn=SFN_ROLE, tags=[{"key": "team", "value": "loans"}])
    assert again["stateMachineArn"] == arn
    assert again["creationDate"] == created["creationDate"]
    # Another definition under the same name is not.
    expect_sfn_error(
        sfn, sfn.create_state_machine, "StateMachineAlreadyExists",
        name=name, definition=pass_machine("other"), roleArn=SFN_ROLE,
    )

    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["stateMachineArn"] == arn
    assert described["name"] == name
    assert described["status"] == "ACTIVE"
    assert json.loads(described["definition"]) == json.loads(definition)
    assert described["roleArn"] == SFN_ROLE
    assert described["type"] == "STANDARD"
    assert described["creationDate"] == created["creationDate"]
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}
    first_revision = described["revisionId"]
    assert first_revision
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "loans"}]

    updated = sfn.update_state_machine(stateMachineArn=arn, definition=pass_machine("v2"))
    assert isinstance(updated["updateDate"], datetime.datetime)
    assert updated["updateDate"] >= created["creationDate"]
    assert updated["revisionId"] and updated["revisionId"] != first_revision
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "v2"
    assert described["revisionId"] == updated["revisionId"]
    assert described["creationDate"] == created["creationDate"]

    # An update that changes nothing is MissingRequiredParameter; a broken one InvalidDefinition.
    # Neither touches the machine.
    expect_sfn_error(sfn, sfn.update_state_machine, "MissingRequiredParameter", stateMachineArn=arn)
    expect_sfn_error(sfn, sfn.update_state_machine, "InvalidDefinition", stateMachineArn=arn, definition=BROKEN)
    expect_sfn_error(
        sfn, sfn.update_state_machine, "InvalidLoggingConfiguration",
        stateMachineArn=arn, loggingConfiguration={"level": "ALL"},
    )
    unchanged = sfn.describe_state_machine(stateMachineArn=arn)
    assert unchanged["definition"] == described["definition"]
    assert unchanged["revisionId"] == updated["revisionId"]
    assert unchanged["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}

    assert sfn.delete_state_machine(stateMachineArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_sfn_error(sfn, sfn.describe_state_machine, "StateMachineDoesNotExist", stateMachineArn=arn)
    assert name not in all_machine_names(sfn)
    # The name is free again, for any definition.
    recreated = sfn.create_state_machine(name=name, definition=pass_machine("v3"), roleArn=SFN_ROLE)
    assert recreated["stateMachineArn"] == arn
    sfn.delete_state_machine(stateMachineArn=arn)


def test_express_machines_are_described_with_their_type(sfn, sfn_name):
    name = sfn_name("x")
    arn = sfn.create_state_machine(name=name, definition=pass_machine(1), roleArn=SFN_ROLE, type="EXPRESS")["stateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "EXPRESS"
    assert described["status"] == "ACTIVE"


def test_list_state_machines_in_pages_with_next_token_and_the_paginator(sfn_tern, sfn_name):
    # ListStateMachines lists the request's region: a region no other test uses makes the
    # listing exact.
    region = "eu-west-3"
    sfn = make_sfn_client(sfn_tern.endpoint, region=region)
    made = {}
    for index, machine_type in enumerate(["STANDARD", "EXPRESS", "STANDARD", "EXPRESS", "STANDARD"]):
        name = sfn_name(f"l{index}")
        created = sfn.create_state_machine(name=name, definition=pass_machine(index), roleArn=SFN_ROLE, type=machine_type)
        assert created["stateMachineArn"] == machine_arn(name, region)
        made[name] = (created["stateMachineArn"], machine_type, created["creationDate"])

    seen = []
    token = None
    page_sizes = []
    while True:
        kwargs = {"maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = sfn.list_state_machines(**kwargs)
        page_sizes.append(len(page["stateMachines"]))
        seen.extend(page["stateMachines"])
        token = page.get("nextToken")
        if not token:
            break
    assert page_sizes == [2, 2, 1]
    assert sorted(m["name"] for m in seen) == sorted(made)
    for machine in seen:
        arn, machine_type, creation_date = made[machine["name"]]
        assert machine == {
            "stateMachineArn": arn,
            "name": machine["name"],
            "type": machine_type,
            "creationDate": creation_date,
        }

    pages = list(sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["stateMachines"]) for p in pages] == [3, 2]
    assert [m["name"] for p in pages for m in p["stateMachines"]] == [m["name"] for m in seen]
    everything = sfn.list_state_machines()
    assert "nextToken" not in everything
    assert [m["name"] for m in everything["stateMachines"]] == [m["name"] for m in seen]

    # The default region's listing does not have them.
    assert not set(made) & set(all_machine_names(make_sfn_client(sfn_tern.endpoint)))
    expect_sfn_error(sfn, sfn.list_state_machines, "InvalidToken", nextToken="garbage")


@collected_only_where_modelled("ValidateStateMachineDefinition")
def test_validate_definition_reports_aws_diagnostics(sfn):
    fine = sfn.validate_state_machine_definition(definition=pass_machine("ok"))
    assert fine["result"] == "OK"
    assert fine["diagnostics"] == []
    assert fine.get("truncated", False) is False

    # BROKEN has two problems: "Next" names no state, and no state ends the workflow.
    failed = sfn.validate_state_machine_definition(definition=BROKEN)
    assert failed["result"] == "FAIL"
    assert [(d["severity"], d["code"], d["location"]) for d in failed["diagnostics"]] == [
        ("ERROR", "MISSING_TRANSITION_TARGET", "/States/A/Next"),
        ("ERROR", "MISSING_END_STATE", "/States"),
    ]
    assert all(d["message"] for d in failed["diagnostics"])
    assert failed["truncated"] is False

    # At most one diagnostic asked for: the first, and truncated.
    one = sfn.validate_state_machine_definition(definition=BROKEN, maxResults=1)
    assert one["result"] == "FAIL"
    assert one["diagnostics"] == failed["diagnostics"][:1]
    assert one["truncated"] is True

    not_json = sfn.validate_state_machine_definition(definition="{")
    assert not_json["result"] == "FAIL"
    assert not_json["diagnostics"][0]["severity"] == "ERROR"
    assert not_json["diagnostics"][0]["code"]


def test_bad_creates_are_rejected_with_aws_errors_and_create_nothing(sfn, unvalidated_sfn, sfn_name):
    name = sfn_name("bad")
    error = expect_sfn_error(sfn, sfn.create_state_machine, "InvalidDefinition", name=name, definition=BROKEN, roleArn=SFN_ROLE)
    # AWS's message names the diagnostic's code and where it is.
    assert "MISSING_TRANSITION_TARGET" in error["Message"] and "/States/A/Next" in error["Message"], error
    expect_sfn_error(sfn, sfn.create_state_machine, "InvalidDefinition", name=name, definition="{", roleArn=SFN_ROLE)
    expect_sfn_error(sfn, sfn.create_state_machine, "InvalidArn", name=name, definition=pass_machine(1), roleArn="not-an-arn")
    expect_sfn_error(
        sfn, sfn.create_state_machine, "TooManyTags",
        name=name, definition=pass_machine(1), roleArn=SFN_ROLE,
        tags=[{"key": f"k{i}", "value": "v"} for i in range(51)],
    )
    expect_sfn_error(sfn, sfn.describe_state_machine, "StateMachineDoesNotExist", stateMachineArn=machine_arn(name))
    for bad_name in ["has space", "brace{", "a" * 81]:
        expect_sfn_error(sfn, sfn.create_state_machine, "InvalidName", name=bad_name, definition=pass_machine(1), roleArn=SFN_ROLE)
    # A member botocore would refuse to leave out: Tern's own validation answers.
    expect_sfn_error(unvalidated_sfn, unvalidated_sfn.create_state_machine, "ValidationException", name=name, roleArn=SFN_ROLE)
    assert name not in all_machine_names(sfn)
    assert not any(n in all_machine_names(sfn) for n in ["has space", "brace{"])

    expect_sfn_error(sfn, sfn.describe_state_machine, "InvalidArn", stateMachineArn="nonsense")
    # An activity's ARN is not a state machine's.
    expect_sfn_error(
        sfn, sfn.describe_state_machine, "InvalidArn",
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:activity:{name}",
    )


def test_describe_state_machine_for_execution_gives_the_definition_it_runs(sfn, sfn_name):
    name = sfn_name()
    arn = sfn.create_state_machine(name=name, definition=WAITING, roleArn=SFN_ROLE)["stateMachineArn"]
    first = sfn.describe_state_machine(stateMachineArn=arn)
    execution = sfn.start_execution(stateMachineArn=arn, name="first", input="{}")["executionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=pass_machine("v2"))

    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert for_execution["stateMachineArn"] == arn
    assert for_execution["name"] == name
    assert json.loads(for_execution["definition"]) == json.loads(WAITING), "the execution keeps its definition"
    assert for_execution["roleArn"] == SFN_ROLE
    assert isinstance(for_execution["updateDate"], datetime.datetime)
    assert for_execution["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert for_execution["tracingConfiguration"] == {"enabled": False}
    assert for_execution["revisionId"] == first["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]["P"]["Result"] == "v2"

    later = sfn.start_execution(stateMachineArn=arn, name="second")["executionArn"]
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=later)["definition"])["StartAt"] == "P"
    assert wait_for_end(sfn, later)["status"] == "SUCCEEDED"

    sfn.stop_execution(executionArn=execution)
    missing = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{name}:never-started"
    expect_sfn_error(sfn, sfn.describe_state_machine_for_execution, "ExecutionDoesNotExist", executionArn=missing)
    expect_sfn_error(sfn, sfn.describe_state_machine_for_execution, "InvalidArn", executionArn=arn)


def test_deleting_a_machine_with_running_executions(sfn, sfn_name):
    name = sfn_name()
    arn = sfn.create_state_machine(name=name, definition=WAITING, roleArn=SFN_ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="running")["executionArn"]
    sfn.delete_state_machine(stateMachineArn=arn)
    # AWS: the machine is DELETING until its executions stop; no new execution may start.
    assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    expect_sfn_error(sfn, sfn.start_execution, "StateMachineDeleting", stateMachineArn=arn, name="late")
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == ["running"]
    sfn.stop_execution(executionArn=execution)
    assert wait_for_end(sfn, execution)["status"] == "ABORTED"


def test_tag_untag_and_list_tags_of_a_state_machine(sfn, sfn_name):
    arn = sfn.create_state_machine(name=sfn_name(), definition=pass_machine(1), roleArn=SFN_ROLE)["stateMachineArn"]
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "drop", "value": "me"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])  # overwrites
    sfn.untag_resource(resourceArn=arn, tagKeys=["drop", "never-there"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "prod"}]

    expect_sfn_error(
        sfn, sfn.tag_resource, "TooManyTags",
        resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)],
    )
    missing = machine_arn("no-such-machine-anywhere")
    expect_sfn_error(sfn, sfn.list_tags_for_resource, "ResourceNotFound", resourceArn=missing)
    expect_sfn_error(sfn, sfn.tag_resource, "ResourceNotFound", resourceArn=missing, tags=[{"key": "a", "value": "b"}])
    expect_sfn_error(sfn, sfn.tag_resource, "InvalidArn", resourceArn="nonsense", tags=[{"key": "a", "value": "b"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "prod"}]


def test_operations_this_botocore_lacks_are_not_collected():
    """What the flavour can call decides which tests exist: the query-era botocore (1.31.80)
    has no RedriveExecution or ValidateStateMachineDefinition, so their tests are not in its
    run; the current one has both."""
    import botocore

    expect_all = tuple(int(p) for p in botocore.__version__.split(".")[:2]) >= (1, 34)
    assert sfn_model_has("RedriveExecution") is expect_all
    assert sfn_model_has("ValidateStateMachineDefinition") is expect_all
    assert (test_validate_definition_reports_aws_diagnostics is not None) is expect_all
