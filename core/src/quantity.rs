//! STUB — replaced by the real module (same public API).
#![allow(missing_docs, clippy::pedantic)]
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format { DecimalSI, BinarySI, DecimalExponent }
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {0:?}")]
pub struct ParseQuantityError(pub String);
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Quantity(pub String);
impl std::str::FromStr for Quantity { type Err = ParseQuantityError; fn from_str(s: &str) -> Result<Self, ParseQuantityError> { Ok(Quantity(s.into())) } }
impl std::fmt::Display for Quantity { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
impl Quantity {
    pub fn parse(s: &str) -> Result<Quantity, ParseQuantityError> { s.parse() }
    pub fn from_milli(_m: i64, _f: Format) -> Quantity { Quantity::default() }
    pub fn from_int(_m: i64, _f: Format) -> Quantity { Quantity::default() }
    pub fn zero() -> Quantity { Quantity::default() }
    pub fn is_zero(&self) -> bool { true }
    pub fn is_negative(&self) -> bool { false }
    pub fn milli_value(&self) -> i64 { 0 }
    pub fn value(&self) -> i64 { 0 }
}
