use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn valid_selectors_print_canonically() {
    let table = [
        ("", ""),
        ("   ", ""),
        ("x=a", "x=a"),
        ("x = a", "x=a"),
        ("x==a", "x==a"),
        ("x!=a", "x!=a"),
        ("x != a", "x!=a"),
        ("x", "x"),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x>1", "x>1"),
        ("x<1", "x<1"),
        ("x > 10", "x>10"),
        ("x in (a,b)", "x in (a,b)"),
        ("x in (b,a)", "x in (a,b)"),
        ("x in(b,a)", "x in (a,b)"),
        ("x in ( a , b )", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x in (a,a)", "x in (a)"),
        ("x in ()", "x in ()"),
        ("x in (,a)", "x in (,a)"),
        ("x in (a,)", "x in (,a)"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("x in (,)", "x in ()"),
        ("x=", "x="),
        ("x=,y=a", "x=,y=a"),
        ("x=a,y=b", "x=a,y=b"),
        ("y=b,x=a", "x=a,y=b"),
        ("z,!y,x in (c,b)", "x in (b,c),!y,z"),
        ("x=a,x=b", "x=a,x=b"),
        ("x\t=\ta", "x=a"),
        ("x=a\n,y", "x=a,y"),
        ("a.b/c=d", "a.b/c=d"),
        ("example.com/Key_1=Value.2", "example.com/Key_1=Value.2"),
        ("in=notin", "in=notin"),
        ("notin in (in)", "notin in (in)"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("x=in", "x=in"),
        (
            "env in (prod, staging),tier notin (frontend),!canary,replicas>2",
            "!canary,env in (prod,staging),replicas>2,tier notin (frontend)",
        ),
        (
            "x=a,y!=b,z in (c),w notin (d),v,!u,t>1,s<2",
            "s<2,t>1,!u,v,w notin (d),x=a,y!=b,z in (c)",
        ),
    ];
    for (input, canonical) in table {
        let s = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(s.to_string(), canonical, "{input:?}");
        assert_eq!(
            Selector::parse(canonical).unwrap(),
            s,
            "{canonical:?} parses back"
        );
    }
}

#[test]
fn invalid_selectors_are_errors_with_kubernetes_messages() {
    let table = [
        ("x=a||y=b", "values[0]: Invalid value: \"a||y\""),
        ("x>-1", "values[0]: Invalid value: \"-1\""),
        ("x==a==b", "expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        (
            "x<a",
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>a",
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("x>1.5", "the value must be an integer"),
        ("x>", "the value must be an integer"),
        (
            "=a",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            ",",
            "found ',', expected: !, identifier, or 'end of string'",
        ),
        ("x,", "found '', expected: identifier after ','"),
        ("x,,y", "found ',', expected: identifier after ','"),
        ("x!", "found '!', expected: in, notin, =, ==, !=, gt, lt"),
        ("x in a", "found 'a' expected: '('"),
        ("x in (a b)", "found 'b', expected: ',' or ')'"),
        ("x in (a", "found '', expected: ',' or ')'"),
        ("x in (", "found '', expected: ',', ')' or identifier"),
        ("x in (=)", "found '=', expected: ',', ')' or identifier"),
        ("x notin", "found '' expected: '('"),
        ("x=(a)", "found '(', expected: identifier"),
        ("x y", "found 'y', expected: in, notin, =, ==, !=, gt, lt"),
        ("!", "found '', expected: identifier"),
        ("!!x", "found '!', expected: identifier"),
        ("-x=a", "key: Invalid value: \"-x\""),
        ("x/y/z=a", "key: Invalid value"),
        ("x=-a", "values[0]: Invalid value: \"-a\""),
        ("x in (a,-b)", "values[0]: Invalid value: \"-b\""),
        ("x=a b", "found 'b', expected: ',' or 'end of string'"),
    ];
    for (input, message) in table {
        let err = Selector::parse(input).unwrap_err();
        assert!(err.to_string().contains(message), "{input:?}: {err}");
        if message.starts_with("found") && !input.is_empty() && input != "," && input != "=a" {
            assert!(
                err.to_string().starts_with("unable to parse requirement")
                    || !err.to_string().contains("requirement"),
                "{input:?}: {err}"
            );
        }
    }
    let long_key = format!("{}=a", "k".repeat(64));
    assert!(
        Selector::parse(&long_key)
            .unwrap_err()
            .to_string()
            .contains("name part must be no more than 63 characters")
    );
    let long_value = format!("k={}", "v".repeat(64));
    assert!(
        Selector::parse(&long_value)
            .unwrap_err()
            .to_string()
            .contains("must be no more than 63 characters")
    );
}

#[test]
fn matching_follows_each_operator() {
    let set = labels(&[("x", "a"), ("n", "5"), ("e", "")]);
    let table = [
        ("x=a", true),
        ("x=b", false),
        ("x==a", true),
        ("y=a", false),
        ("x!=a", false),
        ("x!=b", true),
        ("y!=a", true),
        ("x in (a,b)", true),
        ("x in (b,c)", false),
        ("y in (a)", false),
        ("x notin (a)", false),
        ("x notin (b)", true),
        ("y notin (a)", true),
        ("x", true),
        ("y", false),
        ("!x", false),
        ("!y", true),
        ("n>4", true),
        ("n>5", false),
        ("n<6", true),
        ("n<5", false),
        ("n>0", true),
        ("x>1", false),
        ("y>1", false),
        ("y<1", false),
        ("e=", true),
        ("e in ()", true),
        ("x in ()", false),
        ("x=a,n>4,!y", true),
        ("x=a,n>5", false),
        ("", true),
        ("x=a,x=b", false),
    ];
    for (selector, expected) in table {
        assert_eq!(
            Selector::parse(selector).unwrap().matches(&set),
            expected,
            "{selector:?}"
        );
    }
    assert!(Selector::everything().matches(&set));
    assert!(!Selector::nothing().matches(&set));
    assert!(Selector::nothing().is_nothing() && Selector::nothing().to_string().is_empty());
}

#[test]
fn requirements_validate_like_new_requirement() {
    assert!(
        Requirement::new("x", Operator::In, Vec::<String>::new())
            .unwrap_err()
            .to_string()
            .contains("values set can't be empty")
    );
    assert!(
        Requirement::new("x", Operator::Equals, ["a", "b"])
            .unwrap_err()
            .to_string()
            .contains("exact-match compatibility requires one single value")
    );
    assert!(
        Requirement::new("x", Operator::Exists, ["a"])
            .unwrap_err()
            .to_string()
            .contains("values set must be empty")
    );
    assert!(
        Requirement::new("x", Operator::GreaterThan, ["1", "2"])
            .unwrap_err()
            .to_string()
            .contains("exactly one value is required")
    );
    assert!(Requirement::new("x y", Operator::Exists, Vec::<String>::new()).is_err());
    let r = Requirement::new("x", Operator::In, ["b", "a", "b"]).unwrap();
    assert_eq!(r.values(), ["a", "b"]);
    assert_eq!(r.to_string(), "x in (a,b)");
    assert_eq!(r.key(), "x");
    assert_eq!(r.operator(), Operator::In);
    let s = Selector::everything()
        .and(r)
        .and(Requirement::new("a", Operator::Exists, Vec::<String>::new()).unwrap());
    assert_eq!(s.to_string(), "a,x in (a,b)");
}

#[test]
fn exact_match_and_from_labels() {
    let s = Selector::parse("x=a,y in (b),z in (c,d),w!=e").unwrap();
    assert_eq!(s.requires_exact_match("x"), Some("a"));
    assert_eq!(s.requires_exact_match("y"), Some("b"));
    assert_eq!(s.requires_exact_match("z"), None);
    assert_eq!(s.requires_exact_match("w"), None);
    let s = Selector::from_labels(&labels(&[("b", "2"), ("a", "1")]));
    assert_eq!(s.to_string(), "a=1,b=2");
    assert!(s.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "3")])));
    assert!(!s.matches(&labels(&[("a", "1")])));
}

#[test]
fn label_selectors_convert_like_kubernetes() {
    let empty = LabelSelector::default();
    assert!(empty.to_selector().unwrap().is_empty());
    assert!(empty.matches(&labels(&[("any", "thing")])));
    let ls: LabelSelector = serde_json::from_value(serde_json::json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "zone", "operator": "Exists"}
        ]
    }))
    .unwrap();
    let s = ls.to_selector().unwrap();
    assert_eq!(
        s.to_string(),
        "app=web,!canary,env notin (dev),tier in (api,web),zone"
    );
    assert!(ls.matches(&labels(&[("app", "web"), ("tier", "api"), ("zone", "a")])));
    assert!(!ls.matches(&labels(&[
        ("app", "web"),
        ("tier", "api"),
        ("zone", "a"),
        ("canary", "1")
    ])));
    let back = serde_json::to_value(&ls).unwrap();
    assert_eq!(
        back["matchExpressions"][1],
        serde_json::json!({"key": "canary", "operator": "DoesNotExist"})
    );
    let bad: LabelSelector = serde_json::from_value(serde_json::json!({
        "matchExpressions": [{"key": "tier", "operator": "In"}]
    }))
    .unwrap();
    assert!(
        bad.to_selector()
            .unwrap_err()
            .to_string()
            .contains("values set can't be empty")
    );
    assert!(!bad.matches(&labels(&[])));
    let bad = LabelSelector::from_match_labels([("app", "-bad-")]);
    assert!(bad.to_selector().is_err());
    let err =
        serde_json::from_value::<LabelSelector>(serde_json::json!({"matchLabel": {}})).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `matchLabel`"),
        "{err}"
    );
    let err = serde_json::from_value::<LabelSelector>(
        serde_json::json!({"matchExpressions": [{"key": "a", "operator": "Maybe"}]}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("Maybe"), "{err}");
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9]{0,8}",
        "[a-z]{1,5}\\.[a-z]{1,5}/[A-Za-z][A-Za-z0-9_.-]{0,6}[A-Za-z0-9]",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9]([A-Za-z0-9_.-]{0,6}[A-Za-z0-9])?"
    ]
}

fn requirement() -> impl Strategy<Value = Requirement> {
    (
        key(),
        0..9_u8,
        prop::collection::vec(value(), 1..4),
        0_i64..100,
    )
        .prop_map(|(k, op, vals, n)| {
            let (op, values): (Operator, Vec<String>) = match op {
                0 => (Operator::Equals, vec![vals[0].clone()]),
                1 => (Operator::DoubleEquals, vec![vals[0].clone()]),
                2 => (Operator::NotEquals, vec![vals[0].clone()]),
                3 => (Operator::In, vals),
                4 => (Operator::NotIn, vals),
                5 => (Operator::Exists, vec![]),
                6 => (Operator::DoesNotExist, vec![]),
                7 => (Operator::GreaterThan, vec![n.to_string()]),
                _ => (Operator::LessThan, vec![n.to_string()]),
            };
            Requirement::new(&k, op, values).unwrap()
        })
}

proptest! {
    #[test]
    fn display_parses_back_to_the_same_selector(reqs in prop::collection::vec(requirement(), 0..5), set in prop::collection::btree_map(key(), value(), 0..5)) {
        let s = reqs.into_iter().fold(Selector::everything(), Selector::and);
        let text = s.to_string();
        let again = Selector::parse(&text).unwrap();
        prop_assert_eq!(again.to_string(), text);
        prop_assert_eq!(again.matches(&set), s.matches(&set));
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,60}") {
        let _ = Selector::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_selector_like_text(s in "[a-z!=<>(), ]{0,40}") {
        let _ = Selector::parse(&s);
    }
}
