//! Validation as the Kubernetes API server does it for the fields Keel models.
//!
//! [`validate`] checks an object's metadata by the kind's rules and then calls the kind's
//! own [`Resource::validate_fields`]; every problem is reported, each with its field path,
//! in one [`ValidationError`] naming the object.

pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod common;
pub mod config;
pub mod controller_revision;
pub mod endpoint_slice;
mod error;
pub mod event;
pub mod lease;
mod meta;
pub mod namespace;
pub mod node;
mod path;
pub mod persistent_volume;
pub mod persistent_volume_claim;
pub mod pod;
pub mod policy;
pub mod quota;
pub mod rbac;
pub mod scheduling;
pub mod service;
pub mod storage_class;

pub use error::{ErrorType, FieldError, ValidationError};
pub(crate) use meta::labels_at;
pub use meta::{validate_annotations, validate_labels, validate_object_meta};
pub use path::FieldPath;

use crate::Resource;

/// Validates `obj` as the API server would on create: metadata, then the kind's fields.
pub fn validate<K: Resource>(obj: &K) -> Result<(), ValidationError> {
    let mut errors = validate_object_meta(
        obj.meta(),
        K::NAMESPACED,
        K::validate_name,
        &FieldPath::new("metadata"),
    );
    errors.extend(obj.validate_fields());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(error_for(obj, errors))
    }
}

/// Wraps field errors into a [`ValidationError`] naming `obj`.
pub fn error_for<K: Resource>(obj: &K, errors: Vec<FieldError>) -> ValidationError {
    let meta = obj.meta();
    let name = match (&meta.name, &meta.generate_name) {
        (Some(n), _) if !n.is_empty() => n.clone(),
        (_, Some(g)) => g.clone(),
        _ => String::new(),
    };
    ValidationError {
        kind: K::KIND.to_owned(),
        namespace: if K::NAMESPACED {
            meta.namespace.clone()
        } else {
            None
        },
        name,
        errors,
    }
}

/// Helpers for the validation tests: objects from YAML, defaulted as on create.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ErrorType, FieldError};
    use crate::Resource;

    /// Parses `yaml` as a `K` and applies its defaults.
    pub fn defaulted<K: Resource>(yaml: &str) -> K {
        let mut obj: K = serde_saphyr::from_str(yaml).expect("test YAML parses");
        obj.apply_defaults();
        obj
    }

    /// `(path, kind)` of every error.
    pub fn summary(errors: &[FieldError]) -> Vec<(String, ErrorType)> {
        errors
            .iter()
            .map(|e| (e.path.to_string(), e.kind))
            .collect()
    }

    /// Asserts that validating `obj` finds exactly the `(path, kind)` pairs given.
    #[track_caller]
    pub fn assert_errors<K: Resource>(obj: &K, expected: &[(&str, ErrorType)]) {
        let got = summary(&obj.validate_fields());
        let want: Vec<(String, ErrorType)> = expected
            .iter()
            .map(|(p, k)| ((*p).to_owned(), *k))
            .collect();
        assert_eq!(got, want, "errors of {obj:?}");
    }
}
