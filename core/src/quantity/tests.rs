use proptest::prelude::*;

use super::*;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn canonical_forms_match_kubernetes() {
    let table = [
        // Decimal SI.
        ("1000m", "1"),
        ("100m", "100m"),
        ("0.1", "100m"),
        ("1.5", "1500m"),
        ("1.0", "1"),
        ("1", "1"),
        ("0", "0"),
        ("-0", "0"),
        ("0.0", "0"),
        ("00", "0"),
        ("1k", "1k"),
        ("1000", "1k"),
        ("1001", "1001"),
        ("1500", "1500"),
        ("1M", "1M"),
        ("1.5M", "1500k"),
        ("1000M", "1G"),
        ("0.001", "1m"),
        ("0.0001", "100u"),
        ("0.0000001", "100n"),
        ("1n", "1n"),
        ("0.1n", "1n"),
        ("1.1n", "2n"),
        ("0.0000000001", "1n"),
        ("1u", "1u"),
        ("1G", "1G"),
        ("1T", "1T"),
        ("1P", "1P"),
        ("1E", "1E"),
        ("1000E", "1e21"),
        ("12345678901234567890", "12345678901234567890"),
        (".5", "500m"),
        ("-1", "-1"),
        ("-1m", "-1m"),
        ("-0.5", "-500m"),
        ("-1000m", "-1"),
        ("500m", "500m"),
        ("0.5", "500m"),
        ("250m", "250m"),
        ("2.5G", "2500M"),
        // Inputs already canonical print back verbatim (Kubernetes' fast path).
        ("+1", "+1"),
        ("5.", "5."),
        ("05", "05"),
        ("1E3", "1E3"),
        // Decimal exponent.
        ("12e6", "12e6"),
        ("1e3", "1e3"),
        ("1e-3", "1e-3"),
        ("100e-3", "100e-3"),
        ("1.5e3", "1500"),
        ("1.5e6", "1500e3"),
        ("1e2", "100"),
        ("1e4", "10e3"),
        ("1e0", "1e0"),
        ("1e+3", "1e+3"),
        ("1e-12", "1e-9"),
        ("0e3", "0"),
        // Binary SI.
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1Ti", "1Ti"),
        ("1Pi", "1Pi"),
        ("1Ei", "1Ei"),
        ("1024", "1024"),
        ("1.5Gi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("1536Mi", "1536Mi"),
        ("1024Mi", "1Gi"),
        ("0.5Ki", "512"),
        ("1.5Ki", "1536"),
        ("100Mi", "100Mi"),
        ("0.1Ki", "102400m"),
        ("0Ki", "0"),
        ("-1Ki", "-1Ki"),
        ("-1.5Gi", "-1536Mi"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("8Ei", "9223372036854775807"),
        ("64Mi", "64Mi"),
        ("256Mi", "256Mi"),
        ("2048Ki", "2Mi"),
        // Kubernetes' parser reads a missing number as zero.
        ("-", "0"),
        ("+", "0"),
        (".", "0"),
        ("Ki", "0"),
        ("e3", "0"),
    ];
    for (input, canonical) in table {
        assert_eq!(q(input).to_string(), canonical, "input {input:?}");
    }
}

#[test]
fn negated_canonical_forms() {
    for (input, expect) in [
        ("1Ki", "1Ki"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000000000001Ki", "2n"),
    ] {
        assert_eq!(
            q(&format!("-{input}")).to_string(),
            format!("-{expect}"),
            "{input}"
        );
    }
}

#[test]
fn formats_follow_the_suffix() {
    assert_eq!(q("1Ki").format(), Format::BinarySI);
    assert_eq!(q("1k").format(), Format::DecimalSI);
    assert_eq!(q("1e3").format(), Format::DecimalExponent);
    assert_eq!(q("0.5Ki").format(), Format::BinarySI);
    assert_eq!(
        q(".000000000001Ki").format(),
        Format::DecimalSI,
        "below one unit falls back to decimal"
    );
}

#[test]
fn values_round_away_from_zero() {
    let table = [
        ("1", 1, 1000),
        ("1.5", 2, 1500),
        ("-1.5", -2, -1500),
        ("0.1m", 1, 1),
        ("-0.1m", -1, -1),
        ("100m", 1, 100),
        ("1Ki", 1024, 1_024_000),
        ("1n", 1, 1),
        ("0", 0, 0),
        ("1001m", 2, 1001),
        ("1e3", 1000, 1_000_000),
        // Either side of the 64-bit fast path (nanos within i64 below ~9.22e9 units).
        ("9223372036.5", 9_223_372_037, 9_223_372_036_500),
        ("9223372037.5", 9_223_372_038, 9_223_372_037_500),
        ("-9223372036.5", -9_223_372_037, -9_223_372_036_500),
        ("-9223372037.5", -9_223_372_038, -9_223_372_037_500),
        ("1Ei", 1_152_921_504_606_846_976, i64::MAX),
        ("12345678901234567890", i64::MAX, i64::MAX),
        ("-12345678901234567890", i64::MIN, i64::MIN),
    ];
    for (input, value, milli) in table {
        let x = q(input);
        assert_eq!(x.value(), value, "{input}.value()");
        assert_eq!(x.milli_value(), milli, "{input}.milli_value()");
    }
    assert!((q("1.5").as_f64() - 1.5).abs() < 1e-12);
}

#[test]
fn equality_and_order_are_numeric() {
    assert_eq!(q("1Gi"), q("1073741824"));
    assert_eq!(q("1Gi"), q("1024Mi"));
    assert_eq!(q("1000m"), q("1"));
    assert_eq!(q("1e3"), q("1k"));
    assert!(q("1Gi") > q("1G"));
    assert!(q("999m") < q("1"));
    assert!(q("-1") < q("0"));
    let mut v = [q("2"), q("1500m"), q("1Ki"), q("-1"), q("0")];
    v.sort();
    let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["-1", "0", "1500m", "2", "1Ki"]);
    let set: std::collections::HashSet<Quantity> =
        [q("1Gi"), q("1024Mi"), q("1")].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn arithmetic_is_exact_and_keeps_the_left_format() {
    assert_eq!((q("100m") + q("900m")).to_string(), "1");
    assert_eq!((q("1Gi") - q("512Mi")).to_string(), "512Mi");
    assert_eq!((q("1") - q("1500m")).to_string(), "-500m");
    assert_eq!(
        (Quantity::zero() + q("1Ki")).to_string(),
        "1Ki",
        "zero takes the other's format"
    );
    assert_eq!((q("1k") + q("24")).to_string(), "1024");
    assert_eq!(
        q("0").checked_add(&q("1Ki")).unwrap().to_string(),
        "1Ki",
        "a parsed zero also takes the other's format, as Kubernetes' Add does"
    );
    let mut total = Quantity::zero();
    total += q("250m");
    total += &q("250m");
    total -= q("100m");
    assert_eq!(total.to_string(), "400m");
    assert_eq!((-q("1Ki")).to_string(), "-1Ki");
    let sum: Quantity = [q("1"), q("2"), q("3")].iter().sum();
    assert_eq!(sum.to_string(), "6");
    assert_eq!(q("1").checked_add(&q("2")).unwrap().to_string(), "3");
    let huge = Quantity::from_nanos(i128::MAX, Format::DecimalSI);
    assert!(huge.checked_add(&q("1")).is_none());
    assert_eq!((huge.clone() + q("1")).nano_value(), i128::MAX, "saturates");
}

#[test]
fn a_quantity_is_four_words_and_keeps_extreme_values() {
    // Resource maps hold many quantities; the size is part of the memory budget.
    assert_eq!(std::mem::size_of::<Quantity>(), 32);
    for v in [
        i128::MIN,
        i128::MIN + 1,
        -1,
        0,
        1,
        i128::from(u64::MAX),
        i128::MAX,
    ] {
        assert_eq!(Quantity::from_nanos(v, Format::DecimalSI).nano_value(), v);
    }
}

#[test]
fn constructors() {
    assert_eq!(
        Quantity::from_milli(1500, Format::DecimalSI).to_string(),
        "1500m"
    );
    assert_eq!(
        Quantity::from_int(1024 * 1024, Format::BinarySI).to_string(),
        "1Mi"
    );
    assert_eq!(Quantity::from_int(0, Format::BinarySI).to_string(), "0");
    assert_eq!(
        Quantity::from_int(5, Format::DecimalExponent).to_string(),
        "5"
    );
    assert_eq!(
        Quantity::from_scaled(5, 3, Format::DecimalSI).to_string(),
        "5k"
    );
    assert_eq!(
        Quantity::from_scaled(5, -12, Format::DecimalSI).to_string(),
        "1n"
    );
    assert_eq!(
        Quantity::from_scaled(3, 6, Format::DecimalExponent).to_string(),
        "3e6"
    );
    assert!(Quantity::zero().is_zero());
    assert_eq!(q("-2").sign(), -1);
}

#[test]
fn invalid_inputs_are_errors() {
    let table = [
        ("", QuantityErrorKind::FormatWrong),
        (" 1", QuantityErrorKind::FormatWrong),
        ("1 ", QuantityErrorKind::FormatWrong),
        ("1.1.1", QuantityErrorKind::FormatWrong),
        ("1K", QuantityErrorKind::Suffix),
        ("1mi", QuantityErrorKind::Suffix),
        ("1KiB", QuantityErrorKind::FormatWrong),
        ("1e", QuantityErrorKind::Suffix),
        ("1.1.M", QuantityErrorKind::FormatWrong),
        ("1+1.0M", QuantityErrorKind::FormatWrong),
        ("0.1mi", QuantityErrorKind::Suffix),
        ("0.1am", QuantityErrorKind::FormatWrong),
        ("aoeu", QuantityErrorKind::FormatWrong),
        (".5i", QuantityErrorKind::Suffix),
        ("-3.01i", QuantityErrorKind::Suffix),
        ("-3.01e-", QuantityErrorKind::Suffix),
        ("--1", QuantityErrorKind::Suffix),
        ("+-1", QuantityErrorKind::Suffix),
        ("1k3", QuantityErrorKind::Suffix),
        ("0x10", QuantityErrorKind::FormatWrong),
        ("abc", QuantityErrorKind::FormatWrong),
        ("1em", QuantityErrorKind::Suffix),
        ("1e1000", QuantityErrorKind::OutOfRange),
        ("1e30", QuantityErrorKind::OutOfRange),
        ("1,5", QuantityErrorKind::FormatWrong),
        ("١", QuantityErrorKind::FormatWrong),
    ];
    for (input, kind) in table {
        let err = Quantity::parse(input).unwrap_err();
        assert_eq!(err.kind(), kind, "{input:?}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid quantity {input:?}")),
            "{err}"
        );
    }
}

#[test]
fn serde_reads_strings_and_numbers_and_writes_canonical_strings() {
    let x: Quantity = serde_json::from_str("\"1.5Gi\"").unwrap();
    assert_eq!(serde_json::to_string(&x).unwrap(), "\"1536Mi\"");
    let x: Quantity = serde_json::from_str("1").unwrap();
    assert_eq!(x.to_string(), "1");
    let x: Quantity = serde_json::from_str("0.5").unwrap();
    assert_eq!(x.to_string(), "500m");
    let x: Quantity = serde_json::from_str("1e3").unwrap();
    assert_eq!(x, q("1k"));
    let x: Quantity = serde_json::from_str("null").unwrap();
    assert!(x.is_zero());
    let err = serde_json::from_str::<Quantity>("\"1.1.1\"").unwrap_err();
    assert!(
        err.to_string().contains("invalid quantity \"1.1.1\""),
        "{err}"
    );
    assert!(serde_json::from_str::<Quantity>("true").is_err());
    let schema = serde_json::to_value(schemars::schema_for!(Quantity)).unwrap();
    assert_eq!(schema["x-kubernetes-int-or-string"], true);
}

fn suffix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3",
        "e-3", "e6", "e0",
    ])
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,40}") {
        let _ = Quantity::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_quantity_like_text(s in "[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?[eEinumkKMGTP]{0,3}[-+]?[0-9]{0,4}") {
        let _ = Quantity::parse(&s);
    }

    #[test]
    fn canonical_text_is_a_fixed_point(mantissa in -1_000_000_000_i64..1_000_000_000, suffix in suffix()) {
        let x = q(&format!("{mantissa}{suffix}"));
        let text = x.to_string();
        let again = q(&text);
        prop_assert_eq!(&again, &x);
        prop_assert_eq!(again.to_string(), text);
    }

    #[test]
    fn decimals_round_trip(int in 0_i64..1_000_000, frac in 0_u32..1_000_000_000, suffix in suffix()) {
        let x = q(&format!("{int}.{frac:09}{suffix}"));
        let again = q(&x.to_string());
        prop_assert_eq!(again, x);
    }

    #[test]
    fn addition_is_commutative_and_invertible(a in -1_000_000_000_i64..1_000_000_000, b in -1_000_000_000_i64..1_000_000_000) {
        let (x, y) = (Quantity::from_milli(a, Format::DecimalSI), Quantity::from_milli(b, Format::BinarySI));
        prop_assert_eq!(&x + &y, &y + &x);
        prop_assert_eq!(&(&x + &y) - &y, x);
    }
}
