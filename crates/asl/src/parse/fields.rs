//! Typed readers for single fields; each records a diagnostic located at the field.

use serde_json::{Map, Value};

use super::Parser;
use crate::path::Path;
use crate::payload::Template;

impl Parser {
    pub(super) fn string(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<String> {
        match map.get(field)? {
            Value::String(text) => Some(text.clone()),
            _ => {
                self.schema(
                    format!("The value for the field '{field}' must be a STRING"),
                    format!("{location}/{field}"),
                );
                None
            }
        }
    }

    pub(super) fn required_string(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<String> {
        if !map.contains_key(field) {
            self.schema(format!("These fields are required: [{field}]"), location);
            return None;
        }
        self.string(map, field, location)
    }

    pub(super) fn integer(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let value = map.get(field)?;
        match value.as_u64().filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(n),
            None => {
                self.schema(
                    format!("The value for the field '{field}' must be an integer between {min} and {max}"),
                    format!("{location}/{field}"),
                );
                None
            }
        }
    }

    pub(super) fn array<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<&'v Vec<Value>> {
        match map.get(field)? {
            Value::Array(items) => Some(items),
            _ => {
                self.schema(
                    format!("The value for the field '{field}' must be an ARRAY"),
                    format!("{location}/{field}"),
                );
                None
            }
        }
    }

    /// `InputPath`/`OutputPath`/`ResultPath`/`ItemsPath`: absent means `$`, `null` means
    /// `None`. Writers (`reference`) must use reference paths into the input.
    pub(super) fn path_or_null(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
        reference: bool,
    ) -> Option<Path> {
        let root = || Path::parse("$").ok();
        match map.get(field) {
            None => root(),
            Some(Value::Null) => None,
            Some(Value::String(text)) => match Path::parse(text) {
                Ok(path)
                    if reference
                        && field == "ResultPath"
                        && (path.is_context() || !path.is_reference()) =>
                {
                    self.schema(
                        format!("The value for the field '{field}' must be a valid Reference Path"),
                        format!("{location}/{field}"),
                    );
                    root()
                }
                Ok(path) => Some(path),
                Err(_) => {
                    self.schema(
                        format!("The value for the field '{field}' must be a valid JSONPath"),
                        format!("{location}/{field}"),
                    );
                    root()
                }
            },
            Some(_) => {
                self.schema(
                    format!("The value for the field '{field}' must be a STRING"),
                    format!("{location}/{field}"),
                );
                root()
            }
        }
    }

    pub(super) fn reference_path(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<Path> {
        let text = self.string(map, field, location)?;
        match Path::parse(&text) {
            Ok(path) if path.is_reference() => Some(path),
            _ => {
                self.schema(
                    format!("The value for the field '{field}' must be a valid Reference Path"),
                    format!("{location}/{field}"),
                );
                None
            }
        }
    }

    pub(super) fn template(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<Template> {
        let value = map.get(field)?;
        match Template::parse(value) {
            Ok(template) => Some(template),
            Err((suffix, message)) => {
                self.schema(message, format!("{location}/{field}{suffix}"));
                None
            }
        }
    }
}
