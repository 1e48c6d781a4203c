//! The SQL behind [`tern_store::processes::ProcessStore`]: state machines, activities,
//! executions, their history, timers and pending tasks.
//!
//! Like every operation, each function runs inside the writer's transaction and its own
//! savepoint, so a step's execution row, history events and timer/task changes commit together
//! or not at all (a duplicate history id rolls the whole step back).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_store::processes::*;

use crate::operations::{as_i64, as_u64, from_json, to_sql_error};

const MACHINE_COLUMNS: &str = "arn, name, definition, machine_type, role_arn, logging, tracing, \
     description, tags, created_at, updated_at, revision_id, deleting";
const EXECUTION_COLUMNS: &str = "seq, arn, name, state_machine_arn, definition, revision_id, \
     role_arn, status, input, output, error, cause, started_at, stopped_at, redrive_count, \
     redriven_at, state, parent_token";
const TASK_COLUMNS: &str = "token, execution_arn, task_id, resource, parameters, status, \
     timeout_seconds, heartbeat_seconds, created_at";

fn tags_json(tags: &BTreeMap<String, String>) -> rusqlite::Result<String> {
    serde_json::to_string(tags).map_err(to_sql_error)
}

fn optional_u64(value: Option<i64>) -> Option<u64> {
    value.map(as_u64)
}

fn machine_from_row(row: &Row<'_>) -> rusqlite::Result<StateMachineRecord> {
    let tags: String = row.get(8)?;
    Ok(StateMachineRecord {
        arn: row.get(0)?,
        name: row.get(1)?,
        definition: row.get(2)?,
        machine_type: row.get(3)?,
        role_arn: row.get(4)?,
        logging: row.get(5)?,
        tracing: row.get(6)?,
        description: row.get(7)?,
        tags: from_json(8, &tags)?,
        created_at: as_u64(row.get(9)?),
        updated_at: optional_u64(row.get(10)?),
        revision_id: row.get(11)?,
        deleting: row.get(12)?,
    })
}

fn status_from(column: usize, text: &str) -> rusqlite::Result<ExecutionStatus> {
    ExecutionStatus::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown execution status {text:?}").into(),
        )
    })
}

fn execution_from_row(row: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    let status: String = row.get(7)?;
    Ok(ExecutionRecord {
        seq: as_u64(row.get(0)?),
        arn: row.get(1)?,
        name: row.get(2)?,
        state_machine_arn: row.get(3)?,
        definition: row.get(4)?,
        revision_id: row.get(5)?,
        role_arn: row.get(6)?,
        status: status_from(7, &status)?,
        input: row.get(8)?,
        output: row.get(9)?,
        error: row.get(10)?,
        cause: row.get(11)?,
        started_at: as_u64(row.get(12)?),
        stopped_at: optional_u64(row.get(13)?),
        redrive_count: row.get(14)?,
        redriven_at: optional_u64(row.get(15)?),
        state: row.get(16)?,
        parent_token: row.get(17)?,
    })
}

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let status: String = row.get(5)?;
    Ok(TaskRecord {
        token: row.get(0)?,
        execution_arn: row.get(1)?,
        task_id: as_u64(row.get(2)?),
        resource: row.get(3)?,
        parameters: row.get(4)?,
        status: if status == "STARTED" {
            TaskStatus::Started
        } else {
            TaskStatus::Scheduled
        },
        timeout_seconds: optional_u64(row.get(6)?),
        heartbeat_seconds: optional_u64(row.get(7)?),
        created_at: as_u64(row.get(8)?),
    })
}

fn history_from_row(row: &Row<'_>) -> rusqlite::Result<HistoryRecord> {
    Ok(HistoryRecord {
        event_id: as_u64(row.get(0)?),
        previous_event_id: as_u64(row.get(1)?),
        timestamp: as_u64(row.get(2)?),
        event_type: row.get(3)?,
        details: row.get(4)?,
    })
}

pub fn load_state_machines(connection: &Connection) -> rusqlite::Result<Vec<StateMachineRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {MACHINE_COLUMNS} FROM state_machines ORDER BY arn"
    ))?;
    let rows = statement.query_map([], machine_from_row)?;
    rows.collect()
}

fn machine(connection: &Connection, arn: &str) -> rusqlite::Result<Option<StateMachineRecord>> {
    connection
        .prepare_cached(&format!(
            "SELECT {MACHINE_COLUMNS} FROM state_machines WHERE arn = ?1"
        ))?
        .query_row([arn], machine_from_row)
        .optional()
}

pub fn create_state_machine(
    connection: &Connection,
    record: &StateMachineRecord,
) -> rusqlite::Result<CreateOutcome<StateMachineRecord>> {
    if let Some(existing) = machine(connection, &record.arn)? {
        return Ok(CreateOutcome::AlreadyExists(existing));
    }
    connection
        .prepare_cached(&format!(
            "INSERT INTO state_machines ({MACHINE_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))?
        .execute(params![
            record.arn,
            record.name,
            record.definition,
            record.machine_type,
            record.role_arn,
            record.logging,
            record.tracing,
            record.description,
            tags_json(&record.tags)?,
            as_i64(record.created_at),
            record.updated_at.map(as_i64),
            record.revision_id,
            record.deleting,
        ])?;
    Ok(CreateOutcome::Created(record.clone()))
}

pub fn update_state_machine(
    connection: &Connection,
    record: &StateMachineRecord,
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached(
            "UPDATE state_machines SET definition = ?2, role_arn = ?3, logging = ?4, tracing = ?5,
                 description = ?6, tags = ?7, updated_at = ?8, revision_id = ?9, deleting = ?10
             WHERE arn = ?1",
        )?
        .execute(params![
            record.arn,
            record.definition,
            record.role_arn,
            record.logging,
            record.tracing,
            record.description,
            tags_json(&record.tags)?,
            record.updated_at.map(as_i64),
            record.revision_id,
            record.deleting,
        ])?;
    Ok(changed > 0)
}

pub fn delete_state_machine(connection: &Connection, arn: &str) -> rusqlite::Result<bool> {
    delete_by_arn(connection, "state_machines", arn)
}

/// Deletes the row of `table` with `arn`; whether there was one.
fn delete_by_arn(connection: &Connection, table: &str, arn: &str) -> rusqlite::Result<bool> {
    let deleted = connection
        .prepare_cached(&format!("DELETE FROM {table} WHERE arn = ?1"))?
        .execute([arn])?;
    Ok(deleted > 0)
}

fn activity_from_row(row: &Row<'_>) -> rusqlite::Result<ActivityRecord> {
    let tags: String = row.get(2)?;
    Ok(ActivityRecord {
        arn: row.get(0)?,
        name: row.get(1)?,
        tags: from_json(2, &tags)?,
        created_at: as_u64(row.get(3)?),
    })
}

pub fn load_activities(connection: &Connection) -> rusqlite::Result<Vec<ActivityRecord>> {
    let mut statement = connection
        .prepare_cached("SELECT arn, name, tags, created_at FROM activities ORDER BY arn")?;
    let rows = statement.query_map([], activity_from_row)?;
    rows.collect()
}

pub fn create_activity(
    connection: &Connection,
    record: &ActivityRecord,
) -> rusqlite::Result<CreateOutcome<ActivityRecord>> {
    let existing = connection
        .prepare_cached("SELECT arn, name, tags, created_at FROM activities WHERE arn = ?1")?
        .query_row([&record.arn], activity_from_row)
        .optional()?;
    if let Some(existing) = existing {
        return Ok(CreateOutcome::AlreadyExists(existing));
    }
    connection
        .prepare_cached(
            "INSERT INTO activities (arn, name, tags, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            record.arn,
            record.name,
            tags_json(&record.tags)?,
            as_i64(record.created_at)
        ])?;
    Ok(CreateOutcome::Created(record.clone()))
}

pub fn update_activity(connection: &Connection, record: &ActivityRecord) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached("UPDATE activities SET tags = ?2 WHERE arn = ?1")?
        .execute(params![record.arn, tags_json(&record.tags)?])?;
    Ok(changed > 0)
}

pub fn delete_activity(connection: &Connection, arn: &str) -> rusqlite::Result<bool> {
    delete_by_arn(connection, "activities", arn)
}

pub fn execution(connection: &Connection, arn: &str) -> rusqlite::Result<Option<ExecutionRecord>> {
    connection
        .prepare_cached(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"
        ))?
        .query_row([arn], execution_from_row)
        .optional()
}

pub fn start_execution(
    connection: &Connection,
    step: &StepCommit,
) -> rusqlite::Result<StartOutcome> {
    if let Some(existing) = execution(connection, &step.execution.arn)? {
        return Ok(StartOutcome::AlreadyExists(existing));
    }
    let record = &step.execution;
    connection
        .prepare_cached(
            "INSERT INTO executions (arn, name, state_machine_arn, definition, revision_id,
                 role_arn, status, input, output, error, cause, started_at, stopped_at,
                 redrive_count, redriven_at, state, parent_token)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?
        .execute(params![
            record.arn,
            record.name,
            record.state_machine_arn,
            record.definition,
            record.revision_id,
            record.role_arn,
            record.status.as_str(),
            record.input,
            record.output,
            record.error,
            record.cause,
            as_i64(record.started_at),
            record.stopped_at.map(as_i64),
            record.redrive_count,
            record.redriven_at.map(as_i64),
            record.state,
            record.parent_token,
        ])?;
    let seq = as_u64(connection.last_insert_rowid());
    apply_changes(connection, step)?;
    Ok(StartOutcome::Started(ExecutionRecord {
        seq,
        ..record.clone()
    }))
}

pub fn commit_step(connection: &Connection, step: &StepCommit) -> rusqlite::Result<()> {
    let record = &step.execution;
    let changed = connection
        .prepare_cached(
            "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5,
                 stopped_at = ?6, redrive_count = ?7, redriven_at = ?8, state = ?9
             WHERE arn = ?1",
        )?
        .execute(params![
            record.arn,
            record.status.as_str(),
            record.output,
            record.error,
            record.cause,
            record.stopped_at.map(as_i64),
            record.redrive_count,
            record.redriven_at.map(as_i64),
            record.state,
        ])?;
    if changed == 0 {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    apply_changes(connection, step)
}

/// History, timers and tasks of one step. An execution that has stopped waits for nothing, so
/// its timers and tasks go with the step that stopped it.
fn apply_changes(connection: &Connection, step: &StepCommit) -> rusqlite::Result<()> {
    let arn = step.execution.arn.as_str();
    let mut insert_event = connection.prepare_cached(
        "INSERT INTO execution_history
             (execution_arn, event_id, previous_event_id, timestamp, event_type, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for event in &step.history {
        insert_event.execute(params![
            arn,
            as_i64(event.event_id),
            as_i64(event.previous_event_id),
            as_i64(event.timestamp),
            event.event_type,
            event.details,
        ])?;
    }
    if step.execution.status != ExecutionStatus::Running {
        connection
            .prepare_cached("DELETE FROM execution_timers WHERE execution_arn = ?1")?
            .execute([arn])?;
        connection
            .prepare_cached("DELETE FROM execution_tasks WHERE execution_arn = ?1")?
            .execute([arn])?;
        return Ok(());
    }
    let mut remove_timer = connection.prepare_cached(
        "DELETE FROM execution_timers WHERE execution_arn = ?1 AND timer_id = ?2",
    )?;
    for timer_id in &step.timers_removed {
        remove_timer.execute(params![arn, as_i64(*timer_id)])?;
    }
    let mut add_timer = connection.prepare_cached(
        "INSERT OR REPLACE INTO execution_timers (execution_arn, timer_id, due_at)
         VALUES (?1, ?2, ?3)",
    )?;
    for timer in &step.timers_added {
        add_timer.execute(params![arn, as_i64(timer.timer_id), as_i64(timer.due_at)])?;
    }
    let mut add_task = connection.prepare_cached(&format!(
        "INSERT INTO execution_tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for task in &step.tasks_added {
        add_task.execute(params![
            task.token,
            arn,
            as_i64(task.task_id),
            task.resource,
            task.parameters,
            task_status_text(task.status),
            task.timeout_seconds.map(as_i64),
            task.heartbeat_seconds.map(as_i64),
            as_i64(task.created_at),
        ])?;
    }
    let mut start_task = connection.prepare_cached(
        "UPDATE execution_tasks SET status = 'STARTED' WHERE execution_arn = ?1 AND task_id = ?2",
    )?;
    for task_id in &step.tasks_started {
        start_task.execute(params![arn, as_i64(*task_id)])?;
    }
    let mut remove_task = connection
        .prepare_cached("DELETE FROM execution_tasks WHERE execution_arn = ?1 AND task_id = ?2")?;
    for task_id in &step.tasks_removed {
        remove_task.execute(params![arn, as_i64(*task_id)])?;
    }
    Ok(())
}

fn task_status_text(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Scheduled => "SCHEDULED",
        TaskStatus::Started => "STARTED",
    }
}

pub fn list_executions(
    connection: &Connection,
    query: &ExecutionQuery,
) -> rusqlite::Result<Vec<ExecutionRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions
         WHERE state_machine_arn = ?1 AND (?2 IS NULL OR status = ?2) AND seq < ?3
             AND (?5 IS NULL OR (redrive_count > 0) = ?5)
         ORDER BY seq DESC LIMIT ?4"
    ))?;
    let rows = statement.query_map(
        params![
            query.state_machine_arn,
            query.status.map(ExecutionStatus::as_str),
            query.before_seq.map_or(i64::MAX, as_i64),
            i64::from(query.limit),
            query.redriven,
        ],
        execution_from_row,
    )?;
    rows.collect()
}

pub fn history(
    connection: &Connection,
    query: &HistoryQuery,
) -> rusqlite::Result<Vec<HistoryRecord>> {
    let sql = if query.reverse {
        "SELECT event_id, previous_event_id, timestamp, event_type, details FROM execution_history
         WHERE execution_arn = ?1 AND event_id < ?2 ORDER BY event_id DESC LIMIT ?3"
    } else {
        "SELECT event_id, previous_event_id, timestamp, event_type, details FROM execution_history
         WHERE execution_arn = ?1 AND event_id > ?2 ORDER BY event_id LIMIT ?3"
    };
    let bound = match (query.after_event_id, query.reverse) {
        (Some(id), _) => as_i64(id),
        (None, true) => i64::MAX,
        (None, false) => 0,
    };
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(
        params![query.execution_arn, bound, i64::from(query.limit)],
        history_from_row,
    )?;
    rows.collect()
}

pub fn load_running(connection: &Connection) -> rusqlite::Result<RunningProcesses> {
    let executions = {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE status = 'RUNNING' ORDER BY seq"
        ))?;
        let rows = statement.query_map([], execution_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let timers = {
        let mut statement = connection.prepare_cached(
            "SELECT execution_arn, timer_id, due_at FROM execution_timers ORDER BY due_at",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(TimerRecord {
                execution_arn: row.get(0)?,
                timer_id: as_u64(row.get(1)?),
                due_at: as_u64(row.get(2)?),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let tasks = {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM execution_tasks ORDER BY created_at, task_id"
        ))?;
        let rows = statement.query_map([], task_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(RunningProcesses {
        executions,
        timers,
        tasks,
    })
}
