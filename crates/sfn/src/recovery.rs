//! Start-up: every execution the store holds as RUNNING resumes where its last committed step
//! left it.
//!
//! Runners are created first (so any event finds its execution), then pending tasks are
//! re-registered by token — tasks recorded as scheduled but never handed over are dispatched
//! again (at-least-once), tasks already started wait for their callback or worker — and last
//! the timers are re-armed at their stored due times (a due time that passed fires at once).

use std::sync::Arc;

use serde_json::Value;
use tern_asl::interpreter::{Execution, TaskRequest};
use tern_store::processes::TaskStatus;

use crate::errors::{SfnError, store_error};
use crate::integrations::{Integration, Pattern, classify};
use crate::runner::Runner;
use crate::{Engine, lock};

pub(crate) async fn resume(engine: &Arc<Engine>) -> Result<(), SfnError> {
    let running = engine.store.load_running().await.map_err(store_error)?;
    let executions = running.executions.len();
    for record in running.executions {
        let definition = match engine.definition_of(&record.state_machine_arn, &record.definition) {
            Ok(definition) => definition,
            Err(error) => {
                tracing::error!(arn = %record.arn, %error, "a stored execution's definition no longer parses; it stays stopped in place");
                continue;
            }
        };
        let execution: Execution = match serde_json::from_str(&record.state) {
            Ok(execution) => execution,
            Err(error) => {
                tracing::error!(arn = %record.arn, %error, "a stored execution's state cannot be read; it stays stopped in place");
                continue;
            }
        };
        let arn = record.arn.clone();
        let runner = Runner::new(record, definition, execution, true);
        lock(&engine.running).insert(arn, runner);
    }
    let mut children = Vec::new();
    for task in running.tasks {
        let Some(runner) = engine.runner(&task.execution_arn) else {
            continue;
        };
        let request = TaskRequest {
            task_id: task.task_id,
            resource: task.resource.clone(),
            parameters: serde_json::from_str(&task.parameters).unwrap_or(Value::Null),
            timeout_seconds: task.timeout_seconds,
            heartbeat_seconds: task.heartbeat_seconds,
            task_token: task.token.clone(),
        };
        let started = task.status == TaskStatus::Started;
        let mut state = runner.state.lock().await;
        engine.start_task(&runner, &mut state, request.clone(), started);
        let (integration, pattern) = classify(&task.resource);
        if started
            && integration == Integration::StartExecution
            && matches!(pattern, Pattern::Sync | Pattern::Sync2)
        {
            children.push((task.execution_arn.clone(), pattern, request));
        }
    }
    for timer in running.timers {
        let Some(runner) = engine.runner(&timer.execution_arn) else {
            continue;
        };
        let due = i64::try_from(timer.due_at).unwrap_or(i64::MAX);
        let handle = engine.arm_timer(&timer.execution_arn, timer.timer_id, due);
        runner
            .state
            .lock()
            .await
            .timers
            .insert(timer.timer_id, handle);
    }
    // A `.sync` parent waits for a child that may have stopped, still run, or never started.
    for (parent_arn, pattern, task) in children {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine.resume_child(&parent_arn, pattern, &task).await;
        });
    }
    if executions > 0 {
        tracing::info!(executions, "resumed running executions");
    }
    Ok(())
}
