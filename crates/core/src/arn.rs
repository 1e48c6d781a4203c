//! ARNs of single-name resources, `arn:PARTITION:SERVICE:REGION:ACCOUNT_ID:NAME`, and SQS queue
//! ARNs among them (`arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME`).

use std::fmt;

/// The parts of a resource ARN whose resource is one plain name (queues, topics), borrowed from
/// the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
    pub name: &'a str,
}

impl<'a> ResourceArn<'a> {
    /// `None` unless every part is present, the partition is an AWS one and the name holds no
    /// further `:`-separated path.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account_id),
            Some(name),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        let well_formed = partition.starts_with("aws")
            && !service.is_empty()
            && !region.is_empty()
            && !account_id.is_empty()
            && !name.is_empty()
            && !name.contains(':');
        well_formed.then_some(Self {
            service,
            region,
            account_id,
            name,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn {
    pub region: String,
    pub account_id: String,
    pub queue_name: String,
}

impl QueueArn {
    /// `None` unless `text` is an SQS ARN with every part present (any AWS partition).
    pub fn parse(text: &str) -> Option<Self> {
        let arn = ResourceArn::parse(text)?;
        let well_formed = arn.service == "sqs"
            && arn.account_id.len() == 12
            && arn.account_id.bytes().all(|byte| byte.is_ascii_digit());
        well_formed.then(|| Self {
            region: arn.region.to_owned(),
            account_id: arn.account_id.to_owned(),
            queue_name: arn.name.to_owned(),
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

    #[test]
    fn resource_arns_name_their_service() {
        let topic = ResourceArn::parse("arn:aws:sns:us-east-1:000000000000:events").unwrap();
        assert_eq!(
            (topic.service, topic.account_id, topic.name),
            ("sns", "000000000000", "events")
        );
        for text in [
            "arn:aws:sns:us-east-1:000000000000:a:b",
            "arn:aws::us-east-1:000000000000:x",
            "arn:gcp:sns:r:1:x",
        ] {
            assert_eq!(ResourceArn::parse(text), None, "{text}");
        }
    }
}
