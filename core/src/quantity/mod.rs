//! `Quantity`: an exact decimal amount of a resource (`500m` CPU, `1.5Gi` memory), parsed
//! and printed exactly as Kubernetes' `resource.Quantity`.
//!
//! Amounts are kept as an integer number of nano-units (`i128`), so arithmetic and
//! comparison are exact. As in Kubernetes, parsing rounds a non-zero amount *up* (away
//! from zero) to the nearest nano-unit, binary-suffixed amounts are capped at
//! `2^63 - 1`, and a string already in canonical form prints back unchanged. Amounts
//! beyond ±1.7e29 (far beyond anything Kubernetes can store in an int64 field) are
//! rejected as out of range instead of losing precision.

mod format;
mod parse;
mod serde_impl;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;
use std::sync::Arc;

pub use parse::{ParseQuantityError, QuantityErrorKind};

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// How a quantity prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Powers of ten with SI suffixes: `500m`, `1k`, `2G`.
    #[default]
    DecimalSI,
    /// Powers of 1024 with binary suffixes: `512Ki`, `1Gi`.
    BinarySI,
    /// Powers of ten as exponents: `12e6`, `1e-3`.
    DecimalExponent,
}

/// An exact amount of a resource, as Kubernetes' `resource.Quantity`.
///
/// Equality, ordering and hashing are by numeric value (`1Gi == 1073741824`,
/// `1000m == 1`); the format only decides how the amount prints.
#[derive(Clone, Default)]
pub struct Quantity {
    nanos: i128,
    format: Format,
    /// The text it was parsed from, when that text is already canonical (Kubernetes
    /// prints it back verbatim).
    text: Option<Arc<str>>,
}

impl Quantity {
    /// Parses Kubernetes' quantity syntax: `<sign><digits>.<digits><suffix>`.
    pub fn parse(s: &str) -> Result<Quantity, ParseQuantityError> {
        parse::parse(s)
    }

    /// Zero.
    pub fn zero() -> Quantity {
        Quantity::default()
    }

    /// `m` thousandths, printed in `format` (Kubernetes' `NewMilliQuantity`).
    pub fn from_milli(m: i64, format: Format) -> Quantity {
        Quantity::from_nanos(i128::from(m) * 1_000_000, format)
    }

    /// `v` units, printed in `format` (Kubernetes' `NewQuantity`).
    pub fn from_int(v: i64, format: Format) -> Quantity {
        Quantity::from_nanos(i128::from(v) * NANOS_PER_UNIT, format)
    }

    /// `v × 10^scale`, printed in `format` (Kubernetes' `NewScaledQuantity`); amounts below
    /// one nano-unit round up, amounts out of range saturate.
    pub fn from_scaled(v: i64, scale: i32, format: Format) -> Quantity {
        let nanos = format::scale_to_nanos(i128::from(v), scale);
        Quantity::from_nanos(nanos, format)
    }

    pub(crate) fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity {
            nanos,
            format,
            text: None,
        }
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// -1, 0 or 1 by the sign of the amount.
    pub fn sign(&self) -> i32 {
        match self.nanos.cmp(&0) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    /// How the quantity prints.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The amount in nano-units (10^-9), exact.
    pub fn nano_value(&self) -> i128 {
        self.nanos
    }

    /// The amount in thousandths, rounded away from zero (`0.1m` → 1), saturating at the
    /// bounds of `i64` (Kubernetes' `MilliValue`).
    pub fn milli_value(&self) -> i64 {
        scaled_away_from_zero(self.nanos, 1_000_000)
    }

    /// The amount in units, rounded away from zero (`1.5` → 2, `-1.5` → -2), saturating
    /// at the bounds of `i64` (Kubernetes' `Value`).
    pub fn value(&self) -> i64 {
        scaled_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    /// The amount as a float (Kubernetes' `AsApproximateFloat64`).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// `self + other`, or `None` out of range. The result keeps `self`'s format (or
    /// `other`'s when `self` is zero), as Kubernetes' `Add`.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_add(other.nanos)?;
        Some(Quantity::from_nanos(nanos, self.result_format(other)))
    }

    /// `self - other`, or `None` out of range.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_sub(other.nanos)?;
        Some(Quantity::from_nanos(nanos, self.result_format(other)))
    }

    fn result_format(&self, other: &Quantity) -> Format {
        if self.nanos == 0 && self.text.is_none() {
            other.format
        } else {
            self.format
        }
    }
}

fn scaled_away_from_zero(nanos: i128, unit: i128) -> i64 {
    let q = nanos / unit;
    let r = nanos % unit;
    let rounded = match r.cmp(&0) {
        Ordering::Greater => q + 1,
        Ordering::Less => q - 1,
        Ordering::Equal => q,
    };
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

impl FromStr for Quantity {
    type Err = ParseQuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(text) => f.write_str(text),
            None => f.write_str(&format::canonical(self.nanos, self.format)),
        }
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({self})")
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl Add for Quantity {
    type Output = Quantity;
    /// Saturates at the representable range instead of overflowing.
    fn add(self, rhs: Quantity) -> Quantity {
        let format = self.result_format(&rhs);
        Quantity::from_nanos(self.nanos.saturating_add(rhs.nanos), format)
    }
}

impl Sub for Quantity {
    type Output = Quantity;
    /// Saturates at the representable range instead of overflowing.
    fn sub(self, rhs: Quantity) -> Quantity {
        let format = self.result_format(&rhs);
        Quantity::from_nanos(self.nanos.saturating_sub(rhs.nanos), format)
    }
}

impl<'a> Add<&'a Quantity> for &Quantity {
    type Output = Quantity;
    fn add(self, rhs: &'a Quantity) -> Quantity {
        Quantity::from_nanos(
            self.nanos.saturating_add(rhs.nanos),
            self.result_format(rhs),
        )
    }
}

impl<'a> Sub<&'a Quantity> for &Quantity {
    type Output = Quantity;
    fn sub(self, rhs: &'a Quantity) -> Quantity {
        Quantity::from_nanos(
            self.nanos.saturating_sub(rhs.nanos),
            self.result_format(rhs),
        )
    }
}

impl AddAssign<&Quantity> for Quantity {
    fn add_assign(&mut self, rhs: &Quantity) {
        *self = &*self + rhs;
    }
}

impl SubAssign<&Quantity> for Quantity {
    fn sub_assign(&mut self, rhs: &Quantity) {
        *self = &*self - rhs;
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, rhs: Quantity) {
        *self += &rhs;
    }
}

impl SubAssign for Quantity {
    fn sub_assign(&mut self, rhs: Quantity) {
        *self -= &rhs;
    }
}

impl Neg for Quantity {
    type Output = Quantity;
    fn neg(self) -> Quantity {
        Quantity::from_nanos(self.nanos.saturating_neg(), self.format)
    }
}

impl std::iter::Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::zero(), |acc, q| acc + q)
    }
}

impl<'a> std::iter::Sum<&'a Quantity> for Quantity {
    fn sum<I: Iterator<Item = &'a Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::zero(), |acc, q| &acc + q)
    }
}
