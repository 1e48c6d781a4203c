//! Queue names: 1 to 80 characters of ASCII letters, digits, `-` and `_`; FIFO queues end in
//! `.fifo`, which counts toward the 80.

use crate::error::{ErrorCode, SqsError};
use crate::limits::QUEUE_NAME_LENGTH_MAX;

pub const FIFO_SUFFIX: &str = ".fifo";

pub fn is_fifo_name(name: &str) -> bool {
    name.ends_with(FIFO_SUFFIX)
}

pub fn validate_queue_name(name: &str) -> Result<(), SqsError> {
    let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(name);
    let length_ok = !stem.is_empty() && name.len() <= QUEUE_NAME_LENGTH_MAX;
    let characters_ok = stem
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if length_ok && characters_ok {
        Ok(())
    } else {
        Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet_up_to_eighty_characters() {
        for name in ["a", "orders-2026_v1", &"x".repeat(80), "jobs.fifo"] {
            assert!(validate_queue_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        let too_long = "x".repeat(81);
        let fifo_too_long = format!("{}.fifo", "x".repeat(76));
        for name in [
            "",
            ".fifo",
            "a b",
            "a.b",
            "ünï",
            "a/b",
            &too_long,
            &fifo_too_long,
        ] {
            let error = validate_queue_name(name).expect_err(name);
            assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        }
    }
}
