//! A small TwiML writer: the verbs the IVR uses, with every text and
//! attribute XML-escaped.

use civic311_domain::Locale;

/// A TwiML `<Response>` under construction.
#[derive(Debug, Default)]
pub struct Response {
    body: String,
}

/// Returns the `language` attribute Twilio's `<Say>` takes for `locale`.
pub fn say_language(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "en-US",
        Locale::Es => "es-MX",
    }
}

impl Response {
    pub fn new() -> Response {
        Response::default()
    }

    pub fn say(mut self, locale: Locale, text: &str) -> Response {
        self.body.push_str(&say_element(locale, text));
        self
    }

    /// Adds a `<Gather>` for one DTMF digit posted to `action`, with prompts
    /// spoken while it listens.
    pub fn gather_digit(mut self, action: &str, prompts: &[(Locale, &str)]) -> Response {
        self.body.push_str(&format!(
            r#"<Gather input="dtmf" numDigits="1" timeout="5" action="{}" method="POST">"#,
            escape(action)
        ));
        for (locale, text) in prompts {
            self.body.push_str(&say_element(*locale, text));
        }
        self.body.push_str("</Gather>");
        self
    }

    pub fn redirect(mut self, url: &str) -> Response {
        self.body.push_str(&format!(r#"<Redirect method="POST">{}</Redirect>"#, escape(url)));
        self
    }

    /// Adds an `<Enqueue>` into `queue`; `action` receives `QueueResult` and
    /// `QueueTime` when the caller leaves the queue, `wait_url` plays hold content.
    pub fn enqueue(mut self, queue: &str, action: &str, wait_url: &str) -> Response {
        self.body.push_str(&format!(
            r#"<Enqueue action="{}" method="POST" waitUrl="{}" waitUrlMethod="POST">{}</Enqueue>"#,
            escape(action),
            escape(wait_url),
            escape(queue)
        ));
        self
    }

    /// Adds `<Dial><Queue>` that connects an agent to the oldest caller of
    /// `queue`; `url` is requested on the caller's leg with `DequeingCallSid`.
    pub fn dial_queue(mut self, queue: &str, url: &str) -> Response {
        self.body.push_str(&format!(
            r#"<Dial><Queue url="{}" method="POST">{}</Queue></Dial>"#,
            escape(url),
            escape(queue)
        ));
        self
    }

    /// Adds a `<Record>` for a voicemail of at most `max_seconds`, posted to `action`.
    pub fn record(mut self, action: &str, max_seconds: u32) -> Response {
        self.body.push_str(&format!(
            r#"<Record action="{}" method="POST" maxLength="{max_seconds}" playBeep="true"/>"#,
            escape(action)
        ));
        self
    }

    pub fn pause(mut self, seconds: u32) -> Response {
        self.body.push_str(&format!(r#"<Pause length="{seconds}"/>"#));
        self
    }

    pub fn hangup(mut self) -> Response {
        self.body.push_str("<Hangup/>");
        self
    }

    pub fn render(&self) -> String {
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Response>{}</Response>"#, self.body)
    }
}

fn say_element(locale: Locale, text: &str) -> String {
    format!(r#"<Say language="{}">{}</Say>"#, say_language(locale), escape(text))
}

/// Escapes the five XML special characters, for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_escaped() {
        let xml = Response::new()
            .say(Locale::En, "Parks & <Recreation>")
            .redirect("/next?a=1&b=\"2\"")
            .render();

        assert!(xml.contains(r#"<Say language="en-US">Parks &amp; &lt;Recreation&gt;</Say>"#), "{xml}");
        assert!(xml.contains("/next?a=1&amp;b=&quot;2&quot;"), "{xml}");
    }

    #[test]
    fn gather_wraps_prompts() {
        let xml = Response::new()
            .gather_digit("/lang", &[(Locale::En, "Hello"), (Locale::Es, "Para español, oprima 2")])
            .render();

        assert!(xml.contains(r#"<Gather input="dtmf" numDigits="1" timeout="5" action="/lang" method="POST">"#));
        assert!(xml.contains(r#"<Say language="es-MX">Para español, oprima 2</Say></Gather>"#), "{xml}");
    }
}
