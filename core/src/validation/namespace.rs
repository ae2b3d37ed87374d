//! Validation of `Namespace` (`ValidateNamespace`).

use super::{FieldError, FieldPath};
use crate::api::Namespace;
use crate::names;

/// Finalizer names Kubernetes accepts without a `/` (`IsStandardFinalizerName`).
pub const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// Checks `spec.finalizers` (qualified names; a name without `/` must be standard).
pub fn namespace(ns: &Namespace) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec").child("finalizers");
    for finalizer in &ns.spec.finalizers {
        errors.extend(finalizer_name(finalizer, &path));
    }
    errors
}

/// `validateFinalizerName` (the whole list's path is reported, as Kubernetes does).
pub fn finalizer_name(finalizer: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = names::is_qualified_name(finalizer)
        .into_iter()
        .map(|msg| FieldError::invalid(path.clone(), finalizer, msg))
        .collect();
    if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
        errors.push(FieldError::invalid(
            path.clone(),
            finalizer,
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    #[test]
    fn defaulted_namespace_is_valid() {
        let mut ns = Namespace {
            metadata: ObjectMeta::named("team-a"),
            ..Namespace::default()
        };
        ns.apply_defaults();
        assert_eq!(validate(&ns), Ok(()));
    }

    #[test]
    fn finalizers_must_be_standard_or_qualified() {
        let mut ns = Namespace {
            metadata: ObjectMeta::named("team-a"),
            ..Namespace::default()
        };
        ns.spec.finalizers = vec!["example.com/cleanup".into(), "cleanup".into()];
        ns.apply_defaults();
        let errs = namespace(&ns);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path.as_str(), "spec.finalizers");
        assert_eq!(errs[0].kind, ErrorType::Invalid);
    }

    #[test]
    fn names_are_dns1123_labels() {
        assert!(Namespace::validate_name("team-a").is_empty());
        assert!(!Namespace::validate_name("team.a").is_empty());
    }
}
