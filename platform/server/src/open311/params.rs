//! Query-string and form parameters with the Open311 reading rules: an
//! empty value is the same as an absent one, values are trimmed at the
//! ends only, and list parameters are comma separated.

/// Decoded `name=value` pairs in the order they arrived.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` string, such as a query
    /// string or a POST body. `+` is a space and `%XX` a UTF-8 byte.
    pub fn parse(encoded: &str) -> Params {
        let pairs = url::form_urlencoded::parse(encoded.as_bytes())
            .into_owned()
            .collect();
        Params { pairs }
    }

    pub fn push(&mut self, name: String, value: String) {
        self.pairs.push((name, value));
    }

    /// Returns the first non-empty value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .find(|value| !value.is_empty())
    }

    /// Splits every value of `name` at commas; blank items are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_value_counts_as_absent() {
        let params = Params::parse("jurisdiction_id=&service_code=&status=open");

        assert_eq!(params.get("jurisdiction_id"), None);
        assert!(params.list("service_code").is_empty());
        assert_eq!(params.get("status"), Some("open"));
    }

    #[test]
    fn lists_split_at_commas_and_keep_inner_spaces() {
        let params = Params::parse("service_code=171,%20street%20light%20,180&service_code=190");

        assert_eq!(
            params.list("service_code"),
            ["171", "street light", "180", "190"]
        );
    }
}
