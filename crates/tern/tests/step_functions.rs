//! The process manager end to end through `aws-sdk-sfn` (and `aws-sdk-sqs`/`aws-sdk-sns` for the
//! workers and messages it talks to), against a real `tern` process per test: every action and
//! its errors, the ASL features a Loan Broker needs, every task integration, and executions that
//! survive `kill -9`. The tests live in `sfn/`, one file per area.

mod common;
mod sfn;
