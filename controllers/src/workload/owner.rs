//! Controller owner references.

use keel_core::Resource;
use keel_core::meta::{ObjectMeta, OwnerReference};

/// The ownerReference a controller puts on what it creates: `controller: true` and
/// `blockOwnerDeletion: true`, as Kubernetes' `NewControllerRef`.
pub fn controller_ref<K: Resource>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::API_VERSION.to_owned(),
        kind: K::KIND.to_owned(),
        name: meta.name_str().to_owned(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether the object with `meta` has the object with `uid` as its controller.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.controller_owner().is_some_and(|o| o.uid == uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::ReplicaSet;

    #[test]
    fn controller_ref_names_the_owner() {
        let mut rs = ReplicaSet {
            metadata: ObjectMeta::namespaced("default", "web"),
            ..Default::default()
        };
        rs.metadata.uid = Some("u1".into());
        let r = controller_ref(&rs);
        assert_eq!(
            (
                r.api_version.as_str(),
                r.kind.as_str(),
                r.name.as_str(),
                r.uid.as_str()
            ),
            ("apps/v1", "ReplicaSet", "web", "u1")
        );
        assert_eq!(
            (r.controller, r.block_owner_deletion),
            (Some(true), Some(true))
        );
        let mut child = ObjectMeta::named("c");
        child.owner_references.push(r);
        assert!(is_controlled_by(&child, "u1"));
        assert!(!is_controlled_by(&child, "u2"));
    }
}
