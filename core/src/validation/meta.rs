//! Validation of `ObjectMeta` (Kubernetes' `ValidateObjectMeta`).

use std::collections::BTreeMap;

use super::{FieldError, FieldPath};
use crate::meta::ObjectMeta;
use crate::names;

/// The most bytes all annotations of one object may hold together.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Checks `meta` for a kind whose names follow `name_rule` (which returns Kubernetes'
/// messages, empty when valid).
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    name_rule: fn(&str) -> Vec<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = meta.name.as_deref().unwrap_or("");
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    if name.is_empty() {
        if generate_name.is_empty() {
            errors.push(FieldError::required(
                path.child("name"),
                "name or generateName is required",
            ));
        } else {
            // A prefix: a trailing dash is allowed because a suffix follows it.
            let prefix = generate_name.strip_suffix('-').unwrap_or(generate_name);
            for msg in name_rule(prefix) {
                errors.push(FieldError::invalid(
                    path.child("generateName"),
                    generate_name,
                    msg,
                ));
            }
        }
    } else {
        for msg in name_rule(name) {
            errors.push(FieldError::invalid(path.child("name"), name, msg));
        }
    }
    let namespace = meta.namespace.as_deref().unwrap_or("");
    if namespaced {
        if namespace.is_empty() {
            errors.push(FieldError::required(path.child("namespace"), ""));
        } else {
            for msg in names::is_dns1123_label(namespace) {
                errors.push(FieldError::invalid(path.child("namespace"), namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errors.push(FieldError::forbidden(
            path.child("namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(g) = meta.generation
        && g < 0
    {
        errors.push(FieldError::invalid(
            path.child("generation"),
            g,
            "must be greater than or equal to 0",
        ));
    }
    errors.extend(labels_at(&meta.labels, || path.child("labels")));
    if !meta.annotations.is_empty() {
        errors.extend(validate_annotations(
            &meta.annotations,
            &path.child("annotations"),
        ));
    }
    if !meta.owner_references.is_empty() {
        errors.extend(validate_owner_references(
            meta,
            &path.child("ownerReferences"),
        ));
    }
    for (i, f) in meta.finalizers.iter().enumerate() {
        for msg in names::is_qualified_name(f) {
            errors.push(FieldError::invalid(
                path.child("finalizers").index(i),
                f,
                msg,
            ));
        }
    }
    errors
}

/// Checks label keys (qualified names) and values (label values).
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &FieldPath) -> Vec<FieldError> {
    labels_at(labels, || path.clone())
}

/// [`validate_labels`] with the path built only for an error (labels are checked on
/// every write, and are almost always valid).
pub(crate) fn labels_at(
    labels: &BTreeMap<String, String>,
    path: impl Fn() -> FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (k, v) in labels {
        for msg in names::is_qualified_name(k) {
            errors.push(FieldError::invalid(path(), k, msg));
        }
        for msg in names::is_valid_label_value(v) {
            errors.push(FieldError::invalid(path().key(k), v, msg));
        }
    }
    errors
}

/// `ValidateAnnotations`: qualified-name keys, 256 KiB in total.
pub fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut total = 0usize;
    for (k, v) in annotations {
        // Keys are checked lower-cased (Kubernetes' `strings.ToLower`); most are lower-case
        // ASCII already, which lower-casing leaves as it is.
        let lower = if k.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            std::borrow::Cow::Borrowed(k.as_str())
        } else {
            std::borrow::Cow::Owned(k.to_lowercase())
        };
        for msg in names::is_qualified_name(&lower) {
            errors.push(FieldError::invalid(path.clone(), k, msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errors.push(FieldError::too_long(
            path.clone(),
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    errors
}

fn validate_owner_references(meta: &ObjectMeta, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut controllers = 0;
    for (i, owner) in meta.owner_references.iter().enumerate() {
        let p = path.index(i);
        for (field, value) in [
            ("apiVersion", &owner.api_version),
            ("kind", &owner.kind),
            ("name", &owner.name),
            ("uid", &owner.uid),
        ] {
            if value.is_empty() {
                errors.push(FieldError::required(p.child(field), ""));
            }
        }
        if owner.controller == Some(true) {
            controllers += 1;
        }
    }
    if controllers > 1 {
        errors.push(FieldError::invalid(
            path.clone(),
            format!("{controllers} controllers"),
            "Only one reference can have Controller set to true",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::OwnerReference;

    fn check(meta: &ObjectMeta, namespaced: bool) -> Vec<String> {
        validate_object_meta(
            meta,
            namespaced,
            names::is_dns1123_subdomain,
            &FieldPath::new("metadata"),
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn name_or_generate_name_is_required() {
        let errs = check(&ObjectMeta::namespaced("default", ""), true);
        assert_eq!(
            errs,
            ["metadata.name: Required value: name or generateName is required"]
        );
        let meta = ObjectMeta {
            generate_name: Some("web-".into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        };
        assert!(check(&meta, true).is_empty());
    }

    #[test]
    fn names_follow_the_kind_rule() {
        let errs = check(&ObjectMeta::namespaced("default", "Web_1"), true);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with(
            "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain"
        ));
    }

    #[test]
    fn namespace_presence_follows_scope() {
        assert_eq!(
            check(&ObjectMeta::named("x"), true),
            ["metadata.namespace: Required value"]
        );
        assert_eq!(
            check(&ObjectMeta::namespaced("default", "x"), false),
            ["metadata.namespace: Forbidden: not allowed on this type"]
        );
        assert_eq!(check(&ObjectMeta::namespaced("Bad.NS", "x"), true).len(), 1);
    }

    #[test]
    fn labels_and_annotations_are_checked() {
        let meta = ObjectMeta::namespaced("default", "x")
            .with_label("app", "web")
            .with_label("bad key!", "v")
            .with_label("k", "-bad-");
        let errs = check(&meta, true);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("metadata.labels: Invalid value: \"bad key!\""));
        assert!(errs[1].starts_with("metadata.labels[k]: Invalid value: \"-bad-\""));
        let mut big = ObjectMeta::namespaced("default", "x");
        big.annotations
            .insert("a".into(), "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT));
        assert_eq!(
            check(&big, true),
            ["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn owner_references_need_identity_and_one_controller() {
        let owner = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        let mut meta = ObjectMeta::namespaced("default", "x");
        meta.owner_references = vec![owner.clone(), owner, OwnerReference::default()];
        let errs = check(&meta, true);
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e == "metadata.ownerReferences[2].uid: Required value")
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("Only one reference can have Controller set to true"))
        );
    }
}
