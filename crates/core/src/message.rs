//! Message bodies and message attributes: what is allowed, how big a message is, and the MD5
//! digests that SDKs check (`MD5OfMessageBody`, `MD5OfMessageAttributes`).

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, SqsError};
use crate::limits::*;

/// One message attribute. `data_type` is `String`, `Number` or `Binary`, optionally followed by a
/// custom label (`String.json`); exactly one of the values is present, matching the type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Vec<u8>>,
}

/// Sorted by name, which is also the order the MD5 digest needs.
pub type MessageAttributes = BTreeMap<String, MessageAttributeValue>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportType {
    String,
    Number,
    Binary,
}

impl TransportType {
    fn of(data_type: &str) -> Option<Self> {
        let base = data_type
            .split_once('.')
            .map_or(data_type, |(base, _)| base);
        match base {
            "String" => Some(Self::String),
            "Number" => Some(Self::Number),
            "Binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// The byte AWS mixes into `MD5OfMessageAttributes`.
    fn digest_marker(self) -> u8 {
        match self {
            Self::String | Self::Number => 1,
            Self::Binary => 2,
        }
    }
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `MD5OfMessageAttributes`: for each attribute in name order, the length-prefixed name, the
/// length-prefixed data type, a transport byte and the length-prefixed value.
pub fn md5_of_attributes(attributes: &MessageAttributes) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut hasher = Md5::new();
    let update_prefixed = |hasher: &mut Md5, bytes: &[u8]| {
        hasher.update((bytes.len() as u32).to_be_bytes());
        hasher.update(bytes);
    };
    for (name, value) in attributes {
        update_prefixed(&mut hasher, name.as_bytes());
        update_prefixed(&mut hasher, value.data_type.as_bytes());
        let transport = TransportType::of(&value.data_type).unwrap_or(TransportType::String);
        hasher.update([transport.digest_marker()]);
        let payload: &[u8] = match transport {
            TransportType::Binary => value.binary_value.as_deref().unwrap_or_default(),
            TransportType::String | TransportType::Number => {
                value.string_value.as_deref().unwrap_or_default().as_bytes()
            }
        };
        update_prefixed(&mut hasher, payload);
    }
    Some(hex::encode(hasher.finalize()))
}

/// The size SQS counts against `MaximumMessageSize`: body plus every attribute's name, type and
/// value.
pub fn message_size_bytes(body: &str, attributes: &MessageAttributes) -> u64 {
    let attributes_bytes: usize = attributes
        .iter()
        .map(|(name, value)| {
            name.len()
                + value.data_type.len()
                + value.string_value.as_ref().map_or(0, String::len)
                + value.binary_value.as_ref().map_or(0, Vec::len)
        })
        .sum();
    (body.len() + attributes_bytes) as u64
}

/// SQS accepts the XML 1.0 character set: tab, newline, carriage return and everything from
/// U+0020 up, except U+FFFE and U+FFFF (surrogates cannot occur in a Rust `str`).
fn is_allowed_character(character: char) -> bool {
    matches!(character, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn first_disallowed_character(text: &str) -> Option<char> {
    text.chars()
        .find(|character| !is_allowed_character(*character))
}

pub fn validate_body(body: &str) -> Result<(), SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    if let Some(character) = first_disallowed_character(body) {
        return Err(SqsError::new(
            ErrorCode::InvalidMessageContents,
            format!(
                "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
                character as u32
            ),
        ));
    }
    Ok(())
}

/// Checks that a message's body and attributes together fit the queue's `MaximumMessageSize`.
pub fn validate_size(
    body: &str,
    attributes: &MessageAttributes,
    maximum_bytes: u64,
) -> Result<(), SqsError> {
    if message_size_bytes(body, attributes) > maximum_bytes {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {maximum_bytes} bytes."
            ),
        ));
    }
    Ok(())
}

fn invalid_attribute(message: String) -> SqsError {
    SqsError::new(ErrorCode::InvalidParameterValue, message)
}

fn validate_attribute_name(name: &str) -> Result<(), SqsError> {
    let lowercase = name.to_ascii_lowercase();
    let well_formed = !name.is_empty()
        && name.len() <= MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lowercase.starts_with("aws.")
        && !lowercase.starts_with("amazon.");
    if well_formed {
        Ok(())
    } else {
        Err(invalid_attribute(format!(
            "Message (user) attribute name '{name}' is invalid. The attribute name can contain only alphanumeric characters, hyphens (-), underscores (_) and periods (.); it must not start or end with a period, contain consecutive periods, or start with 'AWS.' or 'Amazon.', and it can be up to 256 characters long."
        )))
    }
}

/// SQS numbers: up to 38 significant digits, between -10^128 and 10^126 (AWS's documented bound).
fn is_valid_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = !(integer.is_empty() && fraction.is_empty())
        && digits_only(integer)
        && digits_only(fraction);
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits_only(exponent)
    });
    if !(mantissa_ok && exponent_ok) {
        return false;
    }
    let significant_digits = format!("{integer}{fraction}")
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len();
    let magnitude_ok = text
        .parse::<f64>()
        .is_ok_and(|value| value.is_finite() && value.abs() < 1e126);
    significant_digits <= 38 && magnitude_ok
}

pub fn validate_attributes(attributes: &MessageAttributes) -> Result<(), SqsError> {
    if attributes.len() > MESSAGE_ATTRIBUTES_MAX {
        return Err(invalid_attribute(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MESSAGE_ATTRIBUTES_MAX}].",
            attributes.len()
        )));
    }
    for (name, value) in attributes {
        validate_attribute_name(name)?;
        validate_attribute_value(name, value)?;
    }
    Ok(())
}

fn validate_attribute_value(name: &str, value: &MessageAttributeValue) -> Result<(), SqsError> {
    let data_type = value.data_type.as_str();
    let Some(transport) = TransportType::of(data_type)
        .filter(|_| data_type.len() <= MESSAGE_ATTRIBUTE_TYPE_LENGTH_MAX)
    else {
        return Err(invalid_attribute(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    };
    let type_label = match transport {
        TransportType::Binary => "Binary",
        TransportType::Number => "Number",
        TransportType::String => "String",
    };
    let empty_value = || {
        invalid_attribute(format!(
            "Message (user) attribute '{name}' must contain a non-empty value of type '{type_label}'."
        ))
    };
    match transport {
        TransportType::Binary => {
            if value.binary_value.as_ref().is_none_or(Vec::is_empty) || value.string_value.is_some()
            {
                return Err(empty_value());
            }
        }
        TransportType::String | TransportType::Number => {
            let Some(text) = value
                .string_value
                .as_deref()
                .filter(|text| !text.is_empty())
            else {
                return Err(empty_value());
            };
            if value.binary_value.is_some() {
                return Err(empty_value());
            }
            if first_disallowed_character(text).is_some() {
                return Err(SqsError::new(
                    ErrorCode::InvalidMessageContents,
                    format!(
                        "Message (user) attribute '{name}' contains characters outside the allowed set."
                    ),
                ));
            }
            if transport == TransportType::Number && !is_valid_number(text) {
                return Err(invalid_attribute(format!(
                    "Can't cast the value of message (user) attribute '{name}' to a number."
                )));
            }
        }
    }
    Ok(())
}

/// The one message system attribute a sender may set: an AWS X-Ray trace header.
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// SendMessage's `MessageSystemAttributes`: only `AWSTraceHeader`, a non-empty `String`.
pub fn trace_header_from(
    system_attributes: &MessageAttributes,
) -> Result<Option<String>, SqsError> {
    let mut trace_header = None;
    for (name, value) in system_attributes {
        if name != AWS_TRACE_HEADER {
            return Err(invalid_attribute(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        match (
            &value.data_type[..],
            &value.string_value,
            &value.binary_value,
        ) {
            ("String", Some(text), None) if !text.is_empty() => trace_header = Some(text.clone()),
            _ => {
                return Err(invalid_attribute(format!(
                    "Message system attribute '{name}' must contain a non-empty value of type 'String'."
                )));
            }
        }
    }
    Ok(trace_header)
}

/// The attributes a ReceiveMessage caller asked for: `All` or `.*` for every one, `prefix.*` for
/// a family, otherwise exact names.
pub fn select_attributes(
    attributes: &MessageAttributes,
    requested: &[String],
) -> MessageAttributes {
    let wanted = |name: &str| {
        requested.iter().any(|pattern| match pattern.as_str() {
            "All" | ".*" => true,
            pattern => match pattern.strip_suffix(".*") {
                Some(prefix) => name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.')),
                None => pattern == name,
            },
        })
    };
    attributes
        .iter()
        .filter(|(name, _)| wanted(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(data_type: &str, value: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: data_type.to_owned(),
            string_value: Some(value.to_owned()),
            binary_value: None,
        }
    }

    fn binary(value: &[u8]) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: "Binary".to_owned(),
            string_value: None,
            binary_value: Some(value.to_vec()),
        }
    }

    #[test]
    fn body_digest_is_plain_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_digest_matches_an_independent_encoding() {
        let mut attributes = MessageAttributes::new();
        attributes.insert("b".into(), binary(&[1, 2, 3]));
        attributes.insert("a".into(), string("String", "x"));
        attributes.insert("n".into(), string("Number.int", "42"));

        // Built by hand, in name order, from the documented layout.
        let mut expected = Vec::new();
        for (name, data_type, marker, value) in [
            ("a", "String", 1u8, b"x".as_slice()),
            ("b", "Binary", 2u8, &[1, 2, 3]),
            ("n", "Number.int", 1u8, b"42"),
        ] {
            for part in [name.as_bytes(), data_type.as_bytes()] {
                expected.extend_from_slice(&(part.len() as u32).to_be_bytes());
                expected.extend_from_slice(part);
            }
            expected.push(marker);
            expected.extend_from_slice(&(value.len() as u32).to_be_bytes());
            expected.extend_from_slice(value);
        }
        assert_eq!(md5_of_attributes(&attributes), Some(md5_hex(&expected)));
        assert_eq!(md5_of_attributes(&MessageAttributes::new()), None);
    }

    #[test]
    fn known_aws_attribute_digest() {
        // A single String attribute, as published in SQS client test suites.
        let mut attributes = MessageAttributes::new();
        attributes.insert("a".into(), string("String", "b"));
        let mut encoded = Vec::new();
        encoded.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        encoded.extend_from_slice(b"String");
        encoded.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(md5_of_attributes(&attributes), Some(md5_hex(&encoded)));
    }

    #[test]
    fn body_characters_outside_the_xml_set_are_refused() {
        assert!(validate_body("tab\tnewline\n emoji 🦀").is_ok());
        let error = validate_body("bell\u{7}").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidMessageContents);
        assert!(error.message.contains("#x7"), "{}", error.message);
        assert_eq!(
            validate_body("\u{FFFF}").unwrap_err().code,
            ErrorCode::InvalidMessageContents
        );
        assert_eq!(
            validate_body("").unwrap_err().code,
            ErrorCode::MissingParameter
        );
    }

    #[test]
    fn size_counts_body_and_every_attribute_part() {
        let mut attributes = MessageAttributes::new();
        attributes.insert("ab".into(), string("String", "xyz"));
        assert_eq!(message_size_bytes("1234", &attributes), 4 + 2 + 6 + 3);
        assert!(validate_size("1234", &attributes, 15).is_ok());
        let error = validate_size("1234", &attributes, 14).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn attribute_rules() {
        let check = |name: &str, value: MessageAttributeValue| {
            let mut attributes = MessageAttributes::new();
            attributes.insert(name.to_owned(), value);
            validate_attributes(&attributes)
        };
        assert!(check("trace-id_1.v2", string("String.custom", "x")).is_ok());
        assert!(check("n", string("Number", "-1.5e10")).is_ok());
        assert!(check("b", binary(b"\0")).is_ok());
        for bad_name in [
            "",
            ".a",
            "a.",
            "a..b",
            "AWS.x",
            "amazon.y",
            "sp ace",
            &"n".repeat(257),
        ] {
            assert!(
                check(bad_name, string("String", "x")).is_err(),
                "{bad_name}"
            );
        }
        for (data_type, value) in [
            ("Strin", "x"),
            ("String", ""),
            ("Number", "abc"),
            ("Number", "1e200"),
        ] {
            let error = check("a", string(data_type, value)).unwrap_err();
            assert_eq!(
                error.code,
                ErrorCode::InvalidParameterValue,
                "{data_type} {value}"
            );
        }
        assert!(check("a", binary(b"")).is_err());
        let mut eleven = MessageAttributes::new();
        for index in 0..11 {
            eleven.insert(format!("a{index}"), string("String", "x"));
        }
        assert!(validate_attributes(&eleven).is_err());
    }

    #[test]
    fn numbers_follow_the_documented_precision() {
        for good in ["0", "-7", "3.14", ".5", "5.", "1E+3", &"9".repeat(38)] {
            assert!(is_valid_number(good), "{good}");
        }
        for bad in ["", "-", "1..2", "e5", "1e", "0x10", "NaN", &"9".repeat(39)] {
            assert!(!is_valid_number(bad), "{bad}");
        }
    }

    #[test]
    fn selection_by_all_prefix_and_name() {
        let mut attributes = MessageAttributes::new();
        for name in ["trace.id", "trace.span", "tracer", "user"] {
            attributes.insert(name.to_owned(), string("String", "v"));
        }
        let names = |requested: &[&str]| -> Vec<String> {
            let requested: Vec<String> = requested.iter().map(|name| name.to_string()).collect();
            select_attributes(&attributes, &requested)
                .into_keys()
                .collect()
        };
        assert_eq!(names(&["All"]).len(), 4);
        assert_eq!(names(&[".*"]).len(), 4);
        assert_eq!(names(&["trace.*"]), ["trace.id", "trace.span"]);
        assert_eq!(names(&["user", "missing"]), ["user"]);
        assert!(names(&[]).is_empty());
    }

    #[test]
    fn only_a_string_trace_header_is_a_settable_system_attribute() {
        let mut system = MessageAttributes::new();
        assert_eq!(trace_header_from(&system).unwrap(), None);
        system.insert(AWS_TRACE_HEADER.into(), string("String", "Root=1-abc"));
        assert_eq!(
            trace_header_from(&system).unwrap().as_deref(),
            Some("Root=1-abc")
        );
        system.insert(AWS_TRACE_HEADER.into(), binary(b"x"));
        assert!(trace_header_from(&system).is_err());
        let mut other = MessageAttributes::new();
        other.insert("SenderId".into(), string("String", "me"));
        assert_eq!(
            trace_header_from(&other).unwrap_err().code,
            ErrorCode::InvalidParameterValue
        );
    }
}
