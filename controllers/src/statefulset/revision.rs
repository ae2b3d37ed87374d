//! A StatefulSet's revisions, kept as [`ControllerRevision`]s (Kubernetes'
//! `getStatefulSetRevisions` and `truncateHistory`): each holds a template as the patch
//! `{"spec": {"template": …}}`, is named `<set>-<hash>` and owned by the set. The
//! current revision is found by `status.currentRevision` among them, so its template
//! survives a controller restart.

use std::collections::BTreeSet;
use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{ControllerRevision, Pod, PodTemplateSpec, StatefulSet};
use keel_core::client::Api;

use super::identity::revision_of;
use crate::workload::history::{
    create_revision, delete_revision, equal_revision, find_equal_revisions, new_revision,
    next_revision, renumber, revision_hash, revision_name, template_of, template_patch,
};

/// The name of the revision of `set`'s current template: `<set>-<hash>`, the hash
/// taken over the template patch and `status.collisionCount` (0 when unset).
pub fn update_revision_name(set: &StatefulSet) -> String {
    let collisions = set.status.as_ref().and_then(|s| s.collision_count);
    let hash = revision_hash(
        &template_patch(&set.spec.template),
        Some(collisions.unwrap_or(0)),
    );
    revision_name(set.metadata.name_str(), &hash)
}

/// The current and the update revision of a sync.
#[derive(Clone, Debug)]
pub(super) struct Revisions {
    /// The revision of the pods not (yet) updated (`status.currentRevision`).
    pub current: String,
    /// Its template, read back from its ControllerRevision.
    pub current_template: PodTemplateSpec,
    /// The revision being rolled out (`status.updateRevision`).
    pub update: String,
    /// The collision count the update revision's name was found with.
    pub collision_count: i32,
}

/// The revisions of a sync, given the set's ControllerRevisions `history` sorted oldest
/// first. The update revision is the one equal to the set's template: the newest
/// revision when it is, an older equal one renumbered to be newest (a rollback), or a
/// new one. The current revision is the one `status.currentRevision` names, or the
/// update revision for a new set.
pub(super) async fn revisions(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    history: &[Arc<ControllerRevision>],
) -> Result<Revisions, Error> {
    let mut collision_count = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let next = next_revision(history);
    let wanted = new_revision(
        set,
        &set.spec.template.metadata.labels,
        template_patch(&set.spec.template),
        next,
        Some(collision_count),
    );
    let equal = find_equal_revisions(history, &wanted);
    let update = match (equal.last(), history.last()) {
        (Some(found), Some(newest)) if equal_revision(found, newest) => (*found).clone(),
        (Some(found), _) => renumber(api, found, next).await?,
        (None, _) => create_revision(api, set, &wanted, &mut collision_count).await?,
    };
    let named = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.as_deref())
        .filter(|c| !c.is_empty());
    let current = named
        .and_then(|c| history.iter().find(|r| r.metadata.name_str() == c))
        .unwrap_or(&update);
    Ok(Revisions {
        current: current.metadata.name_str().to_owned(),
        current_template: template_of(current)?,
        update: update.metadata.name_str().to_owned(),
        collision_count,
    })
}

/// Deletes the oldest revisions beyond `spec.revisionHistoryLimit` (default 10) among
/// those no pod runs and that are neither current nor update (Kubernetes'
/// `truncateHistory`). `history` is sorted oldest first.
pub(super) async fn truncate(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    pods: &[Arc<Pod>],
    history: &[Arc<ControllerRevision>],
    revisions: &Revisions,
) -> Result<(), Error> {
    let mut live: BTreeSet<&str> = pods.iter().filter_map(|p| revision_of(p)).collect();
    live.insert(&revisions.current);
    live.insert(&revisions.update);
    let old: Vec<_> = history
        .iter()
        .filter(|r| !live.contains(r.metadata.name_str()))
        .collect();
    let limit =
        usize::try_from(set.spec.revision_history_limit.unwrap_or(10).max(0)).unwrap_or(usize::MAX);
    let excess = old.len().saturating_sub(limit);
    for rev in old.into_iter().take(excess) {
        delete_revision(api, rev).await?;
    }
    Ok(())
}
