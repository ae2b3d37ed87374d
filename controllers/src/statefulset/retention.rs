//! `persistentVolumeClaimRetentionPolicy`. `Retain` (the default for both cases)
//! leaves claims alone. `Delete` is carried out by the controller itself, because Keel
//! has no garbage collector to follow owner references as Kubernetes does:
//! `whenScaled: Delete` deletes the claims of ordinals beyond `replicas` once their
//! pod is gone, `whenDeleted: Delete` deletes all the set's claims once the set is gone.

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{PersistentVolumeClaim, Pod, StatefulSet};
use keel_core::client::{Api, Client, DeleteParams};

use super::identity::{ordinal_of, replicas, start_ordinal};
use crate::runtime::Cache;

/// Whether the policy field `pick` of `set` is `Delete`.
fn deletes(
    set: &StatefulSet,
    pick: impl Fn(&keel_core::api::StatefulSetPersistentVolumeClaimRetentionPolicy) -> Option<&String>,
) -> bool {
    set.spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(pick)
        .is_some_and(|p| p == "Delete")
}

/// The claims in `claims` made from `set`'s templates, with their ordinals.
fn claims_of(
    set: &StatefulSet,
    claims: &Cache<PersistentVolumeClaim>,
) -> Vec<(i32, Arc<PersistentVolumeClaim>)> {
    let ns = set.metadata.namespace_str().unwrap_or("");
    claims
        .list_in(ns)
        .into_iter()
        .filter_map(|c| {
            let ordinal = set.spec.volume_claim_templates.iter().find_map(|t| {
                let rest = c
                    .metadata
                    .name_str()
                    .strip_prefix(t.metadata.name_str())?
                    .strip_prefix('-')?;
                ordinal_of(set, rest)
            })?;
            Some((ordinal, c))
        })
        .collect()
}

async fn delete_all(
    client: &Client,
    ns: &str,
    doomed: Vec<Arc<PersistentVolumeClaim>>,
) -> Result<(), Error> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client, ns);
    for claim in doomed {
        if claim.metadata.deletion_timestamp.is_some() {
            continue;
        }
        match api
            .delete(claim.metadata.name_str(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `whenScaled: Delete`: deletes the claims of ordinals outside the set's range whose
/// pod no longer exists.
pub(super) async fn after_scale_down(
    client: &Client,
    set: &StatefulSet,
    claims: &Cache<PersistentVolumeClaim>,
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    if !deletes(set, |p| p.when_scaled.as_ref()) {
        return Ok(());
    }
    let (start, end) = (start_ordinal(set), start_ordinal(set) + replicas(set));
    let has_pod = |ord: i32| {
        pods.iter()
            .any(|p| ordinal_of(set, p.metadata.name_str()) == Some(ord))
    };
    let doomed = claims_of(set, claims)
        .into_iter()
        .filter(|(ord, _)| (*ord < start || *ord >= end) && !has_pod(*ord))
        .map(|(_, c)| c)
        .collect();
    delete_all(client, set.metadata.namespace_str().unwrap_or(""), doomed).await
}

/// `whenDeleted: Delete`: deletes every claim of a deleted set.
pub(super) async fn after_set_deleted(
    client: &Client,
    set: &StatefulSet,
    claims: &Cache<PersistentVolumeClaim>,
) -> Result<(), Error> {
    if !deletes(set, |p| p.when_deleted.as_ref()) {
        return Ok(());
    }
    let doomed = claims_of(set, claims).into_iter().map(|(_, c)| c).collect();
    delete_all(client, set.metadata.namespace_str().unwrap_or(""), doomed).await
}
