//! Pods from templates, and the pod-template hash that names a template's revision.

use keel_core::Resource;
use keel_core::api::{Pod, PodTemplateSpec};
use keel_core::meta::{ObjectMeta, OwnerReference};

use super::owner::controller_ref;

/// A pod for `owner` from `template` (Kubernetes' `GetPodFromTemplate`): the template's
/// labels, annotations, finalizers and spec, the owner's namespace, a controller
/// reference to `owner`, and `generateName` `<owner name>-` unless `name` is given.
pub fn pod_from_template<K: Resource>(
    template: &PodTemplateSpec,
    owner: &K,
    name: Option<String>,
) -> Pod {
    pod_with_owner(template, owner.meta(), controller_ref(owner), name)
}

/// [`pod_from_template`] with the owner reference given (for pods a controller makes
/// for an object of another kind, or for a kind only known at run time).
pub fn pod_with_owner(
    template: &PodTemplateSpec,
    owner: &ObjectMeta,
    reference: OwnerReference,
    name: Option<String>,
) -> Pod {
    let t = &template.metadata;
    let generate_name = name.is_none().then(|| format!("{}-", owner.name_str()));
    Pod {
        metadata: ObjectMeta {
            name,
            generate_name,
            namespace: owner.namespace.clone(),
            labels: t.labels.clone(),
            annotations: t.annotations.clone(),
            finalizers: t.finalizers.clone(),
            owner_references: vec![reference],
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        ..Pod::default()
    }
}

const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Kubernetes' `rand.SafeEncodeString`: maps each byte to a character with no vowels
/// and no look-alike digits, so hashes never spell words.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char)
        .collect()
}

/// The `pod-template-hash` of a template (Kubernetes' `ComputeHash`): FNV-32a over the
/// template (its canonical JSON here) and, when set, the collision count, printed in
/// decimal and [`safe_encode`]d. Equal templates give equal hashes; a collision count
/// gives a new hash for the same template.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    json_hash(
        &serde_json::to_vec(template).unwrap_or_default(),
        collision_count,
    )
}

/// The hash [`template_hash`] computes, of any JSON bytes (a ControllerRevision's
/// `data` is hashed so, as Kubernetes' `HashControllerRevision`).
pub fn json_hash(json: &[u8], collision_count: Option<i32>) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut write = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u32::from(*b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    write(json);
    if let Some(c) = collision_count {
        write(&c.to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::ReplicaSet;

    fn template(image: &str) -> PodTemplateSpec {
        let mut t = PodTemplateSpec::default();
        t.metadata.labels.insert("app".into(), "web".into());
        t.metadata.annotations.insert("a".into(), "b".into());
        t.spec.containers.push(keel_core::api::Container {
            name: "c".into(),
            image: Some(image.into()),
            ..Default::default()
        });
        t
    }

    #[test]
    fn safe_encoding_matches_kubernetes() {
        // Each byte modulo 27 indexes "bcdfghjklmnpqrstvwxz2456789" ('0' is 48 → 21 → '4').
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        assert!(
            safe_encode("4294967295")
                .chars()
                .all(|c| !"aeiou013".contains(c))
        );
    }

    #[test]
    fn hash_is_stable_and_changes_with_template_and_collisions() {
        let a = template_hash(&template("nginx:1"), None);
        assert_eq!(a, template_hash(&template("nginx:1"), None));
        assert_ne!(a, template_hash(&template("nginx:2"), None));
        assert_ne!(a, template_hash(&template("nginx:1"), Some(1)));
        assert!(!a.is_empty() && a.len() <= 10);
    }

    #[test]
    fn pods_copy_the_template_and_point_at_the_owner() {
        let mut rs = ReplicaSet {
            metadata: ObjectMeta::namespaced("ns", "web-abc"),
            ..Default::default()
        };
        rs.metadata.uid = Some("u".into());
        let pod = pod_from_template(&template("nginx"), &rs, None);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(pod.metadata.labels["app"], "web");
        assert_eq!(pod.metadata.annotations["a"], "b");
        assert_eq!(pod.metadata.controller_owner().unwrap().uid, "u");
        assert_eq!(pod.spec.containers[0].image.as_deref(), Some("nginx"));
        let named = pod_from_template(&template("nginx"), &rs, Some("web-0".into()));
        assert_eq!(named.metadata.name.as_deref(), Some("web-0"));
        assert_eq!(named.metadata.generate_name, None);
    }
}
