//! Predicates: which changes of the controller's own kind are worth a reconcile
//! (controller-runtime's `predicate` package). A predicate sees the old state (`None`
//! for a new object) and the new one.

use keel_core::Resource;

/// Decides whether a change from `old` to `new` should queue the object.
pub type Predicate<K> = std::sync::Arc<dyn Fn(Option<&K>, &K) -> bool + Send + Sync>;

/// Queue new objects, and changes of `metadata.generation` (the spec) or of deletion
/// state; skip status-only and metadata-only writes (controller-runtime's
/// `GenerationChangedPredicate`, kube-runtime's `predicates::generation`).
pub fn generation<K: Resource>(old: Option<&K>, new: &K) -> bool {
    old.is_none_or(|old| {
        old.meta().generation != new.meta().generation
            || old.meta().deletion_timestamp != new.meta().deletion_timestamp
            || old.meta().finalizers != new.meta().finalizers
    })
}

/// Queue new objects and changes of labels.
pub fn labels<K: Resource>(old: Option<&K>, new: &K) -> bool {
    old.is_none_or(|old| old.meta().labels != new.meta().labels)
}

/// Queue new objects and changes of annotations.
pub fn annotations<K: Resource>(old: Option<&K>, new: &K) -> bool {
    old.is_none_or(|old| old.meta().annotations != new.meta().annotations)
}

/// Queue every change that the store recorded (a new `resourceVersion`).
pub fn resource_version<K: Resource>(old: Option<&K>, new: &K) -> bool {
    old.is_none_or(|old| old.meta().resource_version != new.meta().resource_version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::ConfigMap;
    use keel_core::meta::ObjectMeta;

    fn cm(generation: i64, label: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                generation: Some(generation),
                ..ObjectMeta::named("c").with_label("l", label)
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn generation_skips_writes_that_leave_the_spec_alone() {
        assert!(generation(None, &cm(1, "a")), "new objects pass");
        assert!(!generation(Some(&cm(1, "a")), &cm(1, "b")));
        assert!(generation(Some(&cm(1, "a")), &cm(2, "a")));
        let mut deleting = cm(1, "a");
        deleting.metadata.deletion_timestamp = Some(keel_core::meta::Time::epoch());
        assert!(generation(Some(&cm(1, "a")), &deleting), "deletion passes");
    }

    #[test]
    fn label_and_annotation_predicates() {
        assert!(labels(Some(&cm(1, "a")), &cm(1, "b")));
        assert!(!labels(Some(&cm(1, "a")), &cm(2, "a")));
        let mut annotated = cm(1, "a");
        annotated
            .metadata
            .annotations
            .insert("k".into(), "v".into());
        assert!(annotations(Some(&cm(1, "a")), &annotated));
        assert!(!annotations(Some(&cm(1, "a")), &cm(1, "b")));
        assert!(resource_version(None, &cm(1, "a")));
    }
}
