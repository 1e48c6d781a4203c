//! What every task of a run shares, whatever the target; the bounded error log; the clock.

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::config::Settings;
use crate::groups::Groups;

pub struct Run {
    pub settings: Settings,
    /// Stamped into every body, so leftovers of other runs are told apart.
    pub run_id: u32,
    /// The queue (or stream) name: `--queue`, or `loadgen-<run id>` (`.fifo` added for SQS FIFO
    /// queues by the SQS target).
    pub name: String,
    /// FIFO runs: how messages are spread over groups.
    pub groups: Option<Groups>,
}

impl Run {
    /// A run with `producers` sending tasks.
    pub fn new(settings: Settings, producers: usize) -> Result<Run> {
        let run_id = uuid::Uuid::new_v4().as_u128() as u32;
        let name = match &settings.queue {
            Some(name) => name.clone(),
            None => format!("loadgen-{run_id:08x}"),
        };
        let groups = if settings.fifo {
            Some(Groups::new(u32::try_from(producers)?, settings.groups)?)
        } else {
            None
        };
        Ok(Run {
            settings,
            run_id,
            name,
            groups,
        })
    }

    /// The group of a message (0 outside FIFO runs).
    pub fn group_of(&self, producer: u32, sequence: u64) -> u32 {
        self.groups
            .map_or(0, |groups| groups.of(producer, sequence))
    }
}

/// Most errors written to stderr per run; the rest are only counted.
const ERRORS_LOGGED_MAX: u64 = 20;

static ERRORS_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Writes an error to stderr, up to `ERRORS_LOGGED_MAX` per run (stdout is kept for the report).
pub fn log_error(error: impl Display) {
    let logged = ERRORS_LOGGED.fetch_add(1, Ordering::Relaxed);
    if logged < ERRORS_LOGGED_MAX {
        eprintln!("loadgen: {error}");
    } else if logged == ERRORS_LOGGED_MAX {
        eprintln!("loadgen: further errors are counted, not shown");
    }
}

/// Wall-clock time as unix nanoseconds (what the sequence header carries).
pub fn unix_now_ns() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}
