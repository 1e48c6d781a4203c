//! Conformance checks for [`ProcessStore`]: catalogue records round-trip, a step commits whole
//! (or not at all), listings and history pages, and what start-up reloads.

use std::collections::BTreeMap;

use super::T0;
use crate::processes::*;

/// Runs every process-store check against a fresh, empty store.
pub async fn run_all(store: &dyn ProcessStore) {
    state_machines_round_trip(store).await;
    activities_round_trip(store).await;
    start_is_first_writer_wins(store).await;
    a_step_commits_history_timers_and_tasks_together(store).await;
    a_failing_step_changes_nothing(store).await;
    a_stopped_execution_waits_for_nothing(store).await;
    executions_list_newest_first_with_filters(store).await;
    history_pages_forward_and_backward(store).await;
}

fn machine(name: &str) -> StateMachineRecord {
    StateMachineRecord {
        arn: format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}"),
        name: name.to_owned(),
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_owned(),
        machine_type: "STANDARD".to_owned(),
        role_arn: "arn:aws:iam::000000000000:role/r".to_owned(),
        logging: r#"{"level":"OFF"}"#.to_owned(),
        tracing: r#"{"enabled":false}"#.to_owned(),
        description: String::new(),
        tags: BTreeMap::from([("team".to_owned(), "loans".to_owned())]),
        created_at: T0,
        updated_at: None,
        revision_id: "r1".to_owned(),
        deleting: false,
    }
}

fn execution(machine: &str, name: &str) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("arn:aws:states:us-east-1:000000000000:execution:{machine}:{name}"),
        name: name.to_owned(),
        state_machine_arn: format!("arn:aws:states:us-east-1:000000000000:stateMachine:{machine}"),
        definition: "{}".to_owned(),
        revision_id: "r1".to_owned(),
        role_arn: "arn:aws:iam::000000000000:role/r".to_owned(),
        status: ExecutionStatus::Running,
        input: "{}".to_owned(),
        output: None,
        error: None,
        cause: None,
        started_at: T0,
        stopped_at: None,
        redrive_count: 0,
        redriven_at: None,
        state: r#"{"step":0}"#.to_owned(),
        parent_token: None,
        seq: 0,
    }
}

fn event(event_id: u64, event_type: &str) -> HistoryRecord {
    HistoryRecord {
        event_id,
        previous_event_id: event_id.saturating_sub(1),
        timestamp: T0 + event_id,
        event_type: event_type.to_owned(),
        details: Some(format!(r#"{{"n":{event_id}}}"#)),
    }
}

fn task(record: &ExecutionRecord, task_id: u64, token: &str) -> TaskRecord {
    TaskRecord {
        token: token.to_owned(),
        execution_arn: record.arn.clone(),
        task_id,
        resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".to_owned(),
        parameters: "{}".to_owned(),
        status: TaskStatus::Scheduled,
        timeout_seconds: Some(60),
        heartbeat_seconds: None,
        created_at: T0,
    }
}

/// A step that records `history` and changes no timer or task.
fn history_step(execution: ExecutionRecord, history: Vec<HistoryRecord>) -> StepCommit {
    StepCommit {
        execution,
        history,
        timers_added: Vec::new(),
        timers_removed: Vec::new(),
        tasks_added: Vec::new(),
        tasks_removed: Vec::new(),
        tasks_started: Vec::new(),
    }
}

fn first_step(record: ExecutionRecord) -> StepCommit {
    history_step(record, vec![event(1, "ExecutionStarted")])
}

async fn started(store: &dyn ProcessStore, record: ExecutionRecord) -> ExecutionRecord {
    match store.start_execution(first_step(record)).await.unwrap() {
        StartOutcome::Started(record) => record,
        StartOutcome::AlreadyExists(record) => panic!("{} already existed", record.arn),
    }
}

async fn state_machines_round_trip(store: &dyn ProcessStore) {
    let created = machine("conformance-machine");
    assert_eq!(
        store.create_state_machine(created.clone()).await.unwrap(),
        CreateOutcome::Created(created.clone())
    );
    let mut other = created.clone();
    other.definition = "{}".to_owned();
    assert_eq!(
        store.create_state_machine(other).await.unwrap(),
        CreateOutcome::AlreadyExists(created.clone()),
        "the first writer wins"
    );
    let mut updated = created.clone();
    updated.definition = r#"{"changed":true}"#.to_owned();
    updated.revision_id = "r2".to_owned();
    updated.updated_at = Some(T0 + 5);
    updated.tags.clear();
    updated.deleting = true;
    assert!(store.update_state_machine(updated.clone()).await.unwrap());
    let loaded = store.load_state_machines().await.unwrap();
    assert!(loaded.contains(&updated), "{loaded:?}");
    assert!(
        store
            .delete_state_machine(created.arn.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_state_machine(created.arn.clone())
            .await
            .unwrap()
    );
    assert!(!store.update_state_machine(updated).await.unwrap(), "gone");
}

async fn activities_round_trip(store: &dyn ProcessStore) {
    let activity = ActivityRecord {
        arn: "arn:aws:states:us-east-1:000000000000:activity:conformance".to_owned(),
        name: "conformance".to_owned(),
        tags: BTreeMap::new(),
        created_at: T0,
    };
    assert_eq!(
        store.create_activity(activity.clone()).await.unwrap(),
        CreateOutcome::Created(activity.clone())
    );
    assert_eq!(
        store.create_activity(activity.clone()).await.unwrap(),
        CreateOutcome::AlreadyExists(activity.clone())
    );
    let mut tagged = activity.clone();
    tagged.tags.insert("k".to_owned(), "v".to_owned());
    assert!(store.update_activity(tagged.clone()).await.unwrap());
    assert!(store.load_activities().await.unwrap().contains(&tagged));
    assert!(store.delete_activity(activity.arn.clone()).await.unwrap());
    assert!(!store.delete_activity(activity.arn).await.unwrap());
}

async fn start_is_first_writer_wins(store: &dyn ProcessStore) {
    let record = started(store, execution("conformance-start", "once")).await;
    assert!(record.seq > 0, "the store assigns seq");
    let mut again = execution("conformance-start", "once");
    again.input = r#"{"different":true}"#.to_owned();
    match store.start_execution(first_step(again)).await.unwrap() {
        StartOutcome::AlreadyExists(existing) => assert_eq!(existing, record),
        StartOutcome::Started(_) => panic!("an execution ARN was started twice"),
    }
    let history = store
        .history(history_query(&record.arn, false))
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "the refused start wrote no history");
}

fn history_query(arn: &str, reverse: bool) -> HistoryQuery {
    HistoryQuery {
        execution_arn: arn.to_owned(),
        reverse,
        after_event_id: None,
        limit: 1000,
    }
}

async fn a_step_commits_history_timers_and_tasks_together(store: &dyn ProcessStore) {
    let mut record = started(store, execution("conformance-step", "e1")).await;
    record.state = r#"{"step":1}"#.to_owned();
    let step = StepCommit {
        timers_added: vec![TimerRecord {
            execution_arn: record.arn.clone(),
            timer_id: 7,
            due_at: T0 + 1_000,
        }],
        tasks_added: vec![task(&record, 8, "conformance-token-8")],
        ..history_step(
            record.clone(),
            vec![event(2, "WaitStateEntered"), event(3, "TaskScheduled")],
        )
    };
    store.commit_step(step).await.unwrap();
    let running = store.load_running().await.unwrap();
    let loaded = running
        .executions
        .iter()
        .find(|e| e.arn == record.arn)
        .expect("running execution reloads");
    assert_eq!(loaded.state, record.state);
    assert!(
        running
            .timers
            .iter()
            .any(|t| t.execution_arn == record.arn && t.timer_id == 7 && t.due_at == T0 + 1_000)
    );
    let pending = running
        .tasks
        .iter()
        .find(|t| t.token == "conformance-token-8")
        .expect("task reloads");
    assert_eq!(pending.status, TaskStatus::Scheduled);
    assert_eq!(pending.timeout_seconds, Some(60));

    let next = StepCommit {
        timers_removed: vec![7],
        tasks_started: vec![8],
        ..history_step(record.clone(), vec![event(4, "TaskStarted")])
    };
    store.commit_step(next).await.unwrap();
    let running = store.load_running().await.unwrap();
    assert!(!running.timers.iter().any(|t| t.execution_arn == record.arn));
    let pending = running
        .tasks
        .iter()
        .find(|t| t.token == "conformance-token-8")
        .expect("task still pending");
    assert_eq!(pending.status, TaskStatus::Started);
    let done = StepCommit {
        tasks_removed: vec![8],
        ..history_step(record.clone(), vec![event(5, "TaskSucceeded")])
    };
    store.commit_step(done).await.unwrap();
    let running = store.load_running().await.unwrap();
    assert!(!running.tasks.iter().any(|t| t.execution_arn == record.arn));
    let ids: Vec<u64> = store
        .history(history_query(&record.arn, false))
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}

async fn a_failing_step_changes_nothing(store: &dyn ProcessStore) {
    let mut record = started(store, execution("conformance-atomic", "e1")).await;
    let before = record.state.clone();
    record.state = r#"{"step":"never"}"#.to_owned();
    // Event 1 exists already: the duplicate must roll back the whole step.
    let step = StepCommit {
        timers_added: vec![TimerRecord {
            execution_arn: record.arn.clone(),
            timer_id: 1,
            due_at: T0,
        }],
        ..history_step(
            record.clone(),
            vec![event(2, "PassStateEntered"), event(1, "ExecutionStarted")],
        )
    };
    assert!(store.commit_step(step).await.is_err());
    let stored = store.execution(record.arn.clone()).await.unwrap().unwrap();
    assert_eq!(stored.state, before, "the execution row rolled back");
    let history = store
        .history(history_query(&record.arn, false))
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "no event of the failed step stayed");
    let running = store.load_running().await.unwrap();
    assert!(!running.timers.iter().any(|t| t.execution_arn == record.arn));
    let mut ghost = execution("conformance-atomic", "never-started");
    ghost.state = "{}".to_owned();
    assert!(store.commit_step(first_step(ghost)).await.is_err());
}

async fn a_stopped_execution_waits_for_nothing(store: &dyn ProcessStore) {
    let record = started(store, execution("conformance-stop", "e1")).await;
    let step = StepCommit {
        timers_added: vec![TimerRecord {
            execution_arn: record.arn.clone(),
            timer_id: 3,
            due_at: T0,
        }],
        tasks_added: vec![task(&record, 4, "conformance-stop-token")],
        ..history_step(record.clone(), vec![event(2, "TaskScheduled")])
    };
    store.commit_step(step).await.unwrap();
    let stopped = ExecutionRecord {
        status: ExecutionStatus::Aborted,
        stopped_at: Some(T0 + 9),
        error: Some("Stop".to_owned()),
        cause: Some("by test".to_owned()),
        ..record.clone()
    };
    store
        .commit_step(history_step(
            stopped.clone(),
            vec![event(3, "ExecutionAborted")],
        ))
        .await
        .unwrap();
    let running = store.load_running().await.unwrap();
    assert!(!running.executions.iter().any(|e| e.arn == record.arn));
    assert!(!running.timers.iter().any(|t| t.execution_arn == record.arn));
    assert!(!running.tasks.iter().any(|t| t.execution_arn == record.arn));
    let stored = store.execution(record.arn.clone()).await.unwrap().unwrap();
    assert_eq!(stored, stopped);
}

async fn executions_list_newest_first_with_filters(store: &dyn ProcessStore) {
    let mut names = Vec::new();
    for index in 0..5 {
        let name = format!("e{index}");
        let record = started(store, execution("conformance-list", &name)).await;
        if index % 2 == 0 {
            let done = ExecutionRecord {
                status: ExecutionStatus::Succeeded,
                output: Some("{}".to_owned()),
                stopped_at: Some(T0 + 1),
                ..record
            };
            store.commit_step(first_step_of(done, 2)).await.unwrap();
        }
        names.push(name);
    }
    let machine_arn = "arn:aws:states:us-east-1:000000000000:stateMachine:conformance-list";
    let query = |status, before_seq, limit| ExecutionQuery {
        state_machine_arn: machine_arn.to_owned(),
        status,
        redriven: None,
        before_seq,
        limit,
    };
    let first = store.list_executions(query(None, None, 3)).await.unwrap();
    let listed: Vec<&str> = first.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(listed, ["e4", "e3", "e2"]);
    let rest = store
        .list_executions(query(None, Some(first[2].seq), 3))
        .await
        .unwrap();
    let listed: Vec<&str> = rest.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(listed, ["e1", "e0"]);
    let running = store
        .list_executions(query(Some(ExecutionStatus::Running), None, 10))
        .await
        .unwrap();
    let listed: Vec<&str> = running.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(listed, ["e3", "e1"]);

    let redriven = ExecutionRecord {
        redrive_count: 1,
        redriven_at: Some(T0 + 2),
        ..running[1].clone()
    };
    store
        .commit_step(history_step(redriven, vec![event(2, "ExecutionRedriven")]))
        .await
        .unwrap();
    let only = |redriven| ExecutionQuery {
        redriven: Some(redriven),
        ..query(None, None, 10)
    };
    let listed = store.list_executions(only(true)).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["e1"]);
    assert_eq!(listed[0].redriven_at, Some(T0 + 2));
    let listed = store.list_executions(only(false)).await.unwrap();
    assert_eq!(listed.len(), 4);
}

fn first_step_of(record: ExecutionRecord, event_id: u64) -> StepCommit {
    history_step(record, vec![event(event_id, "ExecutionSucceeded")])
}

async fn history_pages_forward_and_backward(store: &dyn ProcessStore) {
    let record = started(store, execution("conformance-history", "e1")).await;
    let events = (2..=6).map(|id| event(id, "PassStateEntered")).collect();
    store
        .commit_step(history_step(record.clone(), events))
        .await
        .unwrap();
    let page = |reverse, after_event_id, limit| HistoryQuery {
        execution_arn: record.arn.clone(),
        reverse,
        after_event_id,
        limit,
    };
    let ids = |events: Vec<HistoryRecord>| events.iter().map(|e| e.event_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.history(page(false, None, 2)).await.unwrap()),
        [1, 2]
    );
    assert_eq!(
        ids(store.history(page(false, Some(2), 2)).await.unwrap()),
        [3, 4]
    );
    assert_eq!(
        ids(store.history(page(true, None, 2)).await.unwrap()),
        [6, 5]
    );
    assert_eq!(
        ids(store.history(page(true, Some(5), 10)).await.unwrap()),
        [4, 3, 2, 1]
    );
    let first = &store.history(page(false, None, 1)).await.unwrap()[0];
    assert_eq!(first, &event(1, "ExecutionStarted"), "events round-trip");
    assert!(
        store
            .history(HistoryQuery {
                execution_arn: "arn:aws:states:us-east-1:000000000000:execution:x:none".to_owned(),
                ..page(false, None, 10)
            })
            .await
            .unwrap()
            .is_empty()
    );
}
