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

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.execute_batch(PRAGMAS)?;
    connection.execute_batch(SCHEMA)?;
    Ok(connection)
}
