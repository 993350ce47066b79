//! Locales the product speaks to the public, and text given in each of them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language the platform serves to constituents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Es,
}

impl Locale {
    /// Returns the BCP 47 language tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }

    /// Picks the first supported language of an `Accept-Language` header or a
    /// `locale` parameter such as `es-MX,es;q=0.9`, ignoring quality weights.
    pub fn negotiate(header: &str) -> Option<Locale> {
        header
            .split(',')
            .map(|part| part.split(';').next().unwrap_or("").trim())
            .filter_map(|tag| tag.split('-').next())
            .find_map(|language| language.to_ascii_lowercase().parse().ok())
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a locale the platform does not serve.
#[derive(Debug, thiserror::Error)]
#[error("unsupported locale '{0}': expected en or es")]
pub struct UnsupportedLocale(pub String);

impl FromStr for Locale {
    type Err = UnsupportedLocale;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "en" => Ok(Locale::En),
            "es" => Ok(Locale::Es),
            other => Err(UnsupportedLocale(other.to_string())),
        }
    }
}

/// Text given per locale, written in a manifest as `{ en = "...", es = "..." }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(pub BTreeMap<Locale, String>);

impl LocalizedText {
    /// Builds text that exists in English only.
    pub fn english(text: impl Into<String>) -> Self {
        LocalizedText(BTreeMap::from([(Locale::En, text.into())]))
    }

    /// Returns the text in `locale`, falling back to English, then to any locale.
    pub fn get(&self, locale: Locale) -> &str {
        self.0
            .get(&locale)
            .or_else(|| self.0.get(&Locale::En))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|text| text.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_picks_first_supported_language() {
        assert_eq!(Locale::negotiate("es-MX,es;q=0.9,en;q=0.8"), Some(Locale::Es));
        assert_eq!(Locale::negotiate("fr-CA, en-US;q=0.5"), Some(Locale::En));
        assert_eq!(Locale::negotiate("de"), None);
    }

    #[test]
    fn localized_text_falls_back_to_english() {
        let text = LocalizedText::english("Pothole");
        assert_eq!(text.get(Locale::Es), "Pothole");
    }
}
