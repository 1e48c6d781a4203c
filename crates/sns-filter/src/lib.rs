//! Tern's SNS subscription filter policy engine: a pure library that parses a `FilterPolicy`
//! with AWS's validation rules and error messages, and decides whether a message matches it.
//!
//! A tour:
//! - [`policy`]: [`FilterPolicy::parse`] turns the JSON text into a validated tree, enforcing
//!   the structure (`$or`, nesting only for `FilterPolicyScope=MessageBody`) and the complexity
//!   limits: at most 5 keys, at most 150 combinations, 256 KB.
//! - [`pattern`]: the match values of one key — exact strings, numbers, booleans and `null`,
//!   `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (values, `prefix`, `suffix`,
//!   `equals-ignore-case`), `exists`, and how each matches one message value.
//! - [`numeric`]: `numeric` comparisons and ranges at five decimal digits of accuracy.
//! - [`cidr`]: IPv4 and IPv6 `cidr` blocks.
//! - [`eval`]: matching a policy against `MessageAttributes` (String, Number, String.Array;
//!   Binary is ignored) or a JSON body (nested keys, arrays match if any element does).
//! - [`error`]: [`PolicyError`], each variant worded as SNS words it, and the full
//!   `InvalidParameter` message for Subscribe or SetSubscriptionAttributes.
//! - [`limits`]: every limit as a named constant.
//!
//! **Invariants:** no I/O, no async, no clock; nothing here panics on any input, policy or
//! message (a random-input test holds us to it). The `wildcard` operator is not part of the
//! language: AWS documents it for EventBridge, not for SNS filter policies, so it is rejected as
//! an unrecognized match type.
//!
//! This crate must not depend on the broker, the store or any wire format: topics and
//! subscriptions call it with a policy text, a scope and a message.

pub mod cidr;
pub mod error;
pub mod eval;
pub mod limits;
pub mod numeric;
pub mod pattern;
pub mod policy;

pub use error::{ERROR_CODE, PolicyCall, PolicyError};
pub use eval::{MessageAttribute, MessageAttributes};
pub use policy::{FilterPolicy, Scope};
