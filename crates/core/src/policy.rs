//! Queue access policies: the `Policy` attribute (an IAM policy document) and the statements
//! AddPermission and RemovePermission write into it. Tern validates and stores policies; it
//! enforces them once requests are authenticated.

use serde_json::{Value, json};

use crate::error::{ErrorCode, SqsError};

pub const LABEL_LENGTH_MAX: usize = 80;
pub const STATEMENTS_MAX: usize = 20;

/// The actions AddPermission may grant; the rest (queue creation, deletion, permission and
/// attribute changes) can only be granted through a full policy.
const GRANTABLE_ACTIONS: &[&str] = &[
    "*",
    "ChangeMessageVisibility",
    "DeleteMessage",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "SendMessage",
];

fn invalid_policy(reason: &str) -> SqsError {
    SqsError::new(
        ErrorCode::InvalidAttributeValue,
        format!("Invalid value for the parameter Policy. Reason: {reason}"),
    )
}

fn statements(document: &Value) -> Result<Vec<Value>, SqsError> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => Ok(statements.clone()),
        Some(statement @ Value::Object(_)) => Ok(vec![statement.clone()]),
        _ => Err(invalid_policy("The policy must contain a Statement list.")),
    }
}

/// Checks that `text` is a policy document SQS would accept: a JSON object with a known
/// `Version` (if any) and statements that each have an `Effect` of Allow or Deny.
pub fn validate_policy(text: &str) -> Result<(), SqsError> {
    let document: Value =
        serde_json::from_str(text).map_err(|_| invalid_policy("The policy is not valid JSON."))?;
    if !document.is_object() {
        return Err(invalid_policy("The policy must be a JSON object."));
    }
    if let Some(version) = document.get("Version")
        && version != "2012-10-17"
        && version != "2008-10-17"
    {
        return Err(invalid_policy("Version must be 2012-10-17 or 2008-10-17."));
    }
    let statements = statements(&document)?;
    if statements.len() > STATEMENTS_MAX {
        return Err(invalid_policy("Too many statements."));
    }
    for statement in &statements {
        let effect = statement.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow" | "Deny")) {
            return Err(invalid_policy(
                "Each statement needs an Effect of Allow or Deny.",
            ));
        }
    }
    Ok(())
}

fn invalid_parameter(parameter: &str, value: &str, reason: &str) -> SqsError {
    SqsError::invalid_parameter(parameter, value, reason)
}

fn document_or_new(existing: Option<&str>, queue_arn: &str) -> Result<Value, SqsError> {
    match existing {
        Some(text) => {
            serde_json::from_str(text).map_err(|_| invalid_policy("The policy is not valid JSON."))
        }
        None => Ok(json!({
            "Version": "2012-10-17",
            "Id": format!("{queue_arn}/SQSDefaultPolicy"),
            "Statement": [],
        })),
    }
}

fn has_label(statements: &[Value], label: &str) -> bool {
    statements
        .iter()
        .any(|statement| statement.get("Sid").and_then(Value::as_str) == Some(label))
}

/// The policy after AddPermission: a new `Allow` statement with `Sid` = `label`.
pub fn add_permission(
    existing: Option<&str>,
    queue_arn: &str,
    label: &str,
    account_ids: &[String],
    actions: &[String],
) -> Result<String, SqsError> {
    let label_ok = !label.is_empty()
        && label.len() <= LABEL_LENGTH_MAX
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !label_ok {
        return Err(invalid_parameter(
            "Label",
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if account_ids.is_empty() {
        return Err(SqsError::missing_parameter("AWSAccountIds"));
    }
    if let Some(bad) = account_ids
        .iter()
        .find(|id| id.len() != 12 || !id.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return Err(invalid_parameter(
            "AWSAccountIds",
            bad,
            "An account id is 12 digits.",
        ));
    }
    if actions.is_empty() {
        return Err(SqsError::missing_parameter("Actions"));
    }
    if let Some(bad) = actions
        .iter()
        .find(|action| !GRANTABLE_ACTIONS.contains(&action.as_str()))
    {
        return Err(invalid_parameter(
            "ActionName.1",
            bad,
            "Only the queue message and attribute-reading actions can be granted with AddPermission.",
        ));
    }
    let mut document = document_or_new(existing, queue_arn)?;
    let mut statements = statements(&document).unwrap_or_default();
    if has_label(&statements, label) {
        return Err(invalid_parameter("Label", label, "Already exists."));
    }
    if statements.len() >= STATEMENTS_MAX {
        return Err(SqsError::new(
            ErrorCode::OverLimit,
            format!("The policy of this queue already has {STATEMENTS_MAX} statements."),
        ));
    }
    let principals: Vec<String> = account_ids
        .iter()
        .map(|id| format!("arn:aws:iam::{id}:root"))
        .collect();
    let granted: Vec<String> = actions
        .iter()
        .map(|action| format!("SQS:{action}"))
        .collect();
    statements.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": { "AWS": principals },
        "Action": granted,
        "Resource": queue_arn,
    }));
    document["Statement"] = Value::Array(statements);
    Ok(document.to_string())
}

/// The policy after RemovePermission; `None` when no statement is left.
pub fn remove_permission(existing: Option<&str>, label: &str) -> Result<Option<String>, SqsError> {
    let not_found = || invalid_parameter("Label", label, "can't find label on existing policy.");
    let Some(text) = existing else {
        return Err(not_found());
    };
    let mut document: Value =
        serde_json::from_str(text).map_err(|_| invalid_policy("The policy is not valid JSON."))?;
    let mut statements = statements(&document)?;
    if !has_label(&statements, label) {
        return Err(not_found());
    }
    statements.retain(|statement| statement.get("Sid").and_then(Value::as_str) != Some(label));
    if statements.is_empty() {
        return Ok(None);
    }
    document["Statement"] = Value::Array(statements);
    Ok(Some(document.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn policies_must_be_documents_with_effects() {
        assert!(
            validate_policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#).is_ok()
        );
        assert!(validate_policy(r#"{"Statement":{"Effect":"Deny"}}"#).is_ok());
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"Statement":[{"Effect":"Maybe"}]}"#,
            r#"{"Version":"1999","Statement":[]}"#,
        ] {
            let error = validate_policy(bad).expect_err(bad);
            assert_eq!(error.code, ErrorCode::InvalidAttributeValue, "{bad}");
        }
    }

    #[test]
    fn add_then_remove_permissions() {
        let added = add_permission(
            None,
            ARN,
            "readers",
            &strings(&["111122223333"]),
            &strings(&["ReceiveMessage"]),
        )
        .unwrap();
        validate_policy(&added).unwrap();
        let document: Value = serde_json::from_str(&added).unwrap();
        assert_eq!(document["Statement"][0]["Sid"], "readers");
        assert_eq!(document["Statement"][0]["Action"][0], "SQS:ReceiveMessage");
        assert_eq!(
            document["Statement"][0]["Principal"]["AWS"][0],
            "arn:aws:iam::111122223333:root"
        );

        let twice = add_permission(
            Some(&added),
            ARN,
            "readers",
            &strings(&["111122223333"]),
            &strings(&["*"]),
        );
        assert_eq!(twice.unwrap_err().code, ErrorCode::InvalidParameterValue);
        let both = add_permission(
            Some(&added),
            ARN,
            "writers",
            &strings(&["111122223333"]),
            &strings(&["SendMessage"]),
        )
        .unwrap();
        let one_left = remove_permission(Some(&both), "readers").unwrap().unwrap();
        assert!(!one_left.contains("readers"));
        assert_eq!(remove_permission(Some(&one_left), "writers").unwrap(), None);
        assert!(remove_permission(Some(&one_left), "nobody").is_err());
        assert!(remove_permission(None, "nobody").is_err());
    }

    #[test]
    fn add_permission_input_rules() {
        let accounts = strings(&["111122223333"]);
        let actions = strings(&["SendMessage"]);
        for (label, accounts, actions) in [
            ("bad label", accounts.clone(), actions.clone()),
            ("ok", strings(&["123"]), actions.clone()),
            ("ok", accounts.clone(), strings(&["DeleteQueue"])),
            ("ok", Vec::new(), actions.clone()),
            ("ok", accounts.clone(), Vec::new()),
        ] {
            assert!(
                add_permission(None, ARN, label, &accounts, &actions).is_err(),
                "{label} {accounts:?} {actions:?}"
            );
        }
    }
}
