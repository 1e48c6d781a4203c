//! Why a filter policy was rejected, with AWS's wording.
//!
//! SNS rejects a bad policy with the error code `InvalidParameter` (HTTP 400). The message text
//! is `Invalid parameter: FilterPolicy: <reason>` from SetSubscriptionAttributes and
//! `Invalid parameter: Attributes Reason: FilterPolicy: <reason>` from Subscribe; each variant's
//! `Display` is the `<reason>` part (wording as AWS answers, learned from public
//! implementations that snapshot real AWS replies).

use thiserror::Error;

/// The AWS error code every rejected filter policy carries.
pub const ERROR_CODE: &str = "InvalidParameter";

/// The API call a policy arrived through; it changes the message prefix AWS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyCall {
    /// `Subscribe` with a `FilterPolicy` attribute.
    Subscribe,
    /// `SetSubscriptionAttributes` with `AttributeName=FilterPolicy`.
    SetSubscriptionAttributes,
}

/// A filter policy that SNS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("failed to parse JSON. {0}")]
    InvalidJson(String),
    #[error("Filter policy must be a JSON object")]
    NotAnObject,
    #[error("Filter policy is too large")]
    TooLarge,
    #[error("Filter policy can not have more than 5 keys")]
    TooManyKeys,
    #[error("Filter policy is too complex")]
    TooComplex,
    #[error("Filter policy is nested too deeply")]
    TooDeep,
    #[error("Empty arrays are not allowed")]
    EmptyArray,
    #[error("\"{0}\" must be an object or an array")]
    NotObjectOrArray(String),
    /// AWS words this one without the `FilterPolicy:` part; see [`PolicyError::aws_message`].
    #[error("Filter policy scope MessageAttributes does not support nested filter policy")]
    NestedAttributePolicy,
    #[error("Match value must be String, number, true, false, or null")]
    BadMatchValue,
    #[error("Only one key allowed in match expression")]
    OneKeyPerMatch,
    #[error("Unrecognized match type {0}")]
    UnrecognizedMatchType(String),
    #[error("{0} match pattern must be a string")]
    PatternMustBeString(String),
    #[error("exists match pattern must be either true or false.")]
    ExistsNotBoolean,
    #[error("Unsupported anything-but pattern: {0}")]
    UnsupportedAnythingBut(String),
    #[error("Invalid member in numeric match: {0}")]
    NumericInvalidMember(String),
    #[error("Unrecognized numeric range operator: {0}")]
    NumericUnrecognizedOperator(String),
    #[error("Value of {0} must be numeric")]
    NumericValueNotNumber(String),
    #[error("Too many elements in numeric expression")]
    NumericTooManyElements,
    #[error("Bad value in numeric range: {0}")]
    NumericBadRangeValue(String),
    #[error("Bad numeric range operator: {0}")]
    NumericBadRangeOperator(String),
    #[error("Bottom must be less than top")]
    NumericBottomNotBelowTop,
    #[error("Too many terms in numeric range expression")]
    NumericTooManyTerms,
    #[error("Malformed CIDR, one '/' required")]
    CidrNoSlash,
    #[error("Malformed CIDR, mask bits must be an integer")]
    CidrMaskNotInteger,
    #[error("Nonstandard IP address: {0}")]
    CidrBadAddress(String),
}

impl PolicyError {
    /// The error code SNS answers with.
    pub fn code(&self) -> &'static str {
        ERROR_CODE
    }

    /// The whole message SNS answers with for a policy given to `call`.
    pub fn aws_message(&self, call: PolicyCall) -> String {
        let prefix = match call {
            PolicyCall::Subscribe => "Invalid parameter: Attributes Reason: ",
            PolicyCall::SetSubscriptionAttributes => "Invalid parameter: ",
        };
        match self {
            Self::NestedAttributePolicy => format!("{prefix}{self}"),
            _ => format!("{prefix}FilterPolicy: {self}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_call_specific_prefix() {
        let error = PolicyError::TooManyKeys;
        assert_eq!(
            error.aws_message(PolicyCall::SetSubscriptionAttributes),
            "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
        );
        assert_eq!(
            error.aws_message(PolicyCall::Subscribe),
            "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy can not have more than 5 keys"
        );
        assert_eq!(
            PolicyError::NestedAttributePolicy.aws_message(PolicyCall::SetSubscriptionAttributes),
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
        );
        assert_eq!(error.code(), "InvalidParameter");
    }
}
