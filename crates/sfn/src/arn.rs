//! Step Functions ARNs and resource names.
//!
//! `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`, `…:activity:NAME`,
//! `…:execution:MACHINE:NAME`, and for EXPRESS machines `…:express:MACHINE:NAME:ID`.

use crate::errors::{SfnError, SfnErrorCode};

/// AWS caps state machine, execution and activity names at 80 characters.
pub const NAME_CHARACTERS_MAX: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    StateMachine,
    Activity,
    Execution,
    ExpressExecution,
}

/// A parsed Step Functions ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfnArn<'a> {
    pub region: &'a str,
    pub account_id: &'a str,
    pub kind: ArnKind,
    /// The state machine an execution belongs to; for machines and activities their own name.
    pub machine: &'a str,
    pub name: &'a str,
}

impl<'a> SfnArn<'a> {
    pub fn parse(text: &'a str) -> Option<SfnArn<'a>> {
        let parts: Vec<&str> = text.split(':').collect();
        let [
            arn,
            partition,
            "states",
            region,
            account_id,
            kind,
            rest @ ..,
        ] = parts.as_slice()
        else {
            return None;
        };
        if *arn != "arn" || partition.is_empty() || region.is_empty() || account_id.is_empty() {
            return None;
        }
        let (kind, machine, name) = match (*kind, rest) {
            ("stateMachine", [name]) => (ArnKind::StateMachine, *name, *name),
            ("activity", [name]) => (ArnKind::Activity, *name, *name),
            ("execution", [machine, name]) => (ArnKind::Execution, *machine, *name),
            ("express", [machine, name, _id]) => (ArnKind::ExpressExecution, *machine, *name),
            _ => return None,
        };
        if name.is_empty() || machine.is_empty() {
            return None;
        }
        Some(SfnArn {
            region,
            account_id,
            kind,
            machine,
            name,
        })
    }
}

pub fn state_machine(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account_id}:stateMachine:{name}")
}

pub fn activity(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account_id}:activity:{name}")
}

/// The ARN of execution `name` of a machine, from the machine's ARN.
pub fn execution_of(machine: &SfnArn<'_>, name: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:execution:{}:{name}",
        machine.region, machine.account_id, machine.name
    )
}

pub fn express_execution_of(machine: &SfnArn<'_>, name: &str, id: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:express:{}:{name}:{id}",
        machine.region, machine.account_id, machine.name
    )
}

/// Parses an ARN that must be of `kind`, with AWS's `InvalidArn` otherwise.
pub fn expect(text: &str, kind: ArnKind) -> Result<SfnArn<'_>, SfnError> {
    match SfnArn::parse(text) {
        Some(arn) if arn.kind == kind => Ok(arn),
        Some(arn) if kind == ArnKind::Execution && arn.kind == ArnKind::ExpressExecution => Ok(arn),
        Some(_) => Err(SfnError::new(
            SfnErrorCode::InvalidArn,
            format!(
                "Invalid Arn: 'Resource type not valid in this context: {}'",
                kind_name(kind)
            ),
        )),
        None => Err(SfnError::invalid_arn(text)),
    }
}

fn kind_name(kind: ArnKind) -> &'static str {
    match kind {
        ArnKind::StateMachine => "stateMachine",
        ArnKind::Activity => "activity",
        ArnKind::Execution | ArnKind::ExpressExecution => "execution",
    }
}

/// AWS's naming rule for machines, executions and activities: 1 to 80 characters, none of
/// whitespace, brackets, wildcards, the listed punctuation or control characters.
pub fn validate_name(name: &str) -> Result<(), SfnError> {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let length = name.chars().count();
    let bad_character = name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c));
    if length == 0 || length > NAME_CHARACTERS_MAX || bad_character {
        return Err(SfnError::new(
            SfnErrorCode::InvalidName,
            format!("Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let machine =
            SfnArn::parse("arn:aws:states:us-east-1:000000000000:stateMachine:M").unwrap();
        assert_eq!((machine.kind, machine.name), (ArnKind::StateMachine, "M"));
        let execution =
            SfnArn::parse("arn:aws:states:eu-west-1:000000000000:execution:M:run").unwrap();
        assert_eq!(
            (
                execution.kind,
                execution.machine,
                execution.name,
                execution.region
            ),
            (ArnKind::Execution, "M", "run", "eu-west-1")
        );
        assert_eq!(
            execution_of(&machine, "x"),
            "arn:aws:states:us-east-1:000000000000:execution:M:x"
        );
        let express = SfnArn::parse("arn:aws:states:us-east-1:1:express:M:n:id").unwrap();
        assert_eq!(express.kind, ArnKind::ExpressExecution);
        assert!(SfnArn::parse("arn:aws:sqs:us-east-1:1:q").is_none());
        assert!(SfnArn::parse("arn:aws:states:us-east-1:1:stateMachine:").is_none());
        assert!(SfnArn::parse("not an arn").is_none());
    }

    #[test]
    fn wrong_kind_is_invalid_arn() {
        let error = expect(
            "arn:aws:states:us-east-1:1:activity:A",
            ArnKind::StateMachine,
        )
        .unwrap_err();
        assert_eq!(error.code, SfnErrorCode::InvalidArn);
        assert!(error.message.contains("stateMachine"), "{}", error.message);
    }

    #[test]
    fn names_follow_the_aws_rule() {
        assert!(validate_name("loan-broker_1.v2").is_ok());
        for bad in ["", "a b", "a:b", "a*", "a\u{1}", &"x".repeat(81)] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                SfnErrorCode::InvalidName,
                "{bad:?}"
            );
        }
    }
}
