//! Rolling back to an earlier revision, as `kubectl rollout undo` does: the revision's
//! ReplicaSet template becomes the Deployment's template again, and the controller
//! rolls it out (re-using that ReplicaSet, which gets a new revision number).

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{Deployment, ReplicaSet};
use keel_core::client::{Api, Client, ListParams};

use super::util::{POD_TEMPLATE_HASH, copied_annotation, equal_ignore_hash, revision};
use crate::workload::is_controlled_by;

/// Why a rollback was not done.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// Reading or writing failed.
    #[error(transparent)]
    Api(#[from] Error),
    /// A paused Deployment is not rolled back.
    #[error(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
    )]
    Paused,
    /// No ReplicaSet has that revision.
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    /// There is no earlier revision.
    #[error("no rollout history found for deployment {0:?}")]
    NoHistory(String),
}

/// Rolls the Deployment `name` back to `to_revision` (0: the previous revision) by
/// writing that revision's template into it; returns the Deployment as written, or
/// unchanged when its template already is that revision's.
pub async fn rollback(
    client: &Client,
    namespace: &str,
    name: &str,
    to_revision: i64,
) -> Result<Arc<Deployment>, RollbackError> {
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let d = api.get(name).await?;
    if d.spec.paused == Some(true) {
        return Err(RollbackError::Paused);
    }
    let uid = d.metadata.uid.as_deref().unwrap_or("");
    let sets: Vec<Arc<ReplicaSet>> = Api::<ReplicaSet>::namespaced(client, namespace)
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|rs| is_controlled_by(&rs.metadata, uid))
        .collect();
    let target = if to_revision > 0 {
        sets.iter()
            .find(|rs| revision(rs) == to_revision)
            .ok_or(RollbackError::RevisionNotFound(to_revision))?
    } else {
        let latest = sets.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        sets.iter()
            .filter(|rs| revision(rs) < latest)
            .max_by_key(|rs| revision(rs))
            .ok_or_else(|| RollbackError::NoHistory(name.to_owned()))?
    };
    if equal_ignore_hash(&target.spec.template, &d.spec.template) {
        return Ok(d);
    }
    let mut next = (*d).clone();
    next.spec.template = target.spec.template.clone();
    next.spec.template.metadata.labels.remove(POD_TEMPLATE_HASH);
    // As kubectl: the revision's annotations replace the Deployment's, except those
    // that are never copied between them.
    next.metadata
        .annotations
        .retain(|k, _| !copied_annotation(k));
    for (k, v) in &target.metadata.annotations {
        if copied_annotation(k) {
            next.metadata.annotations.insert(k.clone(), v.clone());
        }
    }
    Ok(api.replace(name, &next).await?)
}
