//! `States.*` intrinsic functions: the argument parser here, the functions in `functions.rs`.
//!
//! An invocation such as `States.Format('{} \{x\}', States.ArrayGetItem($.a, 0))` is parsed once,
//! when the definition is validated, into a [`Call`] tree; running it needs only the state input,
//! the context object and the execution's generator.
//!
//! String literals are kept *raw* (escapes unresolved) because `States.Format` must tell an
//! escaped `\{` from a placeholder `{}`; [`unescape`] resolves them for every other use.

mod functions;

use serde_json::Value;

use crate::errors::{self, Failure};
use crate::path::Path;
use crate::random::Rng;

/// AWS allows up to 10 nested intrinsic functions in one field.
pub const NESTING_MAX: usize = 10;
/// Upper bound on arguments to one call; `States.Array` and `States.Format` are variadic.
const ARGUMENTS_MAX: usize = 256;

/// A parsed intrinsic function invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A quoted string, escapes unresolved.
    String(String),
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

macro_rules! functions {
    ($($variant:ident => $name:literal,)*) => {
        /// Every intrinsic function Step Functions offers for JSONPath states.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Function { $($variant,)* }

        impl Function {
            pub fn from_name(name: &str) -> Option<Function> {
                match name { $($name => Some(Function::$variant),)* _ => None }
            }

            pub fn name(self) -> &'static str {
                match self { $(Function::$variant => $name,)* }
            }
        }
    };
}

functions! {
    Format => "States.Format",
    StringToJson => "States.StringToJson",
    JsonToString => "States.JsonToString",
    Array => "States.Array",
    ArrayPartition => "States.ArrayPartition",
    ArrayContains => "States.ArrayContains",
    ArrayRange => "States.ArrayRange",
    ArrayGetItem => "States.ArrayGetItem",
    ArrayLength => "States.ArrayLength",
    ArrayUnique => "States.ArrayUnique",
    Base64Encode => "States.Base64Encode",
    Base64Decode => "States.Base64Decode",
    Hash => "States.Hash",
    JsonMerge => "States.JsonMerge",
    MathRandom => "States.MathRandom",
    MathAdd => "States.MathAdd",
    StringSplit => "States.StringSplit",
    Uuid => "States.UUID",
}

/// Why an invocation does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function call '{text}': {reason}")]
pub struct IntrinsicSyntaxError {
    pub text: String,
    pub reason: String,
}

/// True when a `.$` value is meant as an intrinsic call rather than a path.
pub fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    /// Parses a whole invocation; nothing may follow the closing parenthesis.
    pub fn parse(text: &str) -> Result<Call, IntrinsicSyntaxError> {
        let fail = |reason: String| IntrinsicSyntaxError {
            text: text.to_string(),
            reason,
        };
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        parser.skip_spaces();
        let call = parser.call(1).map_err(fail)?;
        parser.skip_spaces();
        if parser.pos != parser.chars.len() {
            return Err(IntrinsicSyntaxError {
                text: text.to_string(),
                reason: "unexpected text after ')'".into(),
            });
        }
        Ok(call)
    }

    /// Runs the call. Every failure is `States.IntrinsicFailure`.
    pub fn evaluate(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut Rng,
    ) -> Result<Value, Failure> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::String(raw) => Value::String(unescape(raw)),
                Arg::Literal(value) => value.clone(),
                Arg::Path(path) => path.read(input, context).map_err(|error| {
                    Failure::new(
                        errors::INTRINSIC_FAILURE,
                        format!("Invalid path '{path}' in {}: {error}", self.function.name()),
                    )
                })?,
                Arg::Call(call) => call.evaluate(input, context, rng)?,
            });
        }
        functions::run(self, values, rng)
    }
}

/// Resolves `\'`, `\{`, `\}` and `\\` in a raw string literal.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > NESTING_MAX {
            return Err(format!(
                "more than {NESTING_MAX} nested intrinsic functions"
            ));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let function =
            Function::from_name(&name).ok_or_else(|| format!("unknown function '{name}'"))?;
        self.skip_spaces();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Call { function, args });
        }
        loop {
            if args.len() >= ARGUMENTS_MAX {
                return Err("too many arguments".into());
            }
            self.skip_spaces();
            args.push(self.arg(depth)?);
            self.skip_spaces();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Call { function, args });
                }
                _ => return Err("expected ',' or ')'".into()),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('S') => Ok(Arg::Call(Box::new(self.call(depth + 1)?))),
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest_starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                Err("expected a string, number, boolean, null, path or function".into())
            }
        }
    }

    fn rest_starts_with(&self, word: &str) -> bool {
        let end = self.pos + word.chars().count();
        end <= self.chars.len() && self.chars[self.pos..end].iter().copied().eq(word.chars())
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some('\\') => {
                    // Only the four reserved characters may be escaped; an open escape is an
                    // error, as the AWS documentation says.
                    match self.chars.get(self.pos + 1) {
                        Some(&c @ ('\'' | '{' | '}' | '\\')) => {
                            raw.push('\\');
                            raw.push(c);
                            self.pos += 2;
                        }
                        _ => return Err("open escape backslash".into()),
                    }
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Arg::String(raw));
                }
                Some(c) => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A path ends at the first `,` or `)` outside brackets and quotes, so filters such as
    /// `$.a[?(@.b == 'x, y')]` survive intact.
    fn path(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        let (mut depth, mut quote) = (0usize, None::<char>);
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth == 0 => break,
                (None, ')') => depth -= 1,
                (None, ',') if depth == 0 => break,
                (None, c) if c.is_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        Path::parse(&text)
            .map(Arg::Path)
            .map_err(|error| error.reason)
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match serde_json::from_str::<Value>(&text) {
            Ok(value @ Value::Number(_)) => Ok(Arg::Literal(value)),
            _ => Err(format!("invalid number '{text}'")),
        }
    }
}

#[cfg(test)]
mod tests;
