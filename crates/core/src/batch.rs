//! Rules shared by the three batch actions: 1 to 10 entries, ids of up to 80 letters, digits,
//! hyphens and underscores, all distinct.

use std::collections::HashSet;

use crate::error::{ErrorCode, SqsError};
use crate::limits::{BATCH_ENTRIES_MAX, BATCH_ENTRY_ID_LENGTH_MAX};

pub fn validate_entry_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), SqsError> {
    let count = ids.len();
    if count == 0 {
        return Err(SqsError::new(
            ErrorCode::EmptyBatchRequest,
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if count > BATCH_ENTRIES_MAX {
        return Err(SqsError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {BATCH_ENTRIES_MAX}. You have sent {count}."
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(count);
    for id in ids {
        let well_formed = !id.is_empty()
            && id.len() <= BATCH_ENTRY_ID_LENGTH_MAX
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !well_formed {
            return Err(SqsError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[&str]) -> Result<(), SqsError> {
        validate_entry_ids(ids.iter().copied())
    }

    #[test]
    fn accepts_one_to_ten_distinct_well_formed_ids() {
        assert!(check(&["a"]).is_ok());
        assert!(check(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "a-b_C"]).is_ok());
    }

    #[test]
    fn each_violation_has_its_code() {
        assert_eq!(check(&[]).unwrap_err().code, ErrorCode::EmptyBatchRequest);
        let eleven: Vec<String> = (0..11).map(|index| index.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert_eq!(
            check(&eleven).unwrap_err().code,
            ErrorCode::TooManyEntriesInBatchRequest
        );
        assert_eq!(
            check(&["a", "a"]).unwrap_err().code,
            ErrorCode::BatchEntryIdsNotDistinct
        );
        for bad in ["", "a b", "a.b", &"x".repeat(81)] {
            assert_eq!(
                check(&[bad]).unwrap_err().code,
                ErrorCode::InvalidBatchEntryId,
                "{bad}"
            );
        }
    }
}
