//! A DaemonSet's history as [`ControllerRevision`]s (Kubernetes' `constructHistory`,
//! `snapshot`, `dedupCurHistories` and `cleanupHistory`): one revision per template
//! run, named `<set>-<template hash>` and labelled `controller-revision-hash` with that
//! hash, which the set's pods carry too.

use std::collections::BTreeSet;
use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{ControllerRevision, DaemonSet, Pod};
use keel_core::client::Api;
use keel_core::meta::ObjectMeta;

use super::revision::CONTROLLER_REVISION_HASH;
use crate::workload::history::{delete_revision, renumber, sort_revisions, template_patch};
use crate::workload::{controller_ref, template_hash, update_status};

/// The revision matching the set's template and the others.
#[derive(Debug)]
pub(super) struct History {
    /// The revision of the current template.
    pub current: Arc<ControllerRevision>,
    /// The older revisions.
    pub old: Vec<Arc<ControllerRevision>>,
}

impl History {
    /// The hash pods of the current revision carry.
    pub(super) fn hash(&self) -> &str {
        self.current
            .metadata
            .labels
            .get(CONTROLLER_REVISION_HASH)
            .map_or("", String::as_str)
    }
}

/// The APIs and objects history maintenance works on.
pub(super) struct Apis<'a> {
    /// ControllerRevisions in the set's namespace.
    pub revisions: &'a Api<ControllerRevision>,
    /// Pods in the set's namespace.
    pub pods: &'a Api<Pod>,
    /// DaemonSets in the set's namespace.
    pub sets: &'a Api<DaemonSet>,
}

/// Whether `rev` holds `ds`'s template (Kubernetes' `Match`).
fn matches(ds: &DaemonSet, rev: &ControllerRevision) -> bool {
    rev.data == template_patch(&ds.spec.template)
}

/// Sorts `owned` (the set's revisions) into the current and the old ones, labelling
/// any without a `controller-revision-hash` with their name, creating the current one
/// when missing, merging duplicates of it (their pods relabelled), and making it the
/// newest.
pub(super) async fn construct(
    apis: &Apis<'_>,
    ds: &DaemonSet,
    owned: Vec<Arc<ControllerRevision>>,
    pods: &[Arc<Pod>],
) -> Result<History, Error> {
    let mut current = Vec::new();
    let mut old = Vec::new();
    for mut rev in owned {
        if !rev.metadata.labels.contains_key(CONTROLLER_REVISION_HASH) {
            let mut labelled = (*rev).clone();
            labelled.metadata.labels.insert(
                CONTROLLER_REVISION_HASH.to_owned(),
                rev.metadata.name_str().to_owned(),
            );
            rev = apis
                .revisions
                .replace(rev.metadata.name_str(), &labelled)
                .await?;
        }
        if matches(ds, &rev) {
            current.push(rev);
        } else {
            old.push(rev);
        }
    }
    let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let current = if current.is_empty() {
        snapshot(apis, ds, next).await?
    } else {
        let kept = dedup(apis, current, pods).await?;
        if kept.revision < next {
            renumber(apis.revisions, &kept, next).await?
        } else {
            kept
        }
    };
    Ok(History { current, old })
}

/// Creates the revision of `ds`'s template. When its name is taken by another
/// template's revision (a hash collision), `status.collisionCount` is raised and the
/// sync fails, to be retried with the new name.
async fn snapshot(
    apis: &Apis<'_>,
    ds: &DaemonSet,
    revision: i64,
) -> Result<Arc<ControllerRevision>, Error> {
    let collisions = ds.status.as_ref().and_then(|s| s.collision_count);
    let hash = template_hash(&ds.spec.template, collisions);
    let mut labels = ds.spec.template.metadata.labels.clone();
    labels.insert(CONTROLLER_REVISION_HASH.to_owned(), hash.clone());
    let rev = ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{}-{hash}", ds.metadata.name_str())),
            namespace: ds.metadata.namespace.clone(),
            labels,
            annotations: ds.metadata.annotations.clone(),
            owner_references: vec![controller_ref(ds)],
            ..ObjectMeta::default()
        },
        data: template_patch(&ds.spec.template),
        revision,
    };
    let name = rev.metadata.name_str().to_owned();
    match apis.revisions.create(&rev).await {
        Err(taken) if taken.is_already_exists() => {
            let existing = apis.revisions.get(&name).await?;
            if matches(ds, &existing) {
                return Ok(existing);
            }
            let set_name = ds.metadata.name_str();
            let Some(fresh) = apis.sets.get_opt(set_name).await? else {
                return Err(taken);
            };
            let now = fresh.status.as_ref().and_then(|s| s.collision_count);
            if now != collisions {
                return Err(Error::Conflict {
                    resource: "daemonsets".into(),
                    name: set_name.to_owned(),
                    reason: format!(
                        "stale status.collisionCount {collisions:?} (now {now:?}); will retry"
                    ),
                });
            }
            update_status(apis.sets, &*fresh, |s| {
                let status = s.status.get_or_insert_with(Default::default);
                status.collision_count = Some(collisions.unwrap_or(0) + 1);
            })
            .await?;
            tracing::info!(daemonset = set_name, revision = %name, "hash collision; bumped status.collisionCount");
            Err(taken)
        }
        other => other,
    }
}

/// Keeps the newest of several revisions of the same template: pods of the others are
/// relabelled with its hash and the others deleted (Kubernetes' `dedupCurHistories`).
async fn dedup(
    apis: &Apis<'_>,
    mut current: Vec<Arc<ControllerRevision>>,
    pods: &[Arc<Pod>],
) -> Result<Arc<ControllerRevision>, Error> {
    sort_revisions(&mut current);
    let Some(kept) = current.pop() else {
        return Err(Error::BadRequest("no revision to keep".into()));
    };
    let hash_of = |r: &ControllerRevision| r.metadata.labels.get(CONTROLLER_REVISION_HASH).cloned();
    let kept_hash = hash_of(&kept).unwrap_or_default();
    for dup in &current {
        let dup_hash = hash_of(dup);
        for pod in pods {
            if pod.metadata.labels.get(CONTROLLER_REVISION_HASH) == dup_hash.as_ref() {
                let mut relabelled = (**pod).clone();
                relabelled
                    .metadata
                    .labels
                    .insert(CONTROLLER_REVISION_HASH.to_owned(), kept_hash.clone());
                apis.pods
                    .replace(pod.metadata.name_str(), &relabelled)
                    .await?;
            }
        }
        delete_revision(apis.revisions, dup).await?;
    }
    Ok(kept)
}

/// Deletes the oldest of `old` beyond `spec.revisionHistoryLimit` (default 10) whose
/// hash no pod carries (Kubernetes' `cleanupHistory`).
pub(super) async fn cleanup(
    api: &Api<ControllerRevision>,
    ds: &DaemonSet,
    mut old: Vec<Arc<ControllerRevision>>,
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    let keep =
        usize::try_from(ds.spec.revision_history_limit.unwrap_or(10).max(0)).unwrap_or(usize::MAX);
    let mut excess = old.len().saturating_sub(keep);
    if excess == 0 {
        return Ok(());
    }
    let live: BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.labels.get(CONTROLLER_REVISION_HASH))
        .map(String::as_str)
        .collect();
    sort_revisions(&mut old);
    for rev in &old {
        if excess == 0 {
            break;
        }
        let hash = rev.metadata.labels.get(CONTROLLER_REVISION_HASH);
        if hash.is_some_and(|h| live.contains(h.as_str())) {
            continue;
        }
        delete_revision(api, rev).await?;
        excess -= 1;
    }
    Ok(())
}
