//! A StatefulSet's revisions: named `<set>-<template hash>` like Kubernetes'
//! ControllerRevisions, and the templates of past revisions, remembered in memory so
//! pods below the partition can be recreated at the current revision.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use keel_core::api::{PodTemplateSpec, StatefulSet};

use crate::workload::template_hash;

/// The name of the revision of `set`'s current template.
pub fn update_revision_name(set: &StatefulSet) -> String {
    let collisions = set.status.as_ref().and_then(|s| s.collision_count);
    format!(
        "{}-{}",
        set.metadata.name_str(),
        template_hash(&set.spec.template, collisions)
    )
}

/// The current and the update revision of a sync.
#[derive(Clone, Debug)]
pub(super) struct Revisions {
    /// The revision of the pods not (yet) updated (`status.currentRevision`).
    pub current: String,
    /// Its template, if known.
    pub current_template: Option<PodTemplateSpec>,
    /// The revision being rolled out (`status.updateRevision`).
    pub update: String,
}

/// Templates of the revisions seen, by namespace and revision name.
#[derive(Debug, Default)]
pub(super) struct History {
    templates: Mutex<HashMap<(String, String), PodTemplateSpec>>,
}

impl History {
    /// Records `set`'s current template and returns the revisions of a sync: the
    /// update revision is the current template's; the current revision is
    /// `status.currentRevision`, or the update revision for a new set.
    pub(super) fn revisions(&self, set: &StatefulSet) -> Revisions {
        let ns = set.metadata.namespace_str().unwrap_or("").to_owned();
        let update = update_revision_name(set);
        let mut templates = self
            .templates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        templates.insert((ns.clone(), update.clone()), set.spec.template.clone());
        let current = set
            .status
            .as_ref()
            .and_then(|s| s.current_revision.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| update.clone());
        let current_template = templates.get(&(ns, current.clone())).cloned();
        Revisions {
            current,
            current_template,
            update,
        }
    }

    /// Forgets the revisions of `set` other than `keep` (after a rollout completes, or
    /// with `keep` empty once the set is deleted).
    pub(super) fn prune(&self, set: &StatefulSet, keep: &[&str]) {
        let ns = set.metadata.namespace_str().unwrap_or("");
        let prefix = format!("{}-", set.metadata.name_str());
        self.templates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(n, rev), _| {
                n != ns
                    || !rev.starts_with(&prefix)
                    || rev[prefix.len()..].contains('-')
                    || keep.contains(&rev.as_str())
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::StatefulSetStatus;
    use keel_core::meta::ObjectMeta;

    fn set(image: &str) -> StatefulSet {
        let mut s = StatefulSet {
            metadata: ObjectMeta::namespaced("ns", "web"),
            ..StatefulSet::default()
        };
        s.spec
            .template
            .metadata
            .labels
            .insert("image".into(), image.into());
        s
    }

    #[test]
    fn the_current_revision_keeps_its_template() {
        let h = History::default();
        let v1 = set("1");
        let r = h.revisions(&v1);
        assert_eq!(r.current, r.update);
        assert!(r.update.starts_with("web-"));
        let mut v2 = set("2");
        v2.status = Some(StatefulSetStatus {
            current_revision: Some(r.update.clone()),
            ..StatefulSetStatus::default()
        });
        let r2 = h.revisions(&v2);
        assert_ne!(r2.update, r.update);
        assert_eq!(r2.current, r.update);
        assert_eq!(r2.current_template, Some(v1.spec.template.clone()));
        h.prune(&v2, &[&r2.update]);
        assert_eq!(h.revisions(&v2).current_template, None);
    }
}
