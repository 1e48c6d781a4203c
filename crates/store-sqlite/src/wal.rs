//! The fsync of the write-ahead log, done by the writer itself rather than inside SQLite's
//! commit.
//!
//! The writer's connection commits with `synchronous=NORMAL`: a commit writes its WAL frames
//! (so it survives the process being killed) but does not fsync them. The writer then answers
//! the batch's receives, fsyncs the WAL through its own descriptor and only then answers the
//! rest: one fsync per batch, as SQLite's `synchronous=FULL` did, but with a point between the
//! write and the fsync where a receive's lease can be answered (decision 0007). A batch of
//! receives alone skips the fsync; the next batch's covers it. The next batch begins only after
//! this fsync, so every message a batch can hand out was on stable storage before it ran, except
//! those the batch itself sent, which receives skip ([`crate::index::Index::begin_batch`]).
//!
//! An fsync that fails leaves the file's state unknown (Linux may drop the dirty pages and
//! report success on the next call), so the first failure poisons the store: that batch and every
//! later one are answered with an error, and the writer rolls back whatever it is handed from
//! then on. Only a restart, which recovers from what is on disk, clears it.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Why a batch is refused once an fsync has failed.
pub const POISONED: &str =
    "an earlier write could not be made durable; the server must be restarted";

pub struct Wal {
    path: PathBuf,
    /// Opened on the first sync: the file exists once the first commit has written to it.
    file: Option<File>,
    poisoned: bool,
}

impl Wal {
    /// The WAL of the database at `database_path` (SQLite names it `<database>-wal`).
    pub fn of_database(database_path: &Path) -> Self {
        let mut path = database_path.as_os_str().to_owned();
        path.push("-wal");
        Self {
            path: PathBuf::from(path),
            file: None,
            poisoned: false,
        }
    }

    /// `true` once an fsync has failed: nothing may commit any more.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Puts every frame written so far on stable storage.
    pub fn sync(&mut self) -> Result<(), String> {
        if self.poisoned {
            return Err(POISONED.to_owned());
        }
        self.sync_file().map_err(|error| {
            tracing::error!(%error, path = %self.path.display(),
                "cannot fsync the write-ahead log; no write is accepted until a restart");
            self.poisoned = true;
            format!("cannot fsync the write-ahead log: {error}")
        })
    }

    fn sync_file(&mut self) -> std::io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            empty => {
                let file = File::open(&self.path)?;
                // SQLite may have created the log in this process: its directory entry must be
                // on stable storage too, or a crash could lose the whole file.
                if let Some(directory) = self.path.parent() {
                    File::open(directory)?.sync_all()?;
                }
                empty.insert(file)
            }
        };
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_the_log_beside_the_database() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("db-wal"), b"frames").unwrap();
        let mut wal = Wal::of_database(&directory.path().join("db"));
        assert_eq!(wal.sync(), Ok(()));
        assert_eq!(wal.sync(), Ok(()));
        assert!(!wal.is_poisoned());
    }

    #[test]
    fn a_failed_sync_poisons_every_later_one() {
        let directory = tempfile::tempdir().unwrap();
        let mut wal = Wal::of_database(&directory.path().join("db"));
        // No log file: the first sync cannot open it.
        let failed = wal.sync().unwrap_err();
        assert!(
            failed.starts_with("cannot fsync the write-ahead log"),
            "{failed}"
        );
        std::fs::write(directory.path().join("db-wal"), b"frames").unwrap();
        // The file exists now, yet nothing may be answered as durable any more.
        assert_eq!(wal.sync(), Err(POISONED.to_owned()));
        assert!(wal.is_poisoned());
    }
}
