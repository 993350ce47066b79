//! Lookups on a [`ServiceRequest`] and parsers for common routing settings.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::{Location, RouteError, ServiceRequest};

/// Returns the value of the routing setting `key`, if the manifest sets it.
pub fn setting<'a>(request: &'a ServiceRequest, key: &str) -> Option<&'a str> {
    request
        .settings
        .iter()
        .find(|setting| setting.key == key)
        .map(|setting| setting.value.as_str())
}

/// Returns the first submitted value of the attribute `code`, if the
/// request has one.
pub fn attribute<'a>(request: &'a ServiceRequest, code: &str) -> Option<&'a str> {
    request
        .attributes
        .iter()
        .find(|answer| answer.code == code)
        .and_then(|answer| answer.values.first())
        .map(String::as_str)
}

/// Parses a comma-separated list of month numbers such as `"11,12,1,2,3"`.
/// Spaces around the numbers are ignored.
pub fn parse_months(text: &str) -> Result<Vec<u8>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.parse::<u8>() {
            Ok(month @ 1..=12) => Ok(month),
            _ => Err(format!("invalid month '{part}': expected a number from 1 to 12")),
        })
        .collect()
}

/// Reads the month list setting `key`, or parses `default` when it is unset.
/// An invalid list becomes [`RouteError::InvalidInput`] naming the setting.
pub fn months_setting(request: &ServiceRequest, key: &str, default: &str) -> Result<Vec<u8>, RouteError> {
    let text = setting(request, key).unwrap_or(default);
    parse_months(text).map_err(|message| RouteError::InvalidInput(format!("setting {key}: {message}")))
}

/// A latitude/longitude box, edges included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub min_long: f64,
    pub max_lat: f64,
    pub max_long: f64,
}

impl BoundingBox {
    /// Parses `"min_lat,min_long,max_lat,max_long"` in decimal degrees.
    pub fn parse(text: &str) -> Result<BoundingBox, String> {
        let numbers: Vec<f64> = text
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("invalid box '{text}': expected four numbers min_lat,min_long,max_lat,max_long"))?;

        let [min_lat, min_long, max_lat, max_long] = numbers[..] else {
            return Err(format!(
                "invalid box '{text}': expected four numbers, found {}",
                numbers.len()
            ));
        };
        if min_lat > max_lat || min_long > max_long {
            return Err(format!("invalid box '{text}': a minimum is greater than its maximum"));
        }

        Ok(BoundingBox {
            min_lat,
            min_long,
            max_lat,
            max_long,
        })
    }

    /// Tells whether `point` lies inside the box or on its edge.
    pub fn contains(&self, point: &Location) -> bool {
        (self.min_lat..=self.max_lat).contains(&point.lat) && (self.min_long..=self.max_long).contains(&point.long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn parse_months_accepts_spaces() {
        assert_eq!(parse_months("11, 12,1"), Ok(vec![11, 12, 1]));
    }

    #[test]
    fn parse_months_rejects_thirteen() {
        assert!(parse_months("12,13").unwrap_err().contains("'13'"));
    }

    #[test]
    fn bounding_box_includes_edges() {
        let area = BoundingBox::parse("42.77,-71.10,42.80,-71.05").unwrap();
        assert!(area.contains(&Location {
            lat: 42.77,
            long: -71.05
        }));
        assert!(!area.contains(&Location {
            lat: 42.81,
            long: -71.07
        }));
    }

    #[test]
    fn bounding_box_rejects_three_numbers() {
        assert!(BoundingBox::parse("1,2,3").unwrap_err().contains("found 3"));
    }
}
