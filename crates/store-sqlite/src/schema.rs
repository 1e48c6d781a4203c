//! Tables, indexes and the pragmas that make SQLite durable: WAL with `synchronous=FULL` fsyncs
//! the log on every commit, which is what lets a reply mean "on stable storage".

use std::path::Path;

use rusqlite::Connection;

const PRAGMAS: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    PRAGMA foreign_keys = OFF;
    PRAGMA cache_size = -65536;
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
    CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue_id, visible_at);
    CREATE INDEX IF NOT EXISTS messages_by_age ON messages (queue_id, sent_at);
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
