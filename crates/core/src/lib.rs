//! The rules of Amazon SQS that need no I/O, no runtime and no clock of their own.
//!
//! Every other Tern crate leans on these modules, so they stay pure: time arrives as a value
//! ([`time::Millis`]), nothing here blocks, allocates a thread or reads a file.
//!
//! - [`arn`]: queue ARNs.
//! - [`batch`]: entry-count and entry-id rules shared by the batch actions.
//! - [`error`]: the SQS error catalogue (AWS code, query code, HTTP status) as data.
//! - [`fifo`]: FIFO ids, content-based deduplication, sequence numbers.
//! - [`limits`]: every bound Tern enforces, as named constants with units last.
//! - [`names`]: queue-name validation.
//! - [`policy`]: the `Policy` attribute and AddPermission/RemovePermission statements.
//! - [`queue_attributes`]: the settable queue attributes, their ranges and defaults.
//! - [`message`]: message bodies and message attributes: validation, size and MD5 digests.
//! - [`redrive`]: dead-letter `RedrivePolicy` and `RedriveAllowPolicy`.
//! - [`receipt`]: receipt handles: encoding a (queue, message, receive) triple opaquely.
//! - [`time`]: milliseconds since the epoch and the [`time::Clock`] abstraction.
//!
//! Architecture invariant: this crate knows nothing of HTTP, JSON wire shapes, storage engines or
//! async runtimes. It may be used from any of them.

pub mod arn;
pub mod batch;
pub mod error;
pub mod fifo;
pub mod limits;
pub mod message;
pub mod names;
pub mod policy;
pub mod queue_attributes;
pub mod receipt;
pub mod redrive;
pub mod time;

pub use error::{ErrorCode, SqsError};
