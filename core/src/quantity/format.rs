//! Printing: Kubernetes' `CanonicalizeBytes`.

use super::{Format, NANOS_PER_UNIT};

/// `v × 10^scale` in nano-units, rounding a fraction of a nano-unit up (away from zero)
/// and saturating out of range.
pub(super) fn scale_to_nanos(v: i128, scale: i32) -> i128 {
    let shift = scale.saturating_add(9);
    if shift >= 0 {
        let mut out = v;
        for _ in 0..shift {
            match out.checked_mul(10) {
                Some(x) => out = x,
                None => return if v < 0 { i128::MIN } else { i128::MAX },
            }
        }
        out
    } else {
        let mut divisor: i128 = 1;
        for _ in 0..shift.unsigned_abs() {
            match divisor.checked_mul(10) {
                Some(d) => divisor = d,
                None => return v.signum(),
            }
        }
        let q = v / divisor;
        let r = v % divisor;
        q + r.signum()
    }
}

/// The canonical text of an amount of `nanos` nano-units in `format`.
pub(super) fn canonical(nanos: i128, format: Format) -> String {
    if nanos == 0 {
        return "0".to_owned();
    }
    match format {
        Format::BinarySI if nanos.abs() >= 1024 * NANOS_PER_UNIT && nanos % NANOS_PER_UNIT == 0 => {
            binary(nanos / NANOS_PER_UNIT)
        }
        Format::BinarySI | Format::DecimalSI => decimal(nanos, false),
        Format::DecimalExponent => decimal(nanos, true),
    }
}

fn binary(units: i128) -> String {
    let mut amount = units;
    let mut exponent = 0;
    while amount % 1024 == 0 && exponent < 6 {
        amount /= 1024;
        exponent += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exponent];
    format!("{amount}{suffix}")
}

fn decimal(nanos: i128, exponent_form: bool) -> String {
    let mut amount = nanos;
    let mut exponent: i32 = -9;
    while amount % 10 == 0 {
        amount /= 10;
        exponent += 1;
    }
    match exponent.rem_euclid(3) {
        1 => {
            amount *= 10;
            exponent -= 1;
        }
        2 => {
            amount *= 100;
            exponent -= 2;
        }
        _ => {}
    }
    let suffix = match exponent {
        0 => String::new(),
        e if exponent_form => format!("e{e}"),
        -9 => "n".to_owned(),
        -6 => "u".to_owned(),
        -3 => "m".to_owned(),
        3 => "k".to_owned(),
        6 => "M".to_owned(),
        9 => "G".to_owned(),
        12 => "T".to_owned(),
        15 => "P".to_owned(),
        18 => "E".to_owned(),
        // Beyond exa there is no SI suffix; print the exponent rather than lose it.
        e => format!("e{e}"),
    };
    format!("{amount}{suffix}")
}
