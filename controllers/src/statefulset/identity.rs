//! A StatefulSet pod's stable identity: its name `<set>-<ordinal>`, the
//! `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index` labels, its
//! hostname and subdomain, and its claims `<template>-<set>-<ordinal>` (Kubernetes'
//! `newStatefulSetPod`, `setIdentity`, `updateStorage`, `getPersistentVolumeClaims`).

use keel_core::api::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, StatefulSet,
    Volume,
};
use keel_core::meta::ObjectMeta;

use crate::workload::pod_from_template;

/// The label naming the pod, so a Service can select one pod of the set.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// The label holding the name of the revision a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// The first ordinal of `set` (`spec.ordinals.start`, default 0).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec
        .ordinals
        .as_ref()
        .and_then(|o| o.start)
        .unwrap_or(0)
        .max(0)
}

/// `spec.replicas` of `set` (default 1, never negative).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.replicas.unwrap_or(1).max(0)
}

/// The name of `set`'s pod with `ordinal`.
pub fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", set.metadata.name_str())
}

/// The ordinal in a pod name `<set>-<ordinal>` of `set`, if it is one.
pub fn ordinal_of(set: &StatefulSet, pod_name: &str) -> Option<i32> {
    let (parent, ordinal) = pod_name.rsplit_once('-')?;
    if parent != set.metadata.name_str()
        || ordinal.is_empty()
        || !ordinal.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    ordinal.parse().ok()
}

/// The name of the claim from `template` for `set`'s pod with `ordinal`.
pub fn claim_name(template: &PersistentVolumeClaim, set: &StatefulSet, ordinal: i32) -> String {
    format!(
        "{}-{}-{ordinal}",
        template.metadata.name_str(),
        set.metadata.name_str()
    )
}

/// The claims of `set`'s pod with `ordinal`, one per `volumeClaimTemplate`: the
/// template's spec and labels plus the set's `matchLabels`, in the set's namespace.
pub fn claims(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    set.spec
        .volume_claim_templates
        .iter()
        .map(|t| {
            let mut labels = t.metadata.labels.clone();
            labels.extend(set.spec.selector.match_labels.clone());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(t, set, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels,
                    annotations: t.metadata.annotations.clone(),
                    ..ObjectMeta::default()
                },
                spec: t.spec.clone(),
                ..PersistentVolumeClaim::default()
            }
        })
        .collect()
}

/// `set`'s pod with `ordinal` from `template`, labelled with `revision`: its identity
/// labels, hostname and subdomain, and a volume per claim template (named after the
/// template, replacing a template volume of that name) pointing at its claim.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let name = pod_name(set, ordinal);
    let mut pod = pod_from_template(template, set, Some(name));
    set_identity(set, &mut pod, ordinal);
    pod.metadata
        .labels
        .insert(REVISION_LABEL.to_owned(), revision.to_owned());
    let mut volumes: Vec<Volume> = set
        .spec
        .volume_claim_templates
        .iter()
        .map(|t| Volume {
            name: t.metadata.name_str().to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(t, set, ordinal),
                read_only: Some(false),
            }),
            ..Volume::default()
        })
        .collect();
    let own = |v: &Volume| volumes.iter().any(|c| c.name == v.name);
    let rest: Vec<Volume> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| !own(v))
        .cloned()
        .collect();
    volumes.extend(rest);
    pod.spec.volumes = volumes;
    pod
}

/// Sets the identity labels, hostname and subdomain of `set`'s pod with `ordinal`
/// (Kubernetes' `updateIdentity`).
pub fn set_identity(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let name = pod_name(set, ordinal);
    pod.metadata
        .labels
        .insert(POD_NAME_LABEL.to_owned(), name.clone());
    pod.metadata
        .labels
        .insert(POD_INDEX_LABEL.to_owned(), ordinal.to_string());
    pod.spec.hostname = Some(name);
    pod.spec.subdomain = set.spec.service_name.clone().filter(|s| !s.is_empty());
}

/// Whether `pod` carries the identity of `set`'s pod with `ordinal` (Kubernetes'
/// `identityMatches`).
pub fn identity_matches(set: &StatefulSet, pod: &Pod, ordinal: i32) -> bool {
    let name = pod_name(set, ordinal);
    let labels = &pod.metadata.labels;
    pod.metadata.name_str() == name
        && pod.metadata.namespace == set.metadata.namespace
        && labels.get(POD_NAME_LABEL) == Some(&name)
        && labels.get(POD_INDEX_LABEL) == Some(&ordinal.to_string())
}

/// The revision `pod` was made from.
pub fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata.labels.get(REVISION_LABEL).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> StatefulSet {
        let mut s = StatefulSet {
            metadata: ObjectMeta::namespaced("ns", "web"),
            ..StatefulSet::default()
        };
        s.metadata.uid = Some("u".into());
        s.spec.service_name = Some("nginx".into());
        s.spec
            .selector
            .match_labels
            .insert("app".into(), "web".into());
        s.spec
            .template
            .metadata
            .labels
            .insert("app".into(), "web".into());
        let mut claim = PersistentVolumeClaim {
            metadata: ObjectMeta::named("www").with_label("tier", "data"),
            ..PersistentVolumeClaim::default()
        };
        claim.spec.access_modes = vec!["ReadWriteOnce".into()];
        s.spec.volume_claim_templates.push(claim);
        s.spec.template.spec.volumes.push(Volume {
            name: "www".into(),
            ..Volume::default()
        });
        s.spec.template.spec.volumes.push(Volume {
            name: "config".into(),
            ..Volume::default()
        });
        s
    }

    #[test]
    fn ordinals_parse_only_for_this_set() {
        let s = set();
        assert_eq!(ordinal_of(&s, "web-0"), Some(0));
        assert_eq!(ordinal_of(&s, "web-12"), Some(12));
        assert_eq!(ordinal_of(&s, "web-x"), None);
        assert_eq!(ordinal_of(&s, "web-"), None);
        assert_eq!(ordinal_of(&s, "web-a-1"), None);
        assert_eq!(ordinal_of(&s, "webb-1"), None);
        assert_eq!(ordinal_of(&s, "web--1"), None);
        assert_eq!(ordinal_of(&s, "web-99999999999"), None);
    }

    #[test]
    fn pods_get_identity_and_storage() {
        let s = set();
        let pod = new_pod(&s, &s.spec.template, 3, "web-abc");
        assert_eq!(pod.metadata.name.as_deref(), Some("web-3"));
        assert_eq!(pod.metadata.labels[POD_NAME_LABEL], "web-3");
        assert_eq!(pod.metadata.labels[POD_INDEX_LABEL], "3");
        assert_eq!(pod.metadata.labels[REVISION_LABEL], "web-abc");
        assert_eq!(pod.spec.hostname.as_deref(), Some("web-3"));
        assert_eq!(pod.spec.subdomain.as_deref(), Some("nginx"));
        let names: Vec<_> = pod.spec.volumes.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["www", "config"]);
        let www = pod.spec.volumes[0]
            .persistent_volume_claim
            .as_ref()
            .unwrap();
        assert_eq!(www.claim_name, "www-web-3");
        assert!(identity_matches(&s, &pod, 3));
        assert!(!identity_matches(&s, &pod, 2));
        let claims = claims(&s, 3);
        assert_eq!(claims[0].metadata.name.as_deref(), Some("www-web-3"));
        assert_eq!(claims[0].metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(claims[0].metadata.labels["app"], "web");
        assert_eq!(claims[0].metadata.labels["tier"], "data");
        assert_eq!(claims[0].spec.access_modes, ["ReadWriteOnce"]);
    }
}
