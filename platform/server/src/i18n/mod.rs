//! Public text the server writes itself, in every locale the platform serves.
//!
//! Messages are Fluent files under `platform/server/locales/<locale>/`,
//! compiled into the binary. City-specific text such as service names comes
//! from the tenant manifest instead.

use std::sync::OnceLock;

use civic311_domain::Locale;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

pub use fluent_bundle::FluentValue;

const ENGLISH: &str = include_str!("../../locales/en/main.ftl");
const SPANISH: &str = include_str!("../../locales/es/main.ftl");

/// The compiled Fluent bundles, one per [`Locale`].
pub struct Messages {
    english: FluentBundle<FluentResource>,
    spanish: FluentBundle<FluentResource>,
}

impl Messages {
    /// Returns the process-wide bundles, parsed on first use.
    pub fn global() -> &'static Messages {
        static MESSAGES: OnceLock<Messages> = OnceLock::new();
        MESSAGES.get_or_init(Messages::load)
    }

    /// Parses the bundled Fluent files. A syntax error in them is a build
    /// defect, so it panics; the unit tests parse every file.
    fn load() -> Messages {
        Messages {
            english: bundle(Locale::En, ENGLISH),
            spanish: bundle(Locale::Es, SPANISH),
        }
    }

    /// Formats message `id` in `locale` with named arguments.
    ///
    /// A message missing in `locale` falls back to English; a message missing
    /// everywhere returns `id` itself, so the gap shows in the output instead
    /// of an empty string.
    pub fn text(&self, locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }

        format(self.bundle(locale), id, &fluent_args)
            .or_else(|| format(&self.english, id, &fluent_args))
            .unwrap_or_else(|| {
                tracing::warn!(message.id = id, locale = %locale, "Fluent message not found in any locale");
                id.to_string()
            })
    }

    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        match locale {
            Locale::En => &self.english,
            Locale::Es => &self.spanish,
        }
    }
}

/// Formats message `id` with `args` in the given locale's bundle.
pub fn text(locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    Messages::global().text(locale, id, args)
}

fn bundle(locale: Locale, source: &str) -> FluentBundle<FluentResource> {
    let language: LanguageIdentifier = locale.as_str().parse().expect("en and es are valid language tags");
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("invalid Fluent syntax in locales/{locale}/main.ftl: {errors:?}"));

    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // Unicode isolation marks would end up in plain-text replies, XML and
    // speech prompts, where nothing renders them.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("duplicate Fluent message in locales/{locale}/main.ftl: {errors:?}"));
    bundle
}

fn format(bundle: &FluentBundle<FluentResource>, id: &str, args: &FluentArgs<'_>) -> Option<String> {
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(message.id = id, ?errors, "Fluent message formatted with errors");
    }
    Some(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with(' ') && line.contains(" = "))
            .map(|line| line.split(" = ").next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn every_english_message_exists_in_spanish() {
        let spanish = message_ids(SPANISH);
        for id in message_ids(ENGLISH) {
            assert!(spanish.contains(&id), "message {id} is missing in locales/es/main.ftl");
        }
    }

    #[test]
    fn text_fills_arguments_in_each_locale() {
        let args = [("department", FluentValue::from("DPW Highway"))];
        assert_eq!(text(Locale::En, "history-routed", &args), "Assigned to DPW Highway.");
        assert_eq!(text(Locale::Es, "history-routed", &args), "Asignada a DPW Highway.");
    }

    #[test]
    fn unknown_message_returns_its_id() {
        assert_eq!(text(Locale::Es, "no-such-message", &[]), "no-such-message");
    }
}
