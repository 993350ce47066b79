//! Parsing of the shared cost that the cost-share report divides, given in
//! currency units with at most two decimals, such as `1200` or `1200.50`.

/// Error for a cost that is not a non-negative amount with at most two decimals.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid cost '{value}': {problem}; give an amount in currency units with at most two decimals, such as 1200 or 1200.50")]
pub struct InvalidCost {
    pub value: String,
    pub problem: &'static str,
}

/// Converts `text` to whole cents without floating point, so `0.29`
/// becomes exactly 29 cents.
pub fn parse_cost_cents(text: &str) -> Result<i64, InvalidCost> {
    let invalid = |problem| InvalidCost {
        value: text.to_string(),
        problem,
    };

    let trimmed = text.trim();
    let (units, decimals) = match trimmed.split_once('.') {
        Some((units, decimals)) => (units, decimals),
        None => (trimmed, ""),
    };
    if units.is_empty() {
        return Err(invalid("the amount has no digits before the decimal point"));
    }
    if !units.bytes().all(|byte| byte.is_ascii_digit()) || !decimals.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid("only digits and one decimal point are allowed"));
    }
    if decimals.len() > 2 {
        return Err(invalid("the amount has more than two decimals"));
    }

    let whole: i64 = units.parse().map_err(|_| invalid("the amount is too large"))?;
    let fraction: i64 = format!("{decimals:0<2}").parse().map_err(|_| invalid("the decimals are not digits"))?;
    whole
        .checked_mul(100)
        .and_then(|cents| cents.checked_add(fraction))
        .ok_or_else(|| invalid("the amount is too large"))
}

/// Formats cents as currency units with two decimals, such as `1200.50`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_units_become_cents() {
        assert_eq!(parse_cost_cents("1200"), Ok(120_000));
    }

    #[test]
    fn decimals_convert_exactly() {
        assert_eq!(parse_cost_cents("0.29"), Ok(29));
        assert_eq!(parse_cost_cents("1200.5"), Ok(120_050));
        assert_eq!(parse_cost_cents("1200.05"), Ok(120_005));
        assert_eq!(parse_cost_cents(" 7. "), Ok(700));
    }

    #[test]
    fn three_decimals_are_rejected() {
        let error = parse_cost_cents("1.005").unwrap_err();
        assert_eq!(error.problem, "the amount has more than two decimals");
    }

    #[test]
    fn signs_and_letters_are_rejected() {
        assert!(parse_cost_cents("-5").is_err());
        assert!(parse_cost_cents("1e3").is_err());
        assert!(parse_cost_cents("$12").is_err());
        assert!(parse_cost_cents("").is_err());
        assert!(parse_cost_cents(".50").is_err());
    }

    #[test]
    fn overflow_is_rejected() {
        let error = parse_cost_cents("92233720368547758").unwrap_err();
        assert_eq!(error.problem, "the amount is too large");
    }

    #[test]
    fn cents_format_with_two_decimals() {
        assert_eq!(format_cents(120_050), "1200.50");
        assert_eq!(format_cents(7), "0.07");
        assert_eq!(format_cents(-7), "-0.07");
    }
}
