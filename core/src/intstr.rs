//! `IntOrString`: a field that holds either an integer or a string (`80` or `"http"`,
//! `1` or `"25%"`), as Kubernetes' `intstr.IntOrString`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// An integer or a string; serialised as a bare JSON number or string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer, e.g. a port number or a count.
    Int(i32),
    /// A string, e.g. a port name or a percentage such as `25%`.
    String(String),
}

impl Default for IntOrString {
    fn default() -> Self {
        IntOrString::Int(0)
    }
}

impl From<i32> for IntOrString {
    fn from(v: i32) -> Self {
        IntOrString::Int(v)
    }
}

impl From<&str> for IntOrString {
    fn from(v: &str) -> Self {
        IntOrString::String(v.to_owned())
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl IntOrString {
    /// Resolves an absolute value or a percentage of `total` (Kubernetes'
    /// `GetScaledValueFromIntOrPercent`): `Int(n)` is `n`; `"p%"` is `p * total / 100`,
    /// rounded up when `round_up`, else down. Any other string is an error.
    pub fn scaled_value(&self, total: i32, round_up: bool) -> Result<i32, String> {
        match self {
            IntOrString::Int(v) => Ok(*v),
            IntOrString::String(s) => {
                let Some(digits) = s.strip_suffix('%') else {
                    return Err(format!(
                        "invalid value for IntOrString: invalid type: string is not a percentage: {s:?}"
                    ));
                };
                let percent: i64 = digits
                    .parse()
                    .map_err(|_| format!("invalid value {s:?}: must be an integer percentage"))?;
                let product = percent * i64::from(total);
                let value = if round_up {
                    product.div_euclid(100) + i64::from(product.rem_euclid(100) != 0)
                } else {
                    product.div_euclid(100)
                };
                i32::try_from(value).map_err(|_| format!("value {s:?} of {total} is out of range"))
            }
        }
    }
}

impl JsonSchema for IntOrString {
    fn schema_name() -> Cow<'static, str> {
        "IntOrString".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [{ "type": "integer" }, { "type": "string" }],
            "x-kubernetes-int-or-string": true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_keeps_the_wire_type() {
        let port: IntOrString = serde_json::from_str("8080").unwrap();
        assert_eq!(port, IntOrString::Int(8080));
        let name: IntOrString = serde_json::from_str("\"http\"").unwrap();
        assert_eq!(name, IntOrString::from("http"));
        assert_eq!(
            serde_json::to_string(&IntOrString::from("25%")).unwrap(),
            "\"25%\""
        );
        assert_eq!(serde_json::to_string(&IntOrString::Int(1)).unwrap(), "1");
        assert!(serde_json::from_str::<IntOrString>("1.5").is_err());
    }

    #[test]
    fn percentages_scale_with_rounding() {
        let quarter = IntOrString::from("25%");
        assert_eq!(quarter.scaled_value(10, true), Ok(3));
        assert_eq!(quarter.scaled_value(10, false), Ok(2));
        assert_eq!(quarter.scaled_value(4, true), Ok(1));
        assert_eq!(IntOrString::Int(5).scaled_value(10, true), Ok(5));
        assert_eq!(IntOrString::from("0%").scaled_value(10, true), Ok(0));
        assert!(IntOrString::from("abc").scaled_value(10, true).is_err());
        assert!(IntOrString::from("x%").scaled_value(10, true).is_err());
    }
}
