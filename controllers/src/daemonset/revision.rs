//! A DaemonSet's revision and rolling-update budget: the `controller-revision-hash`
//! and `pod-template-generation` labels that mark a pod as updated, and `maxSurge` /
//! `maxUnavailable` scaled to the number of nodes.

use keel_core::api::{DaemonSet, Pod, PodTemplateSpec};

use super::placement::add_daemon_tolerations;

/// The label holding the hash of the template a pod was made from.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// The label holding the DaemonSet template generation a pod was made from.
pub const POD_TEMPLATE_GENERATION: &str = "pod-template-generation";
/// The annotation the API server keeps a DaemonSet's template generation in; when
/// absent, `metadata.generation` stands in for it.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// What makes a daemon pod current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Revision {
    /// The hash of the current ControllerRevision (the template's, with the collision
    /// count).
    pub hash: String,
    /// The template generation, if known.
    pub generation: Option<String>,
}

impl Revision {
    /// The revision of `ds`'s current template, whose ControllerRevision has `hash`.
    pub(super) fn of(ds: &DaemonSet, hash: &str) -> Revision {
        let generation = ds
            .metadata
            .annotations
            .get(TEMPLATE_GENERATION_ANNOTATION)
            .cloned()
            .or_else(|| ds.metadata.generation.map(|g| g.to_string()));
        Revision {
            hash: hash.to_owned(),
            generation,
        }
    }

    /// Whether `pod` runs this revision (Kubernetes' `IsPodUpdated`): its hash label
    /// matches, or its template-generation label does.
    pub(super) fn is_updated(&self, pod: &Pod) -> bool {
        let labels = &pod.metadata.labels;
        labels.get(CONTROLLER_REVISION_HASH) == Some(&self.hash)
            || self
                .generation
                .as_ref()
                .is_some_and(|g| labels.get(POD_TEMPLATE_GENERATION) == Some(g))
    }

    /// The template pods of this revision are made from (Kubernetes'
    /// `CreatePodTemplate`): the DaemonSet's, with the daemon tolerations and the two
    /// revision labels.
    pub(super) fn pod_template(&self, ds: &DaemonSet) -> PodTemplateSpec {
        let mut t = ds.spec.template.clone();
        add_daemon_tolerations(&mut t.spec);
        if let Some(g) = &self.generation {
            t.metadata
                .labels
                .insert(POD_TEMPLATE_GENERATION.to_owned(), g.clone());
        }
        t.metadata
            .labels
            .insert(CONTROLLER_REVISION_HASH.to_owned(), self.hash.clone());
        t
    }
}

/// Whether `ds` updates by `RollingUpdate` (the default) rather than `OnDelete`.
pub(super) fn is_rolling(ds: &DaemonSet) -> bool {
    ds.spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t != "OnDelete")
}

/// `maxSurge` of `ds` for `desired` nodes, rounded up (0 unless rolling).
pub(super) fn surge_count(ds: &DaemonSet, desired: i32) -> Result<i32, String> {
    rolling_value(ds, desired, |r| r.max_surge.as_ref(), 0)
}

/// `maxUnavailable` of `ds` for `desired` nodes, rounded up (default 1).
pub(super) fn unavailable_count(ds: &DaemonSet, desired: i32) -> Result<i32, String> {
    rolling_value(ds, desired, |r| r.max_unavailable.as_ref(), 1)
}

fn rolling_value(
    ds: &DaemonSet,
    desired: i32,
    field: impl Fn(&keel_core::api::RollingUpdateDaemonSet) -> Option<&keel_core::intstr::IntOrString>,
    default: i32,
) -> Result<i32, String> {
    if !is_rolling(ds) {
        return Ok(0);
    }
    let value = ds
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(field);
    match value {
        None => Ok(default),
        Some(v) => v.scaled_value(desired, true).map_err(|e| {
            format!(
                "DaemonSet {}: spec.updateStrategy.rollingUpdate: {e}",
                ds.metadata.name_str()
            )
        }),
    }
}

/// Whether `ds` lets a new pod start beside an old one (Kubernetes' `AllowsSurge`).
pub(super) fn max_surge_allowed(ds: &DaemonSet) -> bool {
    surge_count(ds, 1).is_ok_and(|s| s != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use keel_core::intstr::IntOrString;
    use keel_core::meta::ObjectMeta;

    fn ds(unavailable: Option<IntOrString>, surge: Option<IntOrString>) -> DaemonSet {
        let mut ds = DaemonSet::default();
        ds.metadata.generation = Some(3);
        ds.spec.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: unavailable,
                max_surge: surge,
            }),
        });
        ds
    }

    #[test]
    fn budgets_round_up_percentages() {
        let d = ds(Some("30%".into()), Some("10%".into()));
        assert_eq!(unavailable_count(&d, 10), Ok(3));
        assert_eq!(
            unavailable_count(&d, 4),
            Ok(2),
            "30% of 4 is 1.2, rounded up"
        );
        assert_eq!(surge_count(&d, 4), Ok(1));
        assert!(max_surge_allowed(&d));
        let d = ds(None, None);
        assert_eq!(
            (unavailable_count(&d, 10), surge_count(&d, 10)),
            (Ok(1), Ok(0))
        );
        assert!(!max_surge_allowed(&d));
        let mut on_delete = ds(Some(IntOrString::Int(5)), None);
        on_delete.spec.update_strategy.as_mut().unwrap().type_ = Some("OnDelete".into());
        assert!(!is_rolling(&on_delete));
        assert_eq!(unavailable_count(&on_delete, 10), Ok(0));
        assert!(unavailable_count(&ds(Some("x%".into()), None), 3).is_err());
    }

    #[test]
    fn pods_are_updated_by_hash_or_generation() {
        let d = ds(None, None);
        let rev = Revision::of(&d, "h1");
        assert_eq!(rev.generation.as_deref(), Some("3"));
        let t = rev.pod_template(&d);
        assert_eq!(t.metadata.labels[CONTROLLER_REVISION_HASH], "h1");
        assert_eq!(t.metadata.labels[POD_TEMPLATE_GENERATION], "3");
        assert_eq!(t.spec.tolerations.len(), 6);
        let pod = |labels: &[(&str, &str)]| {
            let mut m = ObjectMeta::named("p");
            for (k, v) in labels {
                m = m.with_label(*k, *v);
            }
            Pod {
                metadata: m,
                ..Pod::default()
            }
        };
        assert!(rev.is_updated(&pod(&[(CONTROLLER_REVISION_HASH, &rev.hash)])));
        assert!(rev.is_updated(&pod(&[(POD_TEMPLATE_GENERATION, "3")])));
        assert!(!rev.is_updated(&pod(&[
            (CONTROLLER_REVISION_HASH, "x"),
            (POD_TEMPLATE_GENERATION, "2")
        ])));
    }
}
