//! Manifests in and out: every shipped manifest and every kubectl-generated fixture loads,
//! and writing it back loses nothing.

use std::path::{Path, PathBuf};

use keel_core::manifest::{self, KindInfo, KindRegistry, Object};
use keel_core::quantity::Quantity;
use serde_json::Value;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files
}

fn all_manifests() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = yaml_files(&root.join("../examples/manifests"));
    files.extend(yaml_files(&root.join("tests/fixtures/kubectl")));
    files
}

/// `a` and `b` say the same thing: equal but for `null`s (absent) and quantities written
/// as numbers or in another (equal) form.
fn is_absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys = x.keys().chain(y.keys());
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                same(va, vb, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                same(va, vb, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if a == b => Ok(()),
        // An empty map or list is how an absent field prints (`spec: {}`, `metadata: {}`).
        _ if is_absent(a) && is_absent(b) => Ok(()),
        // Embedded claims carry their type as the API server prints them.
        (Value::Null, Value::String(_))
            if path.contains("volumeClaimTemplates[")
                && matches!(path.rsplit('.').next(), Some("apiVersion" | "kind")) =>
        {
            Ok(())
        }
        _ => {
            let as_qty = |v: &Value| match v {
                Value::String(s) => s.parse::<Quantity>().ok(),
                Value::Number(n) => n.to_string().parse::<Quantity>().ok(),
                _ => None,
            };
            match (as_qty(a), as_qty(b)) {
                (Some(x), Some(y)) if x == y => Ok(()),
                _ => Err(format!("{path}: {a} != {b}")),
            }
        }
    }
}

#[test]
fn every_manifest_round_trips_without_loss() {
    for file in all_manifests() {
        let text = std::fs::read_to_string(&file).unwrap();
        let objects =
            manifest::from_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let originals: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        let originals: Vec<Value> = originals.into_iter().filter(|v| !v.is_null()).collect();
        assert_eq!(objects.len(), originals.len(), "{}", file.display());
        for (object, original) in objects.iter().zip(&originals) {
            same(original, &object.to_json(), "")
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        // YAML out and in again gives the same typed objects.
        let yaml = manifest::to_yaml(&objects).unwrap();
        let again = manifest::from_yaml(&yaml)
            .unwrap_or_else(|e| panic!("{}: {e}\n{yaml}", file.display()));
        assert_eq!(again, objects, "{}", file.display());
        // And so does JSON.
        let json = manifest::to_json(&objects).unwrap();
        assert_eq!(
            manifest::from_yaml(&json).unwrap(),
            objects,
            "{}",
            file.display()
        );
    }
}

#[test]
fn every_shipped_manifest_is_valid_after_defaulting() {
    for file in all_manifests() {
        let text = std::fs::read_to_string(&file).unwrap();
        for mut object in manifest::from_yaml(&text).unwrap() {
            if object.namespace().is_none() && object.is_namespaced() == Some(true) {
                object.meta_mut().namespace = Some("default".into());
            }
            object.apply_defaults();
            let once = object.clone();
            object.apply_defaults();
            assert_eq!(
                object,
                once,
                "defaulting is idempotent: {} {}",
                object.kind(),
                object.name()
            );
            if let Err(e) = object.validate() {
                panic!("{}: {e}", file.display());
            }
        }
    }
}

#[test]
fn objects_report_kind_name_and_namespace() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/manifests/web.yaml"),
    )
    .unwrap();
    let objects = manifest::from_yaml(&text).unwrap();
    let ids: Vec<(&str, &str, Option<&str>)> = objects
        .iter()
        .map(|o| (o.kind(), o.name(), o.namespace()))
        .collect();
    assert_eq!(
        ids,
        [
            ("Deployment", "web", Some("default")),
            ("Service", "web", Some("default"))
        ]
    );
    assert_eq!(objects[0].api_version(), "apps/v1");
    let json = serde_json::to_value(&objects[1]).unwrap();
    assert_eq!(json["apiVersion"], "v1");
    assert_eq!(json["kind"], "Service");
    assert_eq!(json["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn unknown_fields_are_errors_naming_their_path() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        imagePullPolcy: Always\n";
    let err = manifest::from_yaml(text).unwrap_err();
    assert_eq!(err.document, 1);
    assert_eq!(err.kind.as_deref(), Some("Deployment"));
    assert_eq!(err.object.as_deref(), Some("prod/web"));
    assert_eq!(err.path, "spec.template.spec.containers[0].imagePullPolcy");
    let shown = err.to_string();
    assert!(shown.starts_with("document 1 (Deployment prod/web): spec.template.spec.containers[0].imagePullPolcy: unknown field `imagePullPolcy`"), "{shown}");
}

#[test]
fn wrong_types_and_bad_quantities_name_the_field() {
    let text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  replicas: three\n";
    let err = manifest::from_yaml(text).unwrap_err();
    assert_eq!(err.document, 2);
    assert_eq!(err.path, "spec.replicas");
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    resources: {requests: {cpu: 1.1.1}}\n";
    let err = manifest::from_yaml(text).unwrap_err();
    assert_eq!(err.path, "spec.containers[0].resources.requests.cpu");
    assert!(err.reason.contains("1.1.1"), "{err}");
}

#[test]
fn unknown_kinds_and_versions_are_clear_errors() {
    let err =
        manifest::from_yaml("apiVersion: v1\nkind: Gizmo\nmetadata: {name: g}\n").unwrap_err();
    assert_eq!(err.path, "kind");
    assert!(err.reason.contains("unknown kind \"Gizmo\""), "{err}");
    assert!(
        err.reason.contains("Deployment") && err.reason.contains("Pod"),
        "lists the known kinds: {err}"
    );
    let err = manifest::from_yaml(
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\n",
    )
    .unwrap_err();
    assert_eq!(err.path, "apiVersion");
    assert!(err.reason.contains("apps/v1"), "{err}");
    let err = manifest::from_yaml("kind: Pod\nmetadata: {name: p}\n").unwrap_err();
    assert_eq!(err.path, "apiVersion");
    let err = manifest::from_yaml("- just\n- a list\n").unwrap_err();
    assert!(err.reason.contains("mapping"), "{err}");
    let err = manifest::from_yaml("a: [unclosed\n").unwrap_err();
    assert!(err.reason.contains("invalid YAML"), "{err}");
}

#[test]
fn lists_json_and_empty_documents() {
    let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}]}"#;
    let objects = manifest::from_yaml(list).unwrap();
    assert_eq!(
        objects.iter().map(Object::kind).collect::<Vec<_>>(),
        ["ConfigMap", "Namespace"]
    );
    let objects = manifest::from_yaml(
        "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n",
    )
    .unwrap();
    assert_eq!(objects.len(), 1);
    assert!(manifest::from_yaml("").unwrap().is_empty());
}

#[test]
fn registered_kinds_load_as_dynamic_objects() {
    let text = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c, namespace: default}\nspec: {cronSpec: '* * * * */5'}\n";
    assert!(manifest::from_yaml(text).is_err());
    let registry = {
        let mut r = KindRegistry::new();
        r.register(KindInfo::untyped(
            "stable.example.com/v1",
            "CronTab",
            "crontabs",
            true,
        ));
        r
    };
    let objects = manifest::from_yaml_with(text, &registry).unwrap();
    let Object::Dynamic(d) = &objects[0] else {
        panic!("expected a dynamic object")
    };
    assert_eq!(d.fields["spec"]["cronSpec"], "* * * * */5");
    assert_eq!(objects[0].namespace(), Some("default"));
    let back = serde_json::to_value(&objects[0]).unwrap();
    assert_eq!(back["kind"], "CronTab");
    assert_eq!(back["spec"]["cronSpec"], "* * * * */5");
}

#[test]
fn typed_objects_convert_back_out_of_object() {
    let objects =
        manifest::from_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")
            .unwrap();
    let object = objects.into_iter().next().unwrap();
    let object = object
        .into_resource::<keel_core::api::Secret>()
        .unwrap_err();
    let cm = object.into_resource::<keel_core::api::ConfigMap>().unwrap();
    assert_eq!(cm.data["k"], "v");
}
