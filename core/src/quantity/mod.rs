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
    nanos: Nanos,
    format: Format,
    /// The text it was parsed from, when Kubernetes prints it back verbatim and it
    /// differs from the canonical form (rare: kept out of line so a quantity is small).
    text: Option<Arc<String>>,
}

/// An `i128` stored as two words, so a [`Quantity`] needs only 8-byte alignment
/// (32 bytes instead of 48 in every resource map).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Nanos {
    hi: i64,
    lo: u64,
}

impl Nanos {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn new(v: i128) -> Nanos {
        Nanos {
            hi: (v >> 64) as i64,
            lo: v as u64,
        }
    }

    fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }
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
            nanos: Nanos::new(nanos),
            format,
            text: None,
        }
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos.get() == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos.get() < 0
    }

    /// -1, 0 or 1 by the sign of the amount.
    pub fn sign(&self) -> i32 {
        match self.nanos.get().cmp(&0) {
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
        self.nanos.get()
    }

    /// The amount in thousandths, rounded away from zero (`0.1m` → 1), saturating at the
    /// bounds of `i64` (Kubernetes' `MilliValue`).
    pub fn milli_value(&self) -> i64 {
        scaled_away_from_zero(self.nanos.get(), 1_000_000)
    }

    /// The amount in units, rounded away from zero (`1.5` → 2, `-1.5` → -2), saturating
    /// at the bounds of `i64` (Kubernetes' `Value`).
    pub fn value(&self) -> i64 {
        scaled_away_from_zero(self.nanos.get(), NANOS_PER_UNIT)
    }

    /// The amount as a float (Kubernetes' `AsApproximateFloat64`).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> f64 {
        self.nanos.get() as f64 / 1e9
    }

    /// `self + other`, or `None` out of range. The result keeps `self`'s format (or
    /// `other`'s when `self` is zero), as Kubernetes' `Add`.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.get().checked_add(other.nanos.get())?;
        Some(Quantity::from_nanos(nanos, self.result_format(other)))
    }

    /// `self - other`, or `None` out of range.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.get().checked_sub(other.nanos.get())?;
        Some(Quantity::from_nanos(nanos, self.result_format(other)))
    }

    fn result_format(&self, other: &Quantity) -> Format {
        if self.nanos.get() == 0 {
            other.format
        } else {
            self.format
        }
    }
}

fn scaled_away_from_zero(nanos: i128, unit: i128) -> i64 {
    if let (Ok(n), Ok(u)) = (i64::try_from(nanos), i64::try_from(unit))
        && u > 0
    {
        // The common case (below ~9.2 G units), without a 128-bit division.
        let (q, r) = (n / u, n % u);
        return q + i64::from(r > 0) - i64::from(r < 0);
    }
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
            Some(text) => f.write_str(text.as_str()),
            None => f.write_str(&format::canonical(self.nanos.get(), self.format)),
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
        self.nanos.get() == other.nanos.get()
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
        self.nanos.get().cmp(&other.nanos.get())
    }
}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.get().hash(state);
    }
}

impl Add for Quantity {
    type Output = Quantity;
    /// Saturates at the representable range instead of overflowing.
    fn add(self, rhs: Quantity) -> Quantity {
        let format = self.result_format(&rhs);
        Quantity::from_nanos(self.nanos.get().saturating_add(rhs.nanos.get()), format)
    }
}

impl Sub for Quantity {
    type Output = Quantity;
    /// Saturates at the representable range instead of overflowing.
    fn sub(self, rhs: Quantity) -> Quantity {
        let format = self.result_format(&rhs);
        Quantity::from_nanos(self.nanos.get().saturating_sub(rhs.nanos.get()), format)
    }
}

impl<'a> Add<&'a Quantity> for &Quantity {
    type Output = Quantity;
    fn add(self, rhs: &'a Quantity) -> Quantity {
        Quantity::from_nanos(
            self.nanos.get().saturating_add(rhs.nanos.get()),
            self.result_format(rhs),
        )
    }
}

impl<'a> Sub<&'a Quantity> for &Quantity {
    type Output = Quantity;
    fn sub(self, rhs: &'a Quantity) -> Quantity {
        Quantity::from_nanos(
            self.nanos.get().saturating_sub(rhs.nanos.get()),
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
        Quantity::from_nanos(self.nanos.get().saturating_neg(), self.format)
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
