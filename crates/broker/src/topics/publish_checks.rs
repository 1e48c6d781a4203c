//! The checks Publish and PublishBatch make before anything is stored: message attributes by
//! type, FIFO ids, and the batch rules (size, entry ids).

use std::collections::BTreeMap;

use super::publish::{BATCH_ENTRIES_MAX, MESSAGE_BYTES_MAX, PublishRequest, SnsMessageAttribute};
use super::{SnsError, SnsErrorCode};

const BATCH_ENTRY_ID_CHARACTERS_MAX: usize = 80;
const FIFO_ID_CHARACTERS_MAX: usize = 128;

fn invalid_value(message: String) -> SnsError {
    SnsError::new(SnsErrorCode::InvalidParameterValue, message)
}

pub(super) fn validate_attributes(
    attributes: &BTreeMap<String, SnsMessageAttribute>,
) -> Result<usize, SnsError> {
    let mut bytes = 0;
    for (name, attribute) in attributes {
        let data_type = attribute.data_type.as_str();
        let base = data_type.split('.').next().unwrap_or_default();
        if name.is_empty() || data_type.is_empty() {
            return Err(invalid_value(format!(
                "The message attribute '{name}' must contain a name and a data type."
            )));
        }
        match base {
            "String" | "Number" => {
                let value = attribute.string_value.as_deref().unwrap_or_default();
                if value.is_empty() {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                    )));
                }
                if base == "Number" && tern_sns_filter::numeric::parse_number(value).is_none() {
                    return Err(invalid_value(format!(
                        "An error occurred while processing the message attribute '{name}': Could not cast message attribute '{name}' value to number."
                    )));
                }
                if data_type == "String.Array"
                    && !matches!(serde_json::from_str(value), Ok(serde_json::Value::Array(_)))
                {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a JSON array."
                    )));
                }
                bytes += value.len();
            }
            "Binary" => match &attribute.binary_value {
                Some(value) if !value.is_empty() => bytes += value.len(),
                _ => {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'."
                    )));
                }
            },
            _ => {
                return Err(invalid_value(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
        }
        bytes += name.len() + data_type.len();
    }
    Ok(bytes)
}

pub(super) fn validate_fifo_id(parameter: &str, value: &str) -> Result<(), SnsError> {
    let well_formed = !value.is_empty()
        && value.len() <= FIFO_ID_CHARACTERS_MAX
        && value.bytes().all(|byte| byte.is_ascii_graphic());
    if well_formed {
        Ok(())
    } else {
        Err(SnsError::invalid_parameter(format!(
            "{parameter} Reason: {parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

pub(super) fn validate_batch(entries: &[(String, PublishRequest)]) -> Result<(), SnsError> {
    if entries.is_empty() {
        return Err(SnsError::new(
            SnsErrorCode::EmptyBatchRequest,
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > BATCH_ENTRIES_MAX {
        return Err(SnsError::new(
            SnsErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "The batch request contains more entries than permissible ({BATCH_ENTRIES_MAX})."
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (id, _) in entries {
        let valid = !id.is_empty()
            && id.len() <= BATCH_ENTRY_ID_CHARACTERS_MAX
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid {
            return Err(SnsError::new(
                SnsErrorCode::InvalidBatchEntryId,
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(SnsError::new(
                SnsErrorCode::BatchEntryIdsNotDistinct,
                "Two or more batch entries in the request have the same Id.",
            ));
        }
    }
    let total: usize = entries
        .iter()
        .map(|(_, request)| request.message.len())
        .sum();
    if total > MESSAGE_BYTES_MAX {
        return Err(SnsError::new(
            SnsErrorCode::BatchRequestTooLong,
            "The length of all the messages put together is more than the limit.",
        ));
    }
    Ok(())
}
