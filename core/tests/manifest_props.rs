//! Property tests: reading arbitrary input never panics.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = keel_core::manifest::from_yaml(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(
        kind in prop::sample::select(vec!["Pod", "Deployment", "Service", "ConfigMap", "Job", "Node", "Gizmo"]),
        field in "[a-zA-Z]{1,12}",
        value in "[ -~]{0,20}",
    ) {
        let text = format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\nspec:\n  {field}: {value:?}\n");
        let _ = keel_core::manifest::from_yaml(&text);
        let json = format!("{{\"apiVersion\":\"v1\",\"kind\":\"{kind}\",\"metadata\":{{\"name\":\"x\"}},\"{field}\":{value:?}}}");
        let _ = keel_core::manifest::from_yaml(&json);
    }
}
