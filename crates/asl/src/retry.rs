//! `Retry` and `Catch`: their shapes and the retry schedule as a pure function.

use crate::errors;
use crate::path::Path;

/// One element of a `Retry` array.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    /// Each delay is drawn uniformly from zero to the computed delay.
    Full,
}

impl Default for Retrier {
    /// The defaults of the ASL specification.
    fn default() -> Retrier {
        Retrier {
            error_equals: Vec::new(),
            interval_seconds: 1,
            max_attempts: 3,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter: Jitter::None,
        }
    }
}

/// One element of a `Catch` array.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    /// `None` is an explicit `null` (the error output is discarded); absent means `$`.
    pub result_path: Option<Path>,
}

impl Retrier {
    pub fn matches(&self, error: &str) -> bool {
        self.error_equals
            .iter()
            .any(|pattern| errors::matches(pattern, error))
    }

    /// The delay before retry number `retries_done + 1`, or `None` when the attempts are spent.
    ///
    /// `random` is a caller-provided draw (any `u64`) used only for `JitterStrategy: FULL`, so
    /// the function stays pure and replayable.
    pub fn delay_ms(&self, retries_done: u32, random: u64) -> Option<u64> {
        if retries_done >= self.max_attempts {
            return None;
        }
        let base_ms = self.interval_seconds as f64 * 1000.0;
        let exponent = i32::try_from(retries_done).unwrap_or(i32::MAX);
        let mut delay_ms = base_ms * self.backoff_rate.powi(exponent);
        if let Some(max_delay_seconds) = self.max_delay_seconds {
            delay_ms = delay_ms.min(max_delay_seconds as f64 * 1000.0);
        }
        // Far beyond any real schedule; keeps the cast below defined.
        let delay_ms = delay_ms.clamp(0.0, 1e15) as u64;
        Some(match self.jitter {
            Jitter::None => delay_ms,
            Jitter::Full => random % (delay_ms + 1),
        })
    }
}

impl Catcher {
    pub fn matches(&self, error: &str) -> bool {
        self.error_equals
            .iter()
            .any(|pattern| errors::matches(pattern, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_doubles_from_one_second() {
        let retrier = Retrier {
            error_equals: vec!["States.ALL".into()],
            ..Retrier::default()
        };
        assert_eq!(retrier.delay_ms(0, 0), Some(1000));
        assert_eq!(retrier.delay_ms(1, 0), Some(2000));
        assert_eq!(retrier.delay_ms(2, 0), Some(4000));
        assert_eq!(retrier.delay_ms(3, 0), None);
    }

    #[test]
    fn aws_guide_example_interval_three_backoff_one_and_a_half() {
        // "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5 → 3 s, then 4.5 s.
        let retrier = Retrier {
            interval_seconds: 3,
            max_attempts: 2,
            backoff_rate: 1.5,
            ..Retrier::default()
        };
        assert_eq!(retrier.delay_ms(0, 0), Some(3000));
        assert_eq!(retrier.delay_ms(1, 0), Some(4500));
        assert_eq!(retrier.delay_ms(2, 0), None);
    }

    #[test]
    fn max_delay_caps_and_jitter_stays_within() {
        let retrier = Retrier {
            interval_seconds: 1,
            max_attempts: 10,
            backoff_rate: 10.0,
            max_delay_seconds: Some(5),
            jitter: Jitter::Full,
            ..Retrier::default()
        };
        for draw in [0u64, 1, 4999, 5000, u64::MAX] {
            let delay = retrier.delay_ms(4, draw).expect("attempts left");
            assert!(delay <= 5000, "{delay}");
        }
        let zero = Retrier {
            max_attempts: 0,
            ..Retrier::default()
        };
        assert_eq!(zero.delay_ms(0, 0), None);
    }
}
