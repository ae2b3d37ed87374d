//! Adoption and release: Kubernetes' `ControllerRefManager`. A controller claims the
//! children that are its own and match its selector, adopts matching orphans, and
//! releases its children whose labels no longer match.

use std::sync::Arc;

use keel_core::Resource;
use keel_core::client::Api;
use keel_core::labels::Selector;
use keel_core::{Error, meta::ObjectMeta};

use super::owner::controller_ref;
use crate::runtime::Cache;
use crate::runtime::cache::{BY_CONTROLLER_UID, ORPHANS_BY_NAMESPACE};

/// What an owner with `meta` may claim from `cache`: the objects it controls and the
/// orphans of its namespace (those controlled by others are never claimed, so they are
/// not looked at).
pub fn candidates<C: Resource>(cache: &Cache<C>, owner: &ObjectMeta) -> Vec<Arc<C>> {
    let mut all = cache.by_index(BY_CONTROLLER_UID, owner.uid.as_deref().unwrap_or(""));
    if let Some(ns) = owner.namespace_str() {
        all.extend(cache.by_index(ORPHANS_BY_NAMESPACE, ns));
    }
    all
}

/// What [`claim`] decided for one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Already ours and matching: keep it.
    Owned,
    /// An orphan that matches: adopt it.
    Adopt,
    /// Ours but no longer matching: release it.
    Release,
    /// Someone else's, or an orphan that does not match, or being deleted: leave it.
    Ignore,
}

fn decide(owner: &ObjectMeta, selector: &Selector, child: &ObjectMeta) -> Claimed {
    let owner_uid = owner.uid.as_deref().unwrap_or("");
    let matches = selector.matches(&child.labels);
    match child.controller_owner() {
        Some(r) if r.uid != owner_uid => Claimed::Ignore,
        Some(_) if matches => Claimed::Owned,
        Some(_) if owner.deletion_timestamp.is_some() => Claimed::Ignore,
        Some(_) => Claimed::Release,
        None if matches
            && owner.deletion_timestamp.is_none()
            && child.deletion_timestamp.is_none() =>
        {
            Claimed::Adopt
        }
        None => Claimed::Ignore,
    }
}

/// What `owner` should do with `child` (pure; [`claim`] carries it out).
pub fn claim_decision<K: Resource, C: Resource>(
    owner: &K,
    selector: &Selector,
    child: &C,
) -> Claimed {
    decide(owner.meta(), selector, child.meta())
}

/// The children of `owner` among `candidates` (all in `owner`'s namespace): those it
/// controls that match `selector`, plus matching orphans it adopts now. Its children
/// that no longer match are released. Before the first adoption the owner is re-read
/// from the store, so a deleted or re-created owner never adopts (Kubernetes'
/// `RecheckDeletionTimestamp`). Adoption and release are compare-and-swap writes: a
/// child changed meanwhile gives `Conflict` (retry on the next reconcile); a child
/// deleted meanwhile is skipped.
pub async fn claim<K: Resource, C: Resource + Clone>(
    owner: &K,
    selector: &Selector,
    candidates: &[Arc<C>],
    api: &Api<C>,
) -> Result<Vec<Arc<C>>, Error> {
    claim_adopting(owner, selector, candidates, api, |_| {}).await
}

/// [`claim`], with `on_adopt` changing each adopted child in the same write that adopts
/// it (the Job controller adds its tracking finalizer so).
pub async fn claim_adopting<K: Resource, C: Resource + Clone>(
    owner: &K,
    selector: &Selector,
    candidates: &[Arc<C>],
    api: &Api<C>,
    on_adopt: impl Fn(&mut C),
) -> Result<Vec<Arc<C>>, Error> {
    let mut owned = Vec::with_capacity(candidates.len());
    let mut may_adopt: Option<bool> = None;
    for child in candidates {
        match claim_decision(owner, selector, &**child) {
            Claimed::Owned => owned.push(child.clone()),
            Claimed::Ignore => {}
            Claimed::Release => {
                let mut released = (**child).clone();
                let uid = owner.meta().uid.as_deref().unwrap_or("");
                released
                    .meta_mut()
                    .owner_references
                    .retain(|r| r.uid != uid);
                match api.replace(child.meta().name_str(), &released).await {
                    Ok(_) | Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Claimed::Adopt => {
                if may_adopt.is_none() {
                    may_adopt = Some(owner_still_current(owner, api).await?);
                }
                if may_adopt != Some(true) {
                    continue;
                }
                let mut adopted = (**child).clone();
                adopted
                    .meta_mut()
                    .owner_references
                    .push(controller_ref(owner));
                on_adopt(&mut adopted);
                match api.replace(child.meta().name_str(), &adopted).await {
                    Ok(now) => owned.push(now),
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(owned)
}

/// Whether the stored owner is still the one we hold (same uid) and not being deleted.
async fn owner_still_current<K: Resource, C: Resource>(
    owner: &K,
    children: &Api<C>,
) -> Result<bool, Error> {
    let meta = owner.meta();
    let api: Api<K> = match meta.namespace_str() {
        Some(ns) => Api::namespaced(children.client(), ns),
        None => Api::all(children.client()),
    };
    Ok(api.get_opt(meta.name_str()).await?.is_some_and(|fresh| {
        fresh.meta().uid == meta.uid && fresh.meta().deletion_timestamp.is_none()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{Pod, ReplicaSet};
    use keel_core::meta::Time;

    fn owner() -> ReplicaSet {
        let mut rs = ReplicaSet {
            metadata: ObjectMeta::namespaced("default", "rs"),
            ..Default::default()
        };
        rs.metadata.uid = Some("me".into());
        rs
    }

    fn child(app: &str, controller: Option<&str>) -> Pod {
        let mut p = Pod {
            metadata: ObjectMeta::namespaced("default", "p").with_label("app", app),
            ..Default::default()
        };
        if let Some(uid) = controller {
            let mut r = controller_ref(&owner());
            r.uid = uid.into();
            p.metadata.owner_references.push(r);
        }
        p
    }

    #[test]
    fn decisions_follow_the_controller_ref_manager() {
        let sel = Selector::parse("app=web").unwrap();
        let o = owner();
        let d = |c: &Pod| claim_decision(&o, &sel, c);
        assert_eq!(d(&child("web", Some("me"))), Claimed::Owned);
        assert_eq!(d(&child("db", Some("me"))), Claimed::Release);
        assert_eq!(d(&child("web", None)), Claimed::Adopt);
        assert_eq!(d(&child("db", None)), Claimed::Ignore);
        assert_eq!(d(&child("web", Some("other"))), Claimed::Ignore);
        let mut deleting = child("web", None);
        deleting.metadata.deletion_timestamp = Some(Time::epoch());
        assert_eq!(d(&deleting), Claimed::Ignore);
        let mut leaving = child("db", Some("me"));
        leaving.metadata.deletion_timestamp = Some(Time::epoch());
        assert_eq!(
            d(&leaving),
            Claimed::Release,
            "released even while being deleted"
        );
        let mut gone = owner();
        gone.metadata.deletion_timestamp = Some(Time::epoch());
        assert_eq!(
            claim_decision(&gone, &sel, &child("web", None)),
            Claimed::Ignore
        );
        assert_eq!(
            claim_decision(&gone, &sel, &child("db", Some("me"))),
            Claimed::Ignore
        );
    }
}
