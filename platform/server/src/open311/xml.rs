//! A small XML writer for Open311 replies: the UTF-8 declaration, escaped
//! text, and elements without namespaces or attributes.

/// Builds an XML document into a string.
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// Starts a document with the `<?xml version="1.0" encoding="UTF-8"?>` declaration.
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        }
    }

    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>` with the text escaped.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter::new()
    }
}

/// Appends `text` with the five markup characters escaped. Characters that
/// XML 1.0 forbids (control characters other than tab, line feed and
/// carriage return) become U+FFFD, so stored text can never break a reply.
fn escape_into(out: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(character),
            control
                if (control as u32) < 0x20 || control == '\u{FFFE}' || control == '\u{FFFF}' =>
            {
                out.push('\u{FFFD}')
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_escapes_markup_and_control_characters() {
        let mut writer = XmlWriter::new();
        writer.open("request");
        writer.text_element("description", "Pothole <big> & \"deep\"\u{1}");
        writer.close("request");

        assert_eq!(
            writer.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<request><description>Pothole &lt;big&gt; &amp; \
             &quot;deep&quot;\u{FFFD}</description></request>"
        );
    }

    #[test]
    fn writer_keeps_line_breaks_and_non_ascii_text() {
        let mut writer = XmlWriter::new();
        writer.text_element("service_name", "Bache\nen la calle");

        assert!(
            writer
                .finish()
                .ends_with("<service_name>Bache\nen la calle</service_name>")
        );
    }
}
