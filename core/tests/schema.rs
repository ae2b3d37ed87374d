//! JSON Schemas exist for every built-in kind and describe the wire shape.

use keel_core::manifest::BUILTIN_KINDS;
use keel_core::schema;

#[test]
fn every_builtin_kind_has_a_schema_with_the_wire_fields() {
    let all = schema::all();
    assert_eq!(all.len(), BUILTIN_KINDS.len());
    for (_, kind) in BUILTIN_KINDS {
        let schema = schema::for_kind(kind).unwrap_or_else(|| panic!("no schema for {kind}"));
        let value = schema.as_value();
        let props = &value["properties"];
        for field in ["apiVersion", "kind", "metadata"] {
            assert!(
                props[field].is_object(),
                "{kind} schema lacks {field}: {value}"
            );
        }
        assert_eq!(value["type"], "object", "{kind}");
    }
    assert!(schema::for_kind("Gizmo").is_none());
}

#[test]
fn schemas_use_kubernetes_field_names_and_types() {
    let pod = serde_json::to_string(schema::for_kind("Pod").unwrap().as_value()).unwrap();
    for name in [
        "containers",
        "nodeName",
        "restartPolicy",
        "podIP",
        "terminationGracePeriodSeconds",
        "x-kubernetes-int-or-string",
    ] {
        assert!(pod.contains(name), "Pod schema lacks {name}");
    }
    let deployment =
        serde_json::to_string(schema::for_kind("Deployment").unwrap().as_value()).unwrap();
    assert!(deployment.contains("maxSurge") && deployment.contains("matchExpressions"));
}

#[test]
fn openapi_flavour_is_available_for_crds() {
    let schema = schema::openapi_schema_for::<keel_core::api::ConfigMap>();
    let text = serde_json::to_string(schema.as_value()).unwrap();
    assert!(text.contains("\"data\""), "{text}");
}
