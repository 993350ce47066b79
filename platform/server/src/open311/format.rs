//! Reply formats and the document tree both are written from.
//!
//! The path suffix alone picks the format (`requests.json`, `requests.xml`);
//! the `Accept` header is ignored, as GeoReport v2 specifies. Handlers build one
//! [`Document`], which is written as XML or as JSON. JSON follows the "Spark
//! convention": scalars stay scalars and only repeated elements (a
//! [`Node::List`]) become arrays. A list of one is still an array, and a
//! scalar never is.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::Open311Error;
use super::xml::XmlWriter;

/// The format of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Returns the MIME type listed in discovery.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "text/xml",
        }
    }

    /// Returns the `Content-Type` header value, with the UTF-8 charset.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// Splits a path segment such as `requests.json` or `pothole repair.xml` into
/// the name before the last dot and the format its suffix names. Anything
/// else, including a missing suffix, is a resource that does not exist.
pub fn split_suffix(segment: &str) -> Result<(&str, Format), Open311Error> {
    let not_found = || Open311Error::ResourceNotFound {
        path: segment.to_string(),
    };
    let (name, suffix) = segment.rsplit_once('.').ok_or_else(not_found)?;
    let format = match suffix {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return Err(not_found()),
    };
    Ok((name, format))
}

/// One value of a reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Text(String),
    /// A decimal such as a latitude; JSON writes it as a number.
    Number(f64),
    Integer(i64),
    Bool(bool),
    Record(Record),
    /// A repeated element: XML writes each item as `<item>` inside the
    /// list's element, JSON writes an array (also for zero or one item).
    List {
        item: &'static str,
        items: Vec<Node>,
    },
}

impl Node {
    pub fn list(item: &'static str, items: Vec<Node>) -> Node {
        Node::List { item, items }
    }
}

impl From<String> for Node {
    fn from(text: String) -> Node {
        Node::Text(text)
    }
}

impl From<&str> for Node {
    fn from(text: &str) -> Node {
        Node::Text(text.to_string())
    }
}

impl From<f64> for Node {
    fn from(number: f64) -> Node {
        Node::Number(number)
    }
}

impl From<u64> for Node {
    fn from(number: u64) -> Node {
        Node::Integer(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Node {
    fn from(number: u32) -> Node {
        Node::Integer(i64::from(number))
    }
}

impl From<u16> for Node {
    fn from(number: u16) -> Node {
        Node::Integer(i64::from(number))
    }
}

impl From<bool> for Node {
    fn from(flag: bool) -> Node {
        Node::Bool(flag)
    }
}

impl From<Record> for Node {
    fn from(record: Record) -> Node {
        Node::Record(record)
    }
}

/// Named fields in order: a JSON object, or an XML element with children.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    fields: Vec<(&'static str, Node)>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    pub fn field(mut self, name: &'static str, value: impl Into<Node>) -> Record {
        self.fields.push((name, value.into()));
        self
    }

    /// Adds the field only when `value` is present, so absent values are
    /// left out of both formats instead of written as empty or null.
    pub fn optional<T: Into<Node>>(self, name: &'static str, value: Option<T>) -> Record {
        match value {
            Some(value) => self.field(name, value),
            None => self,
        }
    }
}

/// A whole reply: the root element name and its content.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub root: &'static str,
    pub body: Node,
}

impl Document {
    pub fn new(root: &'static str, body: impl Into<Node>) -> Document {
        Document {
            root,
            body: body.into(),
        }
    }

    /// Writes the document in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let mut out = String::new();
                write_json(&mut out, &self.body);
                out
            }
            Format::Xml => {
                let mut writer = XmlWriter::new();
                write_xml(&mut writer, self.root, &self.body);
                writer.finish()
            }
        }
    }

    /// Builds the HTTP response with the format's `Content-Type`.
    pub fn into_response(self, format: Format, status: StatusCode) -> Response {
        let body = self.render(format);
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        response
    }
}

/// Writes JSON by hand so object fields keep their order (the spec's
/// order), which `serde_json::Map` without `preserve_order` would sort.
fn write_json(out: &mut String, node: &Node) {
    match node {
        Node::Text(text) => out.push_str(&Value::String(text.clone()).to_string()),
        Node::Number(number) => match serde_json::Number::from_f64(*number) {
            Some(number) => out.push_str(&number.to_string()),
            None => out.push_str("null"),
        },
        Node::Integer(number) => out.push_str(&number.to_string()),
        Node::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Node::Record(record) => {
            out.push('{');
            for (position, (name, value)) in record.fields.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*name).to_string()).to_string());
                out.push(':');
                write_json(out, value);
            }
            out.push('}');
        }
        Node::List { items, .. } => {
            out.push('[');
            for (position, value) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json(out, value);
            }
            out.push(']');
        }
    }
}

fn write_xml(writer: &mut XmlWriter, name: &str, node: &Node) {
    match node {
        Node::Text(text) => writer.text_element(name, text),
        Node::Number(number) if number.is_finite() => {
            writer.text_element(name, &number.to_string())
        }
        Node::Number(_) => writer.text_element(name, ""),
        Node::Integer(number) => writer.text_element(name, &number.to_string()),
        Node::Bool(flag) => writer.text_element(name, if *flag { "true" } else { "false" }),
        Node::Record(record) => {
            writer.open(name);
            for (field, value) in &record.fields {
                write_xml(writer, field, value);
            }
            writer.close(name);
        }
        Node::List { item, items } => {
            writer.open(name);
            for value in items {
                write_xml(writer, item, value);
            }
            writer.close(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let service = Record::new()
            .field("service_code", "pothole")
            .field("metadata", true)
            .field("lat", 42.3594)
            .optional::<String>("group", None);
        Document::new("services", Node::list("service", vec![service.into()]))
    }

    #[test]
    fn suffix_picks_format_after_last_dot() {
        assert_eq!(
            split_suffix("requests.json").unwrap(),
            ("requests", Format::Json)
        );
        assert_eq!(
            split_suffix("street light.out.xml").unwrap(),
            ("street light.out", Format::Xml)
        );
        assert!(split_suffix("requests").is_err());
        assert!(split_suffix("requests.csv").is_err());
    }

    #[test]
    fn list_of_one_is_a_json_array_of_objects() {
        assert_eq!(
            sample().render(Format::Json),
            r#"[{"service_code":"pothole","metadata":true,"lat":42.3594}]"#
        );
    }

    #[test]
    fn list_items_repeat_inside_the_root_element() {
        assert_eq!(
            sample().render(Format::Xml),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<services><service><service_code>pothole</service_code>\
             <metadata>true</metadata><lat>42.3594</lat></service></services>"
        );
    }

    #[test]
    fn json_escapes_text_and_keeps_field_order() {
        let record = Record::new()
            .field("z", "say \"hi\"\n")
            .field("a", Node::Number(f64::NAN));

        assert_eq!(
            Document::new("r", record).render(Format::Json),
            r#"{"z":"say \"hi\"\n","a":null}"#
        );
    }

    #[test]
    fn empty_list_is_empty_array_and_empty_element() {
        let document = Document::new("services", Node::list("service", Vec::new()));

        assert_eq!(document.render(Format::Json), "[]");
        assert!(
            document
                .render(Format::Xml)
                .ends_with("<services></services>")
        );
    }
}
