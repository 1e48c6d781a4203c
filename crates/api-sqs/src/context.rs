//! Request context and queue-URL handling.

use tern_core::{ErrorCode, SqsError};

/// What a request carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// `host:port` the client used, so queue URLs point back at the address it can reach.
    pub host: String,
    pub account_id: String,
    /// From the SigV4 credential scope; used in ARNs.
    pub region: String,
    /// The SigV4 access key id, reported as the `SenderId` of sent messages.
    pub access_key_id: Option<String>,
    /// The request path; SQS accepts requests posted to a queue's own URL.
    pub path: String,
}

impl RequestContext {
    pub fn queue_url(&self, name: &str) -> String {
        format!("http://{}/{}/{}", self.host, self.account_id, name)
    }

    pub fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{}:{}", self.region, self.account_id, name)
    }

    pub fn sender_id(&self) -> &str {
        self.access_key_id.as_deref().unwrap_or(&self.account_id)
    }

    /// The queue a request is about: its `QueueUrl` parameter, else the path it was posted to.
    pub fn queue_name(&self, queue_url: Option<&str>) -> Result<String, SqsError> {
        let path = match queue_url {
            Some(url) => path_of(url),
            None if self.path.trim_matches('/').contains('/') => self.path.as_str(),
            None => return Err(SqsError::missing_parameter("QueueUrl")),
        };
        let mut segments = path.trim_matches('/').split('/');
        let (Some(account), Some(name), None) = (segments.next(), segments.next(), segments.next())
        else {
            return Err(SqsError::new(
                ErrorCode::InvalidAddress,
                format!(
                    "The address {} is not valid for this endpoint.",
                    queue_url.unwrap_or(path)
                ),
            ));
        };
        if account != self.account_id || name.is_empty() {
            return Err(SqsError::queue_does_not_exist());
        }
        Ok(name.to_owned())
    }
}

/// The path of a URL given with or without scheme and host.
fn path_of(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    if url.contains("://") {
        without_scheme
            .find('/')
            .map_or("", |slash| &without_scheme[slash..])
    } else {
        without_scheme
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(path: &str) -> RequestContext {
        RequestContext {
            host: "127.0.0.1:9324".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            path: path.into(),
        }
    }

    #[test]
    fn urls_and_arns() {
        let context = context("/");
        assert_eq!(
            context.queue_url("jobs"),
            "http://127.0.0.1:9324/000000000000/jobs"
        );
        assert_eq!(
            context.queue_arn("jobs"),
            "arn:aws:sqs:us-east-1:000000000000:jobs"
        );
        assert_eq!(context.sender_id(), "000000000000");
    }

    #[test]
    fn queue_from_url_or_path() {
        let root = context("/");
        assert_eq!(
            root.queue_name(Some("http://elsewhere:1/000000000000/jobs"))
                .unwrap(),
            "jobs"
        );
        assert_eq!(root.queue_name(Some("/000000000000/jobs")).unwrap(), "jobs");
        assert_eq!(
            context("/000000000000/jobs").queue_name(None).unwrap(),
            "jobs"
        );
        assert_eq!(
            root.queue_name(None).unwrap_err().code,
            ErrorCode::MissingParameter
        );
        assert_eq!(
            root.queue_name(Some("http://h/111111111111/jobs"))
                .unwrap_err()
                .code,
            ErrorCode::QueueDoesNotExist
        );
        assert_eq!(
            root.queue_name(Some("http://h/jobs")).unwrap_err().code,
            ErrorCode::InvalidAddress
        );
        assert_eq!(
            root.queue_name(Some("http://h/a/b/c")).unwrap_err().code,
            ErrorCode::InvalidAddress
        );
    }
}
