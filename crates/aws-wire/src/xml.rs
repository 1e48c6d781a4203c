//! XML writing for Query-protocol replies.
//!
//! The only module that names `quick-xml`: that crate changes its API between minor releases, so
//! it is pinned in the workspace and wrapped here in the few calls replies need (start, end, a
//! text element). Replies are small, fixed shapes; there is no reading here.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// Writes one XML document into memory.
pub struct XmlWriter {
    writer: Writer<Vec<u8>>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    /// A document that opens with `<?xml version="1.0"?>`, as AWS replies do.
    pub fn new() -> Self {
        let mut xml = Self {
            writer: Writer::new(Vec::with_capacity(512)),
        };
        xml.emit(Event::Decl(BytesDecl::new("1.0", None, None)));
        xml
    }

    /// `<name xmlns="namespace">`.
    pub fn start_with_namespace(&mut self, name: &str, namespace: &str) {
        let mut start = BytesStart::new(name);
        start.push_attribute(("xmlns", namespace));
        self.emit(Event::Start(start));
    }

    /// `<name>`.
    pub fn start(&mut self, name: &str) {
        self.emit(Event::Start(BytesStart::new(name)));
    }

    /// `</name>`.
    pub fn end(&mut self, name: &str) {
        self.emit(Event::End(BytesEnd::new(name)));
    }

    /// `<name>` … `</name>` around whatever `children` writes.
    pub fn element(&mut self, name: &str, children: impl FnOnce(&mut Self)) {
        self.start(name);
        children(self);
        self.end(name);
    }

    /// `<name>text</name>`, with `text` escaped.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.start(name);
        self.emit(Event::Text(BytesText::from_escaped(escape(text))));
        self.end(name);
    }

    /// A text element when there is a value; nothing otherwise (absent members are omitted).
    pub fn optional_element(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text_element(name, text);
        }
    }

    /// `<name/>`.
    pub fn empty_element(&mut self, name: &str) {
        self.emit(Event::Empty(BytesStart::new(name)));
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner()
    }

    fn emit(&mut self, event: Event<'_>) {
        // The sink is a Vec, whose writes cannot fail; an error here would be a bug in quick-xml.
        self.writer
            .write_event(event)
            .expect("writing XML into a Vec cannot fail");
    }
}

/// Escapes text content. Besides the markup characters, a carriage return is written as `&#xD;`:
/// XML parsers turn a literal `\r` (and `\r\n`) into `\n`, which would change a message body and
/// break the client's MD5 check. AWS escapes it the same way.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '\r']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\r' => escaped.push_str("&#xD;"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(write: impl FnOnce(&mut XmlWriter)) -> String {
        let mut xml = XmlWriter::new();
        write(&mut xml);
        String::from_utf8(xml.into_bytes()).unwrap()
    }

    #[test]
    fn writes_declaration_namespace_and_nesting() {
        let text = document(|xml| {
            xml.start_with_namespace("R", "urn:x");
            xml.element("A", |xml| xml.text_element("B", "b"));
            xml.optional_element("C", None);
            xml.optional_element("D", Some("d"));
            xml.empty_element("E");
            xml.end("R");
        });
        assert_eq!(
            text,
            r#"<?xml version="1.0"?><R xmlns="urn:x"><A><B>b</B></A><D>d</D><E/></R>"#
        );
    }

    #[test]
    fn escapes_markup_and_carriage_returns() {
        assert_eq!(escape("plain \"text\" 'ok'\n\t"), "plain \"text\" 'ok'\n\t");
        assert_eq!(escape("a&b<c>d\r\ne"), "a&amp;b&lt;c&gt;d&#xD;\ne");
        let text = document(|xml| xml.text_element("Body", "1 < 2 & \r"));
        assert!(
            text.ends_with("<Body>1 &lt; 2 &amp; &#xD;</Body>"),
            "{text}"
        );
    }

    #[test]
    fn namespace_is_escaped_as_an_attribute() {
        let text = document(|xml| {
            xml.start_with_namespace("R", "urn:a\"b");
            xml.end("R");
        });
        assert!(text.contains(r#"xmlns="urn:a&quot;b""#), "{text}");
    }
}
