//! Time as a value. Rules take `now` as an argument; only the [`Clock`] knows the real time, so
//! tests can move time forward without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: what SQS reports in `SentTimestamp` and friends.
pub type Millis = u64;

pub const MILLIS_PER_SECOND: u64 = 1_000;

/// `seconds` expressed in milliseconds, saturating rather than overflowing.
pub fn seconds_to_millis(seconds: u64) -> Millis {
    seconds.saturating_mul(MILLIS_PER_SECOND)
}

pub trait Clock: Send + Sync + 'static {
    fn now_millis(&self) -> Millis;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        // A clock before 1970 is a broken machine; treat it as the epoch rather than panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn starting_at(now: Millis) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(now)),
        }
    }

    pub fn advance_millis(&self, delta: Millis) {
        self.now.fetch_add(delta, Ordering::SeqCst);
    }

    pub fn advance_seconds(&self, seconds: u64) {
        self.advance_millis(seconds_to_millis(seconds));
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = ManualClock::starting_at(1_000);
        let shared = clock.clone();
        assert_eq!(clock.now_millis(), 1_000);
        shared.advance_seconds(2);
        assert_eq!(clock.now_millis(), 3_000);
    }

    #[test]
    fn seconds_to_millis_saturates() {
        assert_eq!(seconds_to_millis(3), 3_000);
        assert_eq!(seconds_to_millis(u64::MAX), u64::MAX);
    }
}
