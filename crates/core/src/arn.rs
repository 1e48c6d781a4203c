//! SQS queue ARNs: `arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn {
    pub region: String,
    pub account_id: String,
    pub queue_name: String,
}

impl QueueArn {
    /// `None` unless `text` is an SQS ARN with every part present (any AWS partition).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account_id), Some(name)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let well_formed = partition.starts_with("aws")
            && !region.is_empty()
            && account_id.len() == 12
            && account_id.bytes().all(|byte| byte.is_ascii_digit())
            && !name.is_empty()
            && !name.contains(':');
        well_formed.then(|| Self {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            queue_name: name.to_owned(),
        })
    }
}

impl fmt::Display for QueueArn {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "arn:aws:sqs:{}:{}:{}",
            self.region, self.account_id, self.queue_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let arn = QueueArn::parse("arn:aws:sqs:eu-west-1:123456789012:orders.fifo").unwrap();
        assert_eq!(arn.queue_name, "orders.fifo");
        assert_eq!(arn.account_id, "123456789012");
        assert_eq!(
            arn.to_string(),
            "arn:aws:sqs:eu-west-1:123456789012:orders.fifo"
        );
    }

    #[test]
    fn rejects_other_services_and_short_forms() {
        for text in [
            "",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:1234:q",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs::123456789012:q",
            "not-an-arn",
        ] {
            assert_eq!(QueueArn::parse(text), None, "{text}");
        }
    }
}
