//! The credential scope of a SigV4 `Authorization` header:
//! `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=…`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

/// `None` for a missing, non-SigV4 or malformed header; callers fall back to defaults.
pub fn credential_scope(authorization: &str) -> Option<CredentialScope> {
    let parameters = authorization.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let credential = parameters
        .split(',')
        .map(str::trim)
        .find_map(|parameter| parameter.strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let scope = CredentialScope {
        access_key_id: parts.next()?.to_owned(),
        date: parts.next()?.to_owned(),
        region: parts.next()?.to_owned(),
        service: parts.next()?.to_owned(),
    };
    (parts.next() == Some("aws4_request") && parts.next().is_none()).then_some(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            credential_scope(header),
            Some(CredentialScope {
                access_key_id: "AKIDEXAMPLE".into(),
                date: "20260101".into(),
                region: "eu-west-1".into(),
                service: "sqs".into(),
            })
        );
    }

    #[test]
    fn rejects_other_schemes_and_short_scopes() {
        assert_eq!(credential_scope("Basic dXNlcg=="), None);
        assert_eq!(
            credential_scope("AWS4-HMAC-SHA256 Credential=A/2026/us-east-1/sqs"),
            None
        );
        assert_eq!(
            credential_scope("AWS4-HMAC-SHA256 SignedHeaders=host"),
            None
        );
    }
}
