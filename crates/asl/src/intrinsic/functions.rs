//! The body of each `States.*` function, given its already evaluated arguments.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{Arg, Call, Function};
use crate::errors::{self, Failure};
use crate::random::{self, Rng};

/// `States.ArrayRange` may build at most this many items (AWS's documented limit).
const ARRAY_RANGE_ITEMS_MAX: i64 = 1000;
/// `States.Base64Encode`, `Base64Decode` and `Hash` accept inputs up to this many characters.
const ENCODE_INPUT_CHARS_MAX: usize = 10_000;
/// `States.JsonMerge` deep mode recursion bound; payloads are limited, this only guards the stack.
const MERGE_DEPTH_MAX: usize = 64;

pub(super) fn run(call: &Call, args: Vec<Value>, rng: &mut Rng) -> Result<Value, Failure> {
    let name = call.function.name();
    let fail = |reason: &str| {
        Failure::new(
            errors::INTRINSIC_FAILURE,
            format!("Invalid arguments in {name}: {reason}"),
        )
    };
    let arity = |expected: std::ops::RangeInclusive<usize>| {
        if expected.contains(&args.len()) {
            Ok(())
        } else {
            Err(fail(&format!(
                "expected {} argument(s), got {}",
                describe(&expected),
                args.len()
            )))
        }
    };
    match call.function {
        Function::Format => {
            arity(1..=usize::MAX)?;
            format(call, &args, &fail)
        }
        Function::StringToJson => {
            arity(1..=1)?;
            let text = args[0]
                .as_str()
                .ok_or_else(|| fail("the argument must be a string"))?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(text).map_err(|_| fail("the argument is not valid JSON"))
        }
        Function::JsonToString => {
            arity(1..=1)?;
            if !matches!(call.args[0], Arg::Path(_)) {
                return Err(fail("the argument must be a path"));
            }
            Ok(Value::String(args[0].to_string()))
        }
        Function::Array => Ok(Value::Array(args)),
        Function::ArrayPartition => {
            arity(2..=2)?;
            let items = array(&args[0], &fail)?;
            let size = integer(&args[1], &fail)?;
            if size <= 0 {
                return Err(fail("the chunk size must be a positive integer"));
            }
            let size = usize::try_from(size).map_err(|_| fail("the chunk size is too large"))?;
            Ok(Value::Array(
                items
                    .chunks(size)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        Function::ArrayContains => {
            arity(2..=2)?;
            Ok(Value::Bool(
                array(&args[0], &fail)?
                    .iter()
                    .any(|item| json_equal(item, &args[1])),
            ))
        }
        Function::ArrayRange => {
            arity(3..=3)?;
            let (start, end, step) = (
                integer(&args[0], &fail)?,
                integer(&args[1], &fail)?,
                integer(&args[2], &fail)?,
            );
            if step == 0 {
                return Err(fail("the step must not be zero"));
            }
            let count = if (step > 0 && end < start) || (step < 0 && end > start) {
                0
            } else {
                (end as i128 - start as i128) / step as i128 + 1
            };
            if count > i128::from(ARRAY_RANGE_ITEMS_MAX) {
                return Err(fail("the range would contain more than 1000 items"));
            }
            let items = (0..count as i64)
                .map(|i| Value::from(start + i * step))
                .collect();
            Ok(Value::Array(items))
        }
        Function::ArrayGetItem => {
            arity(2..=2)?;
            let items = array(&args[0], &fail)?;
            let index = integer(&args[1], &fail)?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| fail("the index is out of bounds"))
        }
        Function::ArrayLength => {
            arity(1..=1)?;
            Ok(Value::from(array(&args[0], &fail)?.len()))
        }
        Function::ArrayUnique => {
            arity(1..=1)?;
            let mut unique: Vec<Value> = Vec::new();
            for item in array(&args[0], &fail)? {
                if !unique.iter().any(|seen| json_equal(seen, item)) {
                    unique.push(item.clone());
                }
            }
            Ok(Value::Array(unique))
        }
        Function::Base64Encode => {
            arity(1..=1)?;
            let text = bounded_string(&args[0], &fail)?;
            Ok(Value::String(BASE64.encode(text.as_bytes())))
        }
        Function::Base64Decode => {
            arity(1..=1)?;
            let text = bounded_string(&args[0], &fail)?;
            let bytes = BASE64
                .decode(text.as_bytes())
                .map_err(|_| fail("the argument is not valid Base64"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail("the decoded data is not UTF-8 text"))
        }
        Function::Hash => {
            arity(2..=2)?;
            let data = match &args[0] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            if data.chars().count() > ENCODE_INPUT_CHARS_MAX {
                return Err(fail("the data is longer than 10000 characters"));
            }
            let algorithm = args[1]
                .as_str()
                .ok_or_else(|| fail("the algorithm must be a string"))?;
            hash(data.as_bytes(), algorithm).map(Value::String).ok_or_else(|| {
                fail(&format!("unsupported algorithm '{algorithm}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"))
            })
        }
        Function::JsonMerge => {
            arity(3..=3)?;
            let (Value::Object(left), Value::Object(right)) = (&args[0], &args[1]) else {
                return Err(fail("the first two arguments must be JSON objects"));
            };
            let deep = args[2]
                .as_bool()
                .ok_or_else(|| fail("the third argument must be a boolean"))?;
            let mut merged = left.clone();
            merge(&mut merged, right, deep, 0);
            Ok(Value::Object(merged))
        }
        Function::MathRandom => {
            arity(2..=3)?;
            let (start, end) = (integer(&args[0], &fail)?, integer(&args[1], &fail)?);
            if end <= start {
                return Err(fail("the end must be greater than the start"));
            }
            // AWS documents the end as exclusive. A seed makes the value repeatable.
            let span = (end as i128 - start as i128) as u64;
            let draw = match args.get(2) {
                Some(seed) => random::mix(integer(seed, &fail)? as u64) % span,
                None => rng.below(span),
            };
            Ok(Value::from(start as i128 as i64 + draw as i64))
        }
        Function::MathAdd => {
            arity(2..=2)?;
            let (a, b) = (integer(&args[0], &fail)?, integer(&args[1], &fail)?);
            let range = i64::from(i32::MIN)..=i64::from(i32::MAX);
            if !range.contains(&a) || !range.contains(&b) {
                return Err(fail(
                    "the arguments must be between -2147483648 and 2147483647",
                ));
            }
            Ok(Value::from(a + b))
        }
        Function::StringSplit => {
            arity(2..=2)?;
            let (Some(text), Some(delimiters)) = (args[0].as_str(), args[1].as_str()) else {
                return Err(fail("both arguments must be strings"));
            };
            // Every character of the second argument is a delimiter, and empty pieces are
            // dropped (the AWS example splits "This.is+a,test=string" on ".+,=").
            let pieces = text
                .split(|c: char| delimiters.contains(c))
                .filter(|piece| !piece.is_empty())
                .map(|piece| Value::String(piece.to_string()));
            Ok(Value::Array(pieces.collect()))
        }
        Function::Uuid => {
            arity(0..=0)?;
            Ok(Value::String(rng.uuid_v4()))
        }
    }
}

fn describe(range: &std::ops::RangeInclusive<usize>) -> String {
    match (*range.start(), *range.end()) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

fn format(call: &Call, args: &[Value], fail: &dyn Fn(&str) -> Failure) -> Result<Value, Failure> {
    let template = match (&call.args[0], &args[0]) {
        (Arg::String(raw), _) => raw.clone(),
        (_, Value::String(text)) => text.clone(),
        _ => return Err(fail("the first argument must be a string")),
    };
    let mut out = String::new();
    let mut values = args[1..].iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let value = values
                    .next()
                    .ok_or_else(|| fail("more placeholders than arguments"))?;
                match value {
                    Value::String(text) => out.push_str(text),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(fail(
                            "a placeholder value must not be an array or an object",
                        ));
                    }
                    other => out.push_str(&other.to_string()),
                }
            }
            other => out.push(other),
        }
    }
    if values.next().is_some() {
        return Err(fail("more arguments than placeholders"));
    }
    Ok(Value::String(out))
}

fn array<'a>(value: &'a Value, fail: &dyn Fn(&str) -> Failure) -> Result<&'a Vec<Value>, Failure> {
    value
        .as_array()
        .ok_or_else(|| fail("the argument must be an array"))
}

/// AWS rounds non-integer numbers "to the nearest integer"; Java's `Math.round` (half up) is
/// the likely implementation, so -1.5 rounds to -1.
fn integer(value: &Value, fail: &dyn Fn(&str) -> Failure) -> Result<i64, Failure> {
    let number = value
        .as_number()
        .ok_or_else(|| fail("the argument must be a number"))?;
    if let Some(i) = number.as_i64() {
        return Ok(i);
    }
    let float = number
        .as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| fail("the argument must be a number"))?;
    let rounded = (float + 0.5).floor();
    if rounded < i64::MIN as f64 || rounded > i64::MAX as f64 {
        return Err(fail("the argument is out of range"));
    }
    Ok(rounded as i64)
}

fn bounded_string<'a>(
    value: &'a Value,
    fail: &dyn Fn(&str) -> Failure,
) -> Result<&'a str, Failure> {
    let text = value
        .as_str()
        .ok_or_else(|| fail("the argument must be a string"))?;
    if text.chars().count() > ENCODE_INPUT_CHARS_MAX {
        return Err(fail("the argument is longer than 10000 characters"));
    }
    Ok(text)
}

/// Numbers compare by value (1 equals 1.0), everything else structurally.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn hash(data: &[u8], algorithm: &str) -> Option<String> {
    Some(match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>, deep: bool, depth: usize) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming))
                if deep && depth < MERGE_DEPTH_MAX =>
            {
                merge(existing, incoming, deep, depth + 1);
            }
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}
