//! Validation of `ControllerRevision` (Kubernetes' `ValidateControllerRevision` and
//! `ValidateControllerRevisionUpdate`).

use super::common::non_negative;
use super::{FieldError, FieldPath};
use crate::api::ControllerRevision;

/// `data` is required (not null) and `revision` ≥ 0. The name (a DNS-1123 subdomain)
/// is checked with the metadata.
pub fn controller_revision(rev: &ControllerRevision) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if rev.data.is_null() {
        errors.push(FieldError::required(
            FieldPath::new("data"),
            "data is mandatory",
        ));
    }
    errors.extend(non_negative(rev.revision, &FieldPath::new("revision")));
    errors
}

/// On update, `data` may not change; `revision` may (controllers raise it to roll back
/// to an older state, as Kubernetes' `UpdateControllerRevision`).
pub fn controller_revision_update(
    new: &ControllerRevision,
    old: &ControllerRevision,
) -> Vec<FieldError> {
    if new.data == old.data {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            FieldPath::new("data"),
            "(object)",
            "field is immutable",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ObjectMeta;
    use crate::validation::validate;

    fn rev(name: &str, data: serde_json::Value, revision: i64) -> ControllerRevision {
        ControllerRevision {
            metadata: ObjectMeta::namespaced("default", name),
            data,
            revision,
        }
    }

    #[test]
    fn data_is_required_and_revision_non_negative() {
        let good = rev("web-abc", serde_json::json!({"spec": {}}), 1);
        assert!(validate(&good).is_ok());
        let errors = controller_revision(&rev("web-abc", serde_json::Value::Null, -1));
        let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(paths, ["data", "revision"]);
        assert!(errors[0].detail.contains("mandatory"));
        let err = validate(&rev("Web_ABC", serde_json::json!({}), 0)).unwrap_err();
        assert!(err.to_string().contains("metadata.name"), "{err}");
    }

    #[test]
    fn data_is_immutable_but_revision_may_move() {
        let old = rev("web-abc", serde_json::json!({"a": 1}), 1);
        assert!(
            controller_revision_update(&rev("web-abc", serde_json::json!({"a": 1}), 5), &old)
                .is_empty()
        );
        let errors =
            controller_revision_update(&rev("web-abc", serde_json::json!({"a": 2}), 1), &old);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path.to_string(), "data");
    }
}
