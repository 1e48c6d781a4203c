//! Engine behaviour against the real embedded store: a second engine on the same store (what a
//! restart sees) resumes waits, keeps task tokens valid and re-queues activity tasks; time
//! scaling; stale and malformed tokens.

use std::sync::Arc;
use std::time::Duration;

use tern_broker::Broker;
use tern_core::time::SystemClock;
use tern_store::processes::ProcessStore;
use tern_store_sqlite::SqliteStore;

use super::*;
use crate::executions::StartExecution;

/// Upper bound on an execution reaching the state a test waits for.
const WAIT_MAX: Duration = Duration::from_secs(20);

async fn engine_on(store: Arc<SqliteStore>) -> Arc<Engine> {
    let broker = Broker::start(store.clone(), Arc::new(SystemClock), "000000000000")
        .await
        .expect("broker");
    let config = EngineConfig {
        time_scale: 0.001,
        ..EngineConfig::default()
    };
    let processes: Arc<dyn ProcessStore> = store;
    Engine::start(processes, broker, Arc::new(SystemClock), config)
        .await
        .expect("engine")
}

/// Creates a machine in `us-east-1` of `machine_type` (STANDARD when `None`); returns its ARN.
async fn create_machine(
    engine: &Engine,
    name: &str,
    definition: &serde_json::Value,
    machine_type: Option<&str>,
) -> String {
    engine
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            machine_type: machine_type.map(Into::into),
            region: "us-east-1".into(),
            ..CreateStateMachine::default()
        })
        .await
        .expect("CreateStateMachine")
        .arn
}

async fn wait_until_stopped(engine: &Engine, arn: &str) -> ExecutionRecord {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        let record = engine.describe_execution(arn).await.expect("exists").record;
        if record.status != ExecutionStatus::Running {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{arn} never stopped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn delays_scale_and_past_moments_stay_past() {
    assert_eq!(scaled_due(1_000, 101_000, 0.01), 2_000);
    assert_eq!(scaled_due(1_000, 500, 0.01), 1_000);
    assert_eq!(scaled_due(0, 10_000, 1.0), 10_000);
    assert!(scaled_due(0, i64::MAX, 1e6) > 0, "no overflow");
}

#[tokio::test]
async fn a_new_engine_on_the_same_store_resumes_waits_tokens_and_activity_tasks() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let first = engine_on(store.clone()).await;
    let handed = first
        .create_activity("handed", &[], "us-east-1")
        .await
        .unwrap();
    let queued = first
        .create_activity("queued", &[], "us-east-1")
        .await
        .unwrap();
    let definition = serde_json::json!({"StartAt": "All", "States": {"All": {
    "Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 2000, "End": true}}},
        {"StartAt": "H", "States": {"H": {"Type": "Task", "Resource": handed.arn, "End": true}}},
        {"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": queued.arn, "End": true}}}
    ]}}});
    let machine = create_machine(&first, "resume", &definition, None).await;
    let started = first
        .start_execution(StartExecution {
            state_machine_arn: machine.clone(),
            name: Some("e".into()),
            input: None,
        })
        .await
        .unwrap();
    let task = first
        .get_activity_task(&handed.arn, Some("w".into()), Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    first.begin_shutdown();
    drop(first);

    let second = engine_on(store.clone()).await;
    assert_eq!(
        second
            .send_task_success("0c7d3f3e-0000-4000-8000-000000000000-9", "{}")
            .await
            .unwrap_err()
            .code,
        SfnErrorCode::TaskTimedOut,
        "a well-formed token of no pending task"
    );
    assert_eq!(
        second
            .send_task_heartbeat("garbage")
            .await
            .unwrap_err()
            .code,
        SfnErrorCode::InvalidToken
    );
    second
        .send_task_success(&task.task_token, "\"handed\"")
        .await
        .expect("the token survived");
    let queued_task = second
        .get_activity_task(&queued.arn, None, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the queued task was queued again");
    second
        .send_task_success(&queued_task.task_token, "\"queued\"")
        .await
        .unwrap();
    let record = wait_until_stopped(&second, &started.execution_arn).await;
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(record.output.as_deref(), Some("[{},\"handed\",\"queued\"]"));
    let history = second
        .execution_history(HistoryRequest {
            execution_arn: started.execution_arn.clone(),
            include_data: true,
            ..HistoryRequest::default()
        })
        .await
        .unwrap();
    for (index, event) in history.events.iter().enumerate() {
        assert_eq!(
            event.event_id,
            index as u64 + 1,
            "no duplicate or missing event"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn express_executions_time_out_after_five_scaled_minutes() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let engine = engine_on(store.clone()).await;
    let activity = engine
        .create_activity("never", &[], "us-east-1")
        .await
        .unwrap();
    let definition = serde_json::json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": activity.arn, "End": true}}});
    let machine = create_machine(&engine, "quick", &definition, Some("EXPRESS")).await;
    // Five minutes at a time scale of 0.001: 300 ms.
    let record = tokio::time::timeout(
        WAIT_MAX,
        engine.start_sync_execution(StartExecution {
            state_machine_arn: machine,
            name: None,
            input: None,
        }),
    )
    .await
    .expect("the limit ended the execution")
    .unwrap();
    assert_eq!(record.status, ExecutionStatus::TimedOut);
    assert_eq!(record.error.as_deref(), Some("States.Timeout"));
    assert!(
        engine
            .get_activity_task(&activity.arn, None, Duration::from_millis(50))
            .await
            .unwrap()
            .is_none(),
        "the timed-out execution's task is gone"
    );
    store.close().await;
}

#[tokio::test]
async fn work_started_and_cancelled_in_one_step_is_never_stored_or_dispatched() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let engine = engine_on(store.clone()).await;
    let activity = engine
        .create_activity("doomed", &[], "us-east-1")
        .await
        .unwrap();
    // Branch 0 schedules its activity task; branch 1 fails in the same step, which aborts
    // branch 0; the Catch moves on to a long Wait.
    let definition = serde_json::json!({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [
            {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity.arn, "End": true}}},
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}}
        ], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Hold"}], "End": true},
        "Hold": {"Type": "Wait", "Seconds": 100000, "End": true}
    }});
    let machine = create_machine(&engine, "doomed", &definition, None).await;
    let started = engine
        .start_execution(StartExecution {
            state_machine_arn: machine,
            name: None,
            input: None,
        })
        .await
        .unwrap();
    let running = store.load_running().await.unwrap();
    assert_eq!(running.executions.len(), 1);
    assert!(running.tasks.is_empty(), "{:?}", running.tasks);
    assert_eq!(running.timers.len(), 1, "only the Wait's timer");
    assert!(
        engine
            .get_activity_task(&activity.arn, None, Duration::from_millis(50))
            .await
            .unwrap()
            .is_none()
    );
    engine
        .stop_execution(&started.execution_arn, None, None)
        .await
        .unwrap();
    store.close().await;
}
