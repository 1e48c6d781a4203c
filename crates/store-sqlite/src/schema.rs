//! Tables, indexes and the pragmas that make SQLite durable: WAL with `synchronous=FULL` fsyncs
//! the log on every commit while the store opens and migrates; the writer thread then switches
//! to `synchronous=NORMAL` and fsyncs the log itself after each batch ([`crate::wal`]).

use std::path::Path;

use rusqlite::Connection;

// The page cache is kept small (8 MiB) on purpose. When a B-tree split takes its new pages from
// a scattered free list (as it does after a large delete: a purged or deleted queue), SQLite
// swaps them into order through the pending-byte page's number (page 262,145 with 4 KiB pages),
// and every commit after such a swap ends by scanning the cache's whole hash table for pages
// beyond the database's end. With a 64 MiB cache that scan was half of the writer's time, and
// end-to-end throughput fell to about 0.6× for as long as the server ran. The index (decision
// 0004) means only a queue's head and tail pages are hot, and they fit in 8 MiB; the scan
// then costs ~6 % (docs/decisions/0006-a-small-page-cache.md).
const PRAGMAS: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    PRAGMA foreign_keys = OFF;
    PRAGMA cache_size = -8192;
    PRAGMA temp_store = MEMORY;
";

// AUTOINCREMENT on both keys: ids are never reused, which receipts and queue re-creation rely on.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS queues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_modified_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        attributes TEXT,
        md5_of_body TEXT NOT NULL,
        md5_of_attributes TEXT,
        sender_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_received_at INTEGER,
        last_received_at INTEGER,
        receipt_token INTEGER NOT NULL DEFAULT 0
    );
";

/// Schema changes after the first release, applied in order; `PRAGMA user_version` records how
/// many have run, so a data directory from an older Tern is upgraded in place at start-up.
const MIGRATIONS: &[&str] = &[
    // 1: FIFO queues, dead-letter queues.
    "
    ALTER TABLE messages ADD COLUMN group_id TEXT;
    ALTER TABLE messages ADD COLUMN deduplication_id TEXT;
    -- The queue a dead-lettered message came from, for redrive back to its source.
    ALTER TABLE messages ADD COLUMN source_queue_id INTEGER;
    CREATE INDEX messages_by_group ON messages (queue_id, group_id, seq)
        WHERE group_id IS NOT NULL;
    CREATE TABLE deduplication (
        queue_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        deduplication_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        window_ends_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, scope, deduplication_id)
    ) WITHOUT ROWID;
    CREATE TABLE receive_attempts (
        queue_id INTEGER NOT NULL,
        attempt_id TEXT NOT NULL,
        receipts TEXT NOT NULL,
        window_ends_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, attempt_id)
    ) WITHOUT ROWID;
    ",
    // 2: the AWSTraceHeader message system attribute.
    "ALTER TABLE messages ADD COLUMN trace_header TEXT;",
    // 3: SNS topics and their subscriptions. AUTOINCREMENT: topic ids are never reused either,
    // so a subscription row can never attach itself to a re-created topic of the same name.
    "
    CREATE TABLE topics (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        topic_id INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (topic_id, protocol, endpoint)
    );
    ",
    // 4: the process manager (Step Functions): state machines, activities, executions with their
    // history, and what running executions wait for (timers, tasks). AUTOINCREMENT on
    // executions: `seq` orders listings and is never reused.
    "
    CREATE TABLE state_machines (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        machine_type TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        logging TEXT NOT NULL,
        tracing TEXT NOT NULL,
        description TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER,
        revision_id TEXT NOT NULL,
        deleting INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE activities (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE executions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        arn TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        state_machine_arn TEXT NOT NULL,
        definition TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT,
        started_at INTEGER NOT NULL,
        stopped_at INTEGER,
        redrive_count INTEGER NOT NULL DEFAULT 0,
        redriven_at INTEGER,
        state TEXT NOT NULL,
        parent_token TEXT
    );
    CREATE INDEX executions_by_machine ON executions (state_machine_arn, seq);
    CREATE INDEX executions_running ON executions (status) WHERE status = 'RUNNING';
    CREATE TABLE execution_history (
        execution_arn TEXT NOT NULL,
        event_id INTEGER NOT NULL,
        previous_event_id INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        details TEXT,
        PRIMARY KEY (execution_arn, event_id)
    ) WITHOUT ROWID;
    CREATE TABLE execution_timers (
        execution_arn TEXT NOT NULL,
        timer_id INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        PRIMARY KEY (execution_arn, timer_id)
    ) WITHOUT ROWID;
    CREATE TABLE execution_tasks (
        token TEXT PRIMARY KEY,
        execution_arn TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        resource TEXT NOT NULL,
        parameters TEXT NOT NULL,
        status TEXT NOT NULL,
        timeout_seconds INTEGER,
        heartbeat_seconds INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (execution_arn, task_id)
    );
    ",
    // 5: SNS http/https subscriptions (confirmation state, pending HTTP deliveries that survive
    // a crash) and FIFO topics' own deduplication window.
    "
    ALTER TABLE subscriptions ADD COLUMN pending_confirmation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN confirmation_was_authenticated INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE subscriptions ADD COLUMN token TEXT;
    ALTER TABLE subscriptions ADD COLUMN token_expires_at INTEGER;
    CREATE INDEX subscriptions_by_token ON subscriptions (token) WHERE token IS NOT NULL;
    CREATE TABLE http_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id TEXT NOT NULL,
        topic_id INTEGER NOT NULL,
        endpoint TEXT NOT NULL,
        message_type TEXT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX http_deliveries_by_due ON http_deliveries (due_at, id);
    -- Subscriptions take turns at delivery: each one's earliest due deliveries, by index.
    CREATE INDEX http_deliveries_by_subscription ON http_deliveries (subscription_id, due_at);
    CREATE INDEX http_deliveries_by_topic ON http_deliveries (topic_id);
    CREATE TABLE topic_deduplication (
        topic_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        deduplication_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sequence_number TEXT NOT NULL,
        window_ends_at INTEGER NOT NULL,
        PRIMARY KEY (topic_id, scope, deduplication_id)
    ) WITHOUT ROWID;
    CREATE INDEX topic_deduplication_by_expiry ON topic_deduplication (topic_id, window_ends_at);
    ",
    // 6: messages are found through the writer's in-memory index and touched by primary key
    // only, so their secondary indexes go (each cost a B-tree update per insert, receive and
    // delete). See docs/decisions/0004-in-memory-message-index.md.
    "
    DROP INDEX IF EXISTS messages_by_visibility;
    DROP INDEX IF EXISTS messages_by_age;
    DROP INDEX IF EXISTS messages_by_group;
    ",
];

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let mut connection = Connection::open(path)?;
    connection.execute_batch(PRAGMAS)?;
    connection.execute_batch(SCHEMA)?;
    migrate(&mut connection)?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "store schema migrated");
    }
    Ok(())
}
