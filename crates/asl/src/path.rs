//! JSONPath as Step Functions uses it: parsing, reading and `ResultPath` writing.
//!
//! Two kinds of path appear in ASL. A *reference path* (`$.a.b[0]`, `$['x y']`) names exactly one
//! node and is the only kind allowed where a value is written (`ResultPath`) or where one value
//! is required (`Variable`, `SecondsPath`). A general path may also use wildcards, slices, unions,
//! recursive descent and filters (`$.items[?(@.price < 10)]`); like Jayway JSONPath, which Step
//! Functions follows, such an *indefinite* path always yields an array of its matches, while a
//! definite path yields the node itself or fails when it is absent.
//!
//! A path that starts with `$$` reads the context object instead of the state's input.
//!
//! We write our own evaluator rather than wrapping an RFC 9535 library because the RFC's
//! "always a node list" model disagrees with Step Functions on exactly these definite/indefinite
//! results, and the subset ASL needs is small.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

/// Longest path text accepted; ASL fields are far shorter, this only bounds parsing work.
pub const PATH_LENGTH_MAX: usize = 4096;
/// Deepest nesting of filter expressions; stops a hostile definition from exhausting the stack.
const FILTER_DEPTH_MAX: usize = 16;

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct PathSyntaxError {
    pub path: String,
    pub reason: String,
}

/// Why a path could not be applied to a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A definite path named a node that is not there.
    #[error("No results for path: {0}")]
    NotFound(String),
    /// `ResultPath` walked into a value that is neither an object nor a matching array.
    #[error("Unable to apply ResultPath {path} to input {input}")]
    CannotWrite { path: String, input: String },
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    context: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Selector>),
    Descendant(Option<String>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare(Operand, CompareOp, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `@…` relative to the current item, or `$…` from the root.
    Path {
        relative: bool,
        segments: Vec<Segment>,
    },
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses a path that starts with `$` (input) or `$$` (context object).
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let fail = |reason: &str| PathSyntaxError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        if text.len() > PATH_LENGTH_MAX {
            return Err(fail("path is too long"));
        }
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(fail("a path must start with '$'"));
        };
        let mut parser = Parser {
            chars: rest.chars().collect(),
            pos: 0,
            depth: 0,
        };
        let segments = parser.segments(false).map_err(|reason| fail(&reason))?;
        if parser.pos != parser.chars.len() {
            return Err(fail("unexpected character"));
        }
        Ok(Path {
            text: text.to_string(),
            context,
            segments,
        })
    }

    /// The path as written in the definition.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for `$$…` paths, which read the context object.
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// True when the path names at most one node (only names and indexes).
    pub fn is_reference(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
    }

    /// Reads the path from `input` (or `context` for `$$` paths). A definite path returns the
    /// node or [`PathError::NotFound`]; an indefinite one returns the array of its matches.
    pub fn read(&self, input: &Value, context: &Value) -> Result<Value, PathError> {
        let root = if self.context { context } else { input };
        if self.is_reference() {
            return self
                .read_reference(root)
                .cloned()
                .ok_or_else(|| PathError::NotFound(self.normalised()));
        }
        let matches = select(&self.segments, root, root);
        Ok(Value::Array(matches.into_iter().cloned().collect()))
    }

    /// True when a definite path finds a node (used by `IsPresent`). Indefinite paths are
    /// "present" when they match anything.
    pub fn exists(&self, input: &Value, context: &Value) -> bool {
        let root = if self.context { context } else { input };
        if self.is_reference() {
            self.read_reference(root).is_some()
        } else {
            !select(&self.segments, root, root).is_empty()
        }
    }

    fn read_reference<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut node = root;
        for segment in &self.segments {
            node = match segment {
                Segment::Child(name) => node.as_object()?.get(name)?,
                Segment::Index(index) => {
                    let array = node.as_array()?;
                    array.get(resolve_index(*index, array.len())?)?
                }
                _ => return None,
            };
        }
        Some(node)
    }

    /// Writes `value` at this reference path inside `target`, creating intermediate objects,
    /// as `ResultPath` does. `$` replaces the whole document.
    pub fn write(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let cannot = |target: &Value| PathError::CannotWrite {
            path: self.text.clone(),
            input: target.to_string(),
        };
        if self.context || !self.is_reference() {
            return Err(cannot(target));
        }
        let snapshot = target.clone();
        let mut node = target;
        let count = self.segments.len();
        for (position, segment) in self.segments.iter().enumerate() {
            let last = position + 1 == count;
            node = match segment {
                Segment::Child(name) => {
                    if node.is_null() && position > 0 {
                        *node = Value::Object(Map::new());
                    }
                    let Some(object) = node.as_object_mut() else {
                        return Err(cannot(&snapshot));
                    };
                    if last {
                        object.insert(name.clone(), value);
                        return Ok(());
                    }
                    object
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()))
                }
                Segment::Index(index) => {
                    let Some(array) = node.as_array_mut() else {
                        return Err(cannot(&snapshot));
                    };
                    let Some(slot) = resolve_index(*index, array.len()) else {
                        return Err(cannot(&snapshot));
                    };
                    if last {
                        array[slot] = value;
                        return Ok(());
                    }
                    &mut array[slot]
                }
                _ => return Err(cannot(&snapshot)),
            };
        }
        *node = value;
        Ok(())
    }

    /// The path in the bracketed form AWS quotes in its error causes (`$['a']['b'][0]`).
    fn normalised(&self) -> String {
        let mut out = String::from(if self.context { "$$" } else { "$" });
        for segment in &self.segments {
            match segment {
                Segment::Child(name) => out.push_str(&format!("['{name}']")),
                Segment::Index(index) => out.push_str(&format!("[{index}]")),
                _ => {}
            }
        }
        out
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len_i + index } else { index };
    if (0..len_i).contains(&resolved) {
        usize::try_from(resolved).ok()
    } else {
        None
    }
}

fn select<'a>(segments: &[Segment], node: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![node];
    for segment in segments {
        let mut next = Vec::new();
        for node in current {
            apply(segment, node, root, &mut next);
        }
        current = next;
    }
    current
}

fn apply<'a>(segment: &Segment, node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    match segment {
        Segment::Child(name) => out.extend(node.as_object().and_then(|o| o.get(name))),
        Segment::Index(index) => {
            if let Some(array) = node.as_array() {
                out.extend(resolve_index(*index, array.len()).and_then(|i| array.get(i)));
            }
        }
        Segment::Wildcard => children(node, out),
        Segment::Slice(start, end, step) => {
            if let Some(array) = node.as_array() {
                slice(array, *start, *end, *step, out);
            }
        }
        Segment::Union(selectors) => {
            for selector in selectors {
                let segment = match selector {
                    Selector::Name(name) => Segment::Child(name.clone()),
                    Selector::Index(index) => Segment::Index(*index),
                };
                apply(&segment, node, root, out);
            }
        }
        Segment::Descendant(name) => descend(node, name.as_deref(), out),
        Segment::Filter(filter) => {
            let mut items = Vec::new();
            children(node, &mut items);
            out.extend(
                items
                    .into_iter()
                    .filter(|item| filter_matches(filter, item, root)),
            );
        }
    }
}

fn children<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    match node {
        Value::Array(items) => out.extend(items.iter()),
        Value::Object(map) => out.extend(map.values()),
        _ => {}
    }
}

fn descend<'a>(node: &'a Value, name: Option<&str>, out: &mut Vec<&'a Value>) {
    match name {
        Some(name) => out.extend(node.as_object().and_then(|o| o.get(name))),
        None => children(node, out),
    }
    let mut kids = Vec::new();
    children(node, &mut kids);
    for kid in kids {
        descend(kid, name, out);
    }
}

fn slice<'a>(
    array: &'a [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    out: &mut Vec<&'a Value>,
) {
    let len = i64::try_from(array.len()).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    if step <= 0 {
        // Negative steps are legal in RFC 9535 but not in Jayway; Step Functions matches nothing.
        return;
    }
    let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
    let (mut i, end) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
    while i < end {
        if let Some(item) = usize::try_from(i).ok().and_then(|i| array.get(i)) {
            out.push(item);
        }
        i = i.saturating_add(step);
    }
}

fn filter_matches(filter: &Filter, item: &Value, root: &Value) -> bool {
    match filter {
        Filter::Or(a, b) => filter_matches(a, item, root) || filter_matches(b, item, root),
        Filter::And(a, b) => filter_matches(a, item, root) && filter_matches(b, item, root),
        Filter::Not(inner) => !filter_matches(inner, item, root),
        Filter::Exists(operand) => operand_value(operand, item, root).is_some(),
        Filter::Compare(left, op, right) => {
            let (Some(left), Some(right)) = (
                operand_value(left, item, root),
                operand_value(right, item, root),
            ) else {
                return false;
            };
            compare(&left, *op, &right)
        }
    }
}

fn operand_value(operand: &Operand, item: &Value, root: &Value) -> Option<Value> {
    match operand {
        Operand::Literal(value) => Some(value.clone()),
        Operand::Path { relative, segments } => {
            let start = if *relative { item } else { root };
            let found = select(segments, start, root);
            let definite = segments
                .iter()
                .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)));
            if definite {
                found.first().map(|v| (*v).clone())
            } else {
                Some(Value::Array(found.into_iter().cloned().collect()))
            }
        }
    }
}

fn compare(left: &Value, op: CompareOp, right: &Value) -> bool {
    let ordering = match (left, right) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => {
            return match op {
                CompareOp::Eq => left == right,
                CompareOp::Ne => left != right,
                _ => false,
            };
        }
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Segments up to the end, or (inside a filter) up to the first character that cannot
    /// continue a path.
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, String> {
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some('.') => {
                    self.pos += 1;
                    if self.eat('.') {
                        if self.eat('*') {
                            segments.push(Segment::Descendant(None));
                        } else if self.peek() == Some('[') {
                            // `..['name']` is the bracketed form of `..name`.
                            match self.bracket()? {
                                Segment::Child(name) => {
                                    segments.push(Segment::Descendant(Some(name)))
                                }
                                Segment::Wildcard => segments.push(Segment::Descendant(None)),
                                _ => return Err("unsupported recursive descent".into()),
                            }
                        } else {
                            segments.push(Segment::Descendant(Some(self.name()?)));
                        }
                    } else if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else if self.peek() == Some('[') {
                        // Jayway accepts `$.abc.['def ghi']`; the AWS documentation shows it.
                        segments.push(self.bracket()?);
                    } else {
                        segments.push(Segment::Child(self.name()?));
                    }
                }
                Some('[') => segments.push(self.bracket()?),
                Some(_) if in_filter => break,
                Some(_) => return Err("unexpected character".into()),
            }
        }
        Ok(segments)
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                '.' | '[' | ']' | '(' | ')' | '\'' | '"' | ',' | '=' | '<' | '>' | '!' | '&' | '|'
            ) || c.is_whitespace()
            {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err("expected a field name".into());
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.pos += 1; // '['
        self.skip_spaces();
        let segment = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                self.skip_spaces();
                if !self.eat('(') {
                    return Err("expected '(' after '?'".into());
                }
                let filter = self.filter_or()?;
                self.skip_spaces();
                if !self.eat(')') {
                    return Err("expected ')' to close the filter".into());
                }
                Segment::Filter(Box::new(filter))
            }
            Some('\'' | '"') => {
                let mut names = vec![Selector::Name(self.quoted()?)];
                self.skip_spaces();
                while self.eat(',') {
                    self.skip_spaces();
                    names.push(Selector::Name(self.quoted()?));
                    self.skip_spaces();
                }
                if names.len() == 1 {
                    match names.pop() {
                        Some(Selector::Name(name)) => Segment::Child(name),
                        _ => return Err("expected a name".into()),
                    }
                } else {
                    Segment::Union(names)
                }
            }
            _ => self.index_or_slice()?,
        };
        self.skip_spaces();
        if !self.eat(']') {
            return Err("expected ']'".into());
        }
        Ok(segment)
    }

    fn index_or_slice(&mut self) -> Result<Segment, String> {
        let first = self.integer_opt()?;
        self.skip_spaces();
        if self.peek() == Some(':') {
            self.pos += 1;
            self.skip_spaces();
            let end = self.integer_opt()?;
            self.skip_spaces();
            let step = if self.eat(':') {
                self.skip_spaces();
                self.integer_opt()?
            } else {
                None
            };
            return Ok(Segment::Slice(first, end, step));
        }
        let Some(first) = first else {
            return Err("expected an index".into());
        };
        let mut indexes = vec![Selector::Index(first)];
        while self.eat(',') {
            self.skip_spaces();
            let Some(next) = self.integer_opt()? else {
                return Err("expected an index".into());
            };
            indexes.push(Selector::Index(next));
            self.skip_spaces();
        }
        if indexes.len() == 1 {
            Ok(Segment::Index(first))
        } else {
            Ok(Segment::Union(indexes))
        }
    }

    fn integer_opt(&mut self) -> Result<Option<i64>, String> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Ok(None);
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| "invalid index".to_string())
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek() else {
            return Err("expected a quoted name".into());
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted name".into()),
                Some('\\') => {
                    self.pos += 1;
                    let Some(escaped) = self.peek() else {
                        return Err("dangling escape".into());
                    };
                    out.push(escaped);
                    self.pos += 1;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn filter_or(&mut self) -> Result<Filter, String> {
        self.depth += 1;
        if self.depth > FILTER_DEPTH_MAX {
            return Err("filter nests too deeply".into());
        }
        let mut left = self.filter_and()?;
        loop {
            self.skip_spaces();
            if self.peek() == Some('|') && self.peek_at(1) == Some('|') {
                self.pos += 2;
                left = Filter::Or(Box::new(left), Box::new(self.filter_and()?));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    fn filter_and(&mut self) -> Result<Filter, String> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_spaces();
            if self.peek() == Some('&') && self.peek_at(1) == Some('&') {
                self.pos += 2;
                left = Filter::And(Box::new(left), Box::new(self.filter_unary()?));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn filter_unary(&mut self) -> Result<Filter, String> {
        self.skip_spaces();
        if self.peek() == Some('!') && self.peek_at(1) != Some('=') {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat('(') {
            let inner = self.filter_or()?;
            self.skip_spaces();
            if !self.eat(')') {
                return Err("expected ')'".into());
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        self.skip_spaces();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Some((CompareOp::Eq, 2)),
            (Some('!'), Some('=')) => Some((CompareOp::Ne, 2)),
            (Some('<'), Some('=')) => Some((CompareOp::Le, 2)),
            (Some('>'), Some('=')) => Some((CompareOp::Ge, 2)),
            (Some('<'), _) => Some((CompareOp::Lt, 1)),
            (Some('>'), _) => Some((CompareOp::Gt, 1)),
            _ => None,
        };
        let Some((op, width)) = op else {
            return match left {
                Operand::Path { .. } => Ok(Filter::Exists(left)),
                Operand::Literal(_) => Err("a filter needs a comparison".into()),
            };
        };
        self.pos += width;
        self.skip_spaces();
        let right = self.operand()?;
        Ok(Filter::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_spaces();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Path {
                    relative: true,
                    segments: self.segments(true)?,
                })
            }
            Some('$') => {
                self.pos += 1;
                Ok(Operand::Path {
                    relative: false,
                    segments: self.segments(true)?,
                })
            }
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(Value::is_number)
                    .map(Operand::Literal)
                    .ok_or_else(|| "invalid number".to_string())
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let end = self.pos + word.len();
                    if end <= self.chars.len()
                        && self.chars[self.pos..end].iter().copied().eq(word.chars())
                    {
                        self.pos = end;
                        return Ok(Operand::Literal(value));
                    }
                }
                Err("expected a filter operand".into())
            }
        }
    }
}

#[cfg(test)]
mod tests;
