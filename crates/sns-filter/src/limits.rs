//! Every limit the filter policy language enforces, as named constants.
//!
//! The AWS numbers come from the SNS developer guide page "Filter policy constraints".
//! Limits marked *Tern* are our own guards where AWS documents none; they are generous enough
//! that no policy AWS accepts is rejected by them.

/// A filter policy may name at most this many keys. For body policies only the keys whose value
/// is an array of match values count (a key whose value is an object only nests).
pub const POLICY_KEYS_MAX: usize = 5;

/// The product of the number of values of every key (summed over `$or` branches, and for body
/// policies multiplied by each key's nesting depth, as the AWS guide's worked example does).
pub const POLICY_COMBINATIONS_MAX: u64 = 150;

/// The maximum size of a filter policy document: 256 KB.
pub const POLICY_SIZE_BYTES_MAX: usize = 256 * 1024;

/// *Tern*: how deep objects and `$or` may nest. AWS documents no number; this only keeps a
/// hostile policy from recursing without bound.
pub const POLICY_NESTING_DEPTH_MAX: usize = 32;

/// Numeric matching covers -10^9 ..= 10^9 ...
pub const NUMERIC_VALUE_ABS_MAX: f64 = 1_000_000_000.0;

/// ... with five digits of accuracy after the decimal point.
pub const NUMERIC_DECIMAL_DIGITS: i32 = 5;
