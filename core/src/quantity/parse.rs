//! Parsing, following Kubernetes' `ParseQuantity` / `parseQuantityString` step by step
//! (including which inputs are "already canonical" and print back verbatim).

use std::sync::Arc;

use super::{Format, NANOS_PER_UNIT, Quantity};

/// Why a quantity did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantityErrorKind {
    /// Empty input or characters where none belong (Kubernetes' `ErrFormatWrong`).
    FormatWrong,
    /// The suffix is not one of Kubernetes' (Kubernetes' `ErrSuffix`).
    Suffix,
    /// The number cannot be read (Kubernetes' `ErrNumeric`).
    Numeric,
    /// The amount is beyond what Keel represents exactly (±1.7e29).
    OutOfRange,
}

/// A quantity that did not parse: the input and the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {}", reason(*kind))]
pub struct ParseQuantityError {
    input: String,
    kind: QuantityErrorKind,
}

impl ParseQuantityError {
    /// The text that did not parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it did not parse.
    pub fn kind(&self) -> QuantityErrorKind {
        self.kind
    }
}

fn reason(kind: QuantityErrorKind) -> &'static str {
    match kind {
        QuantityErrorKind::FormatWrong => {
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        }
        QuantityErrorKind::Suffix => "unable to parse quantity's suffix",
        QuantityErrorKind::Numeric => "unable to parse numeric part of quantity",
        QuantityErrorKind::OutOfRange => "out of range: the amount must be within ±1.7e29",
    }
}

/// The pieces of a quantity string, as Kubernetes' `parseQuantityString` splits them.
struct Pieces<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

fn split(s: &str) -> Result<Pieces<'_>, QuantityErrorKind> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    // Leading zeros.
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Pieces {
            positive,
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && is_digit(b[pos]) {
        pos += 1;
    }
    let mut num = &s[num_start..pos];
    if pos >= end {
        return Ok(Pieces {
            positive,
            num,
            denom: "",
            suffix: "",
        });
    }
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && is_digit(b[pos]) {
            pos += 1;
        }
        denom = &s[denom_start..pos];
        if pos >= end {
            return Ok(Pieces {
                positive,
                num,
                denom,
                suffix: "",
            });
        }
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && matches!(b[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && is_digit(b[pos]) {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityErrorKind::FormatWrong);
    }
    Ok(Pieces {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// `(base, exponent, format)` of a suffix (Kubernetes' `suffixHandler.interpret`).
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(e) = decimal {
        return Some((10, e, Format::DecimalSI));
    }
    let binary = match suffix {
        "Ki" => Some(10),
        "Mi" => Some(20),
        "Gi" => Some(30),
        "Ti" => Some(40),
        "Pi" => Some(50),
        "Ei" => Some(60),
        _ => None,
    };
    if let Some(e) = binary {
        return Some((2, e, Format::BinarySI));
    }
    let rest = suffix.strip_prefix(['e', 'E'])?;
    if rest.is_empty() {
        return None;
    }
    // Kubernetes parses an int64 and keeps its low 32 bits; anything that large is out of
    // any representable range anyway, so refuse it.
    let e: i32 = rest.parse().ok()?;
    Some((10, e, Format::DecimalExponent))
}

/// Parses `s` into a quantity.
pub(super) fn parse(s: &str) -> Result<Quantity, ParseQuantityError> {
    let fail = |kind| ParseQuantityError {
        input: s.to_owned(),
        kind,
    };
    if s.is_empty() {
        return Err(fail(QuantityErrorKind::FormatWrong));
    }
    if s == "0" {
        return Ok(Quantity::from_nanos(0, Format::DecimalSI));
    }
    let p = split(s).map_err(fail)?;
    let (base, exponent, mut format) =
        interpret(p.suffix).ok_or_else(|| fail(QuantityErrorKind::Suffix))?;
    let magnitude = if base == 2 {
        binary_nanos(p.num, p.denom, exponent)
    } else {
        decimal_nanos(p.num, p.denom, exponent)
    }
    .ok_or_else(|| fail(QuantityErrorKind::OutOfRange))?;
    let mut magnitude = magnitude;
    if format == Format::BinarySI {
        let max = i128::from(i64::MAX) * NANOS_PER_UNIT;
        magnitude = magnitude.min(max);
        if magnitude > 0 && magnitude < NANOS_PER_UNIT {
            format = Format::DecimalSI;
        }
    }
    let nanos = if p.positive { magnitude } else { -magnitude };
    let mut quantity = Quantity::from_nanos(nanos, format);
    if canonical_as_written(&p, base, exponent, format)
        && super::format::canonical(nanos, format) != s
    {
        quantity.text = Some(Arc::new(s.to_owned()));
    }
    Ok(quantity)
}

/// Kubernetes' fast path keeps the input as the printed form when it is "already
/// canonical": reproduce exactly when that happens.
fn canonical_as_written(p: &Pieces<'_>, base: u32, exponent: i32, format: Format) -> bool {
    let digits = p.num.len() + p.denom.len();
    let Ok(digits) = i32::try_from(digits) else {
        return false;
    };
    let Ok(denom_len) = i32::try_from(p.denom.len()) else {
        return false;
    };
    if base == 2 {
        if exponent < 0 || !p.denom.is_empty() {
            return false;
        }
        // precision = 15 - len(num) - int32(float32(exponent)*3/10) - 1
        let precision = 15 - digits - exponent * 3 / 10 - 1;
        if precision < 0 {
            return false;
        }
        let Ok(value) = p.num.parse::<i64>() else {
            return false;
        };
        if value.checked_mul(1_i64 << exponent).is_none() {
            return false;
        }
        exponent % 10 == 0 && value & 0x07 != 0 && format == Format::BinarySI
    } else {
        let precision = 18 - digits;
        let scale = exponent - denom_len;
        if precision < 0 || scale < -9 {
            return false;
        }
        let shifted = format!("{}{}", p.num, p.denom);
        shifted.parse::<i64>().is_ok()
            && scale % 3 == 0
            && !shifted.ends_with("000")
            && !shifted.starts_with('0')
    }
}

/// `|num.denom| × 10^exponent` in nano-units, rounded up; `None` when out of range.
fn decimal_nanos(num: &str, denom: &str, exponent: i32) -> Option<i128> {
    let digits: String = format!("{num}{denom}");
    let denom_len = i32::try_from(denom.len()).ok()?;
    // value = digits × 10^(exponent - len(denom)); in nanos: × 10^(shift)
    let shift = exponent.checked_sub(denom_len)?.checked_add(9)?;
    scale_digits(&digits, shift)
}

/// `digits × 10^shift`, rounding a remainder up; `None` when out of range.
fn scale_digits(digits: &str, shift: i32) -> Option<i128> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if shift >= 0 {
        let mut v = parse_digits(digits)?;
        for _ in 0..shift {
            v = v.checked_mul(10)?;
        }
        Some(v)
    } else {
        let cut = usize::try_from(shift.unsigned_abs()).ok()?;
        let (kept, dropped) = if cut >= digits.len() {
            ("", digits)
        } else {
            digits.split_at(digits.len() - cut)
        };
        let v = if kept.is_empty() {
            0
        } else {
            parse_digits(kept)?
        };
        let round_up = dropped.bytes().any(|b| b != b'0');
        v.checked_add(i128::from(round_up))
    }
}

fn parse_digits(digits: &str) -> Option<i128> {
    digits.bytes().try_fold(0_i128, |acc, b| {
        acc.checked_mul(10)?.checked_add(i128::from(b - b'0'))
    })
}

/// `|num.denom| × 2^exponent` in nano-units, rounded up; `None` when out of range.
fn binary_nanos(num: &str, denom: &str, exponent: i32) -> Option<i128> {
    let digits = format!("{num}{denom}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    let multiplier = 1_i128.checked_shl(u32::try_from(exponent).ok()?)?;
    let denom_len = i32::try_from(denom.len()).ok()?;
    let shift = 9 - denom_len;
    if shift >= 0 {
        let v = parse_digits(digits)?.checked_mul(multiplier)?;
        let mut v = v;
        for _ in 0..shift {
            v = v.checked_mul(10)?;
        }
        Some(v)
    } else {
        // (digits × 2^e) / 10^(len(denom) - 9), rounded up.
        let v = parse_digits(digits)?.checked_mul(multiplier)?;
        let mut divisor: i128 = 1;
        for _ in 0..shift.unsigned_abs() {
            divisor = divisor.checked_mul(10)?;
        }
        Some(v / divisor + i128::from(v % divisor != 0))
    }
}
