//! Controller owner references.

use keel_core::Resource;
use keel_core::labels::LabelSelector;
use keel_core::meta::{ObjectMeta, OwnerReference};

use crate::runtime::{Cache, ObjectRef, is_owner_kind};

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

/// The key of the object of kind `K` that controls the object with `meta` (in its
/// namespace), if one does.
pub fn controller_key<K: Resource>(meta: &ObjectMeta) -> Option<ObjectRef> {
    let owner = meta.controller_owner()?;
    if !is_owner_kind::<K>(owner) {
        return None;
    }
    let key = ObjectRef::new(owner.name.clone());
    Some(match meta.namespace_str() {
        Some(ns) if K::NAMESPACED => key.within(ns),
        _ => key,
    })
}

/// Whether `selector` is valid, not empty, and selects `labels` (an empty selector
/// selects nothing a controller may adopt).
pub fn selects(
    selector: Option<&LabelSelector>,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    selector
        .and_then(|s| s.to_selector().ok())
        .is_some_and(|s| !s.is_empty() && s.matches(labels))
}

/// The owners in `child`'s namespace that may adopt it, when it is an orphan: those
/// `may_adopt` accepts (for a trigger that queues them).
pub fn adopters<O: Resource, C: Resource>(
    owners: &Cache<O>,
    child: &C,
    may_adopt: impl Fn(&O, &C) -> bool,
) -> Vec<ObjectRef> {
    let meta = child.meta();
    let Some(ns) = meta.namespace_str() else {
        return Vec::new();
    };
    if meta.controller_owner().is_some() {
        return Vec::new();
    }
    owners
        .list_in(ns)
        .iter()
        .filter(|o| may_adopt(o, child))
        .map(|o| ObjectRef::from_obj(&**o))
        .collect()
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
