//! Finding or creating the new ReplicaSet and numbering revisions (Kubernetes'
//! `getAllReplicaSetsAndSyncRevision` / `getNewReplicaSet`).

use keel_core::Error;
use keel_core::api::ReplicaSet;
use keel_core::meta::ObjectMeta;

use super::Sync;
use super::progress::{PROGRESSING, condition, set_condition};
use super::util::{
    self, POD_TEMPLATE_HASH, REVISION, REVISION_HISTORY, copied_annotation, equal_ignore_hash,
    revision,
};
use crate::workload::{controller_ref, is_controlled_by, template_hash};

impl Sync<'_> {
    /// The index of the new ReplicaSet (created when missing and `create`), after
    /// bringing its revision and annotations up to date and the Deployment's
    /// `revision` annotation with it. Every other ReplicaSet is old.
    pub(crate) async fn new_and_old(&mut self, create: bool) -> Result<Option<usize>, Error> {
        let found = util::find_new(&self.d, &self.sets);
        let max_old = self
            .sets
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != found)
            .map(|(_, rs)| revision(rs))
            .max()
            .unwrap_or(0);
        let next_revision = max_old + 1;
        let new = match found {
            Some(i) => {
                self.refresh_new(i, next_revision).await?;
                Some(i)
            }
            None if create => self.create_new(next_revision).await?,
            None => None,
        };
        if let Some(i) = new {
            let rev = revision(&self.sets[i]).to_string();
            if self.d.metadata.annotations.get(REVISION) != Some(&rev) {
                let mut next = self.d.clone();
                next.metadata.annotations.insert(REVISION.to_owned(), rev);
                self.d = (*self
                    .d_api
                    .replace(self.d.metadata.name_str(), &next)
                    .await?)
                    .clone();
            }
        }
        Ok(new)
    }

    /// The annotations a ReplicaSet of this Deployment carries: the Deployment's own
    /// (those that are copied), with its current values.
    fn copy_annotations(&self, rs: &mut ReplicaSet) -> bool {
        let mut changed = false;
        for (k, v) in &self.d.metadata.annotations {
            if copied_annotation(k) && rs.metadata.annotations.get(k) != Some(v) {
                rs.metadata.annotations.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        changed
    }

    /// An existing new ReplicaSet: a newer revision number (the old one kept in the
    /// revision history), the Deployment's annotations and minReadySeconds.
    async fn refresh_new(&mut self, i: usize, next_revision: i64) -> Result<(), Error> {
        let mut rs = self.sets[i].clone();
        let mut changed = self.copy_annotations(&mut rs);
        let old = revision(&rs);
        if old < next_revision {
            if old > 0 {
                let history = rs.metadata.annotations.get(REVISION_HISTORY).cloned();
                let history = match history.filter(|h| !h.is_empty()) {
                    Some(h) => cap_history(&format!("{h},{old}")),
                    None => old.to_string(),
                };
                rs.metadata
                    .annotations
                    .insert(REVISION_HISTORY.to_owned(), history);
            }
            rs.metadata
                .annotations
                .insert(REVISION.to_owned(), next_revision.to_string());
            changed = true;
        }
        if rs.spec.min_ready_seconds != self.d.spec.min_ready_seconds {
            rs.spec.min_ready_seconds = self.d.spec.min_ready_seconds;
            changed = true;
        }
        if changed {
            self.sets[i] = (*self.rs_api.replace(rs.metadata.name_str(), &rs).await?).clone();
        }
        if util::has_progress_deadline(&self.d) && self.condition(PROGRESSING).is_none() {
            let msg = format!(
                "Found new replica set \"{}\"",
                self.sets[i].metadata.name_str()
            );
            let now = self.ctx.client.clock().now();
            let mut status = self.d.status.clone().unwrap_or_default();
            set_condition(
                &mut status,
                condition(PROGRESSING, "True", "FoundNewReplicaSet", &msg, &now),
            );
            self.write_status(status).await?;
        }
        Ok(())
    }

    /// Creates the ReplicaSet for the Deployment's template, sized as the rollout
    /// allows. A name taken by a ReplicaSet with another template is a hash collision:
    /// `status.collisionCount` is bumped and the sync retried with a new name.
    async fn create_new(&mut self, next_revision: i64) -> Result<Option<usize>, Error> {
        let d = &self.d.clone();
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&d.spec.template, collisions);
        let mut template = d.spec.template.clone();
        template
            .metadata
            .labels
            .insert(POD_TEMPLATE_HASH.to_owned(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .insert(POD_TEMPLATE_HASH.to_owned(), hash.clone());
        let name = format!("{}-{hash}", d.metadata.name_str());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                labels: template.metadata.labels.clone(),
                owner_references: vec![controller_ref(d)],
                ..ObjectMeta::default()
            },
            ..ReplicaSet::default()
        };
        self.copy_annotations(&mut rs);
        rs.metadata
            .annotations
            .insert(REVISION.to_owned(), next_revision.to_string());
        util::set_replicas_annotations(
            &mut rs,
            util::replicas(d),
            util::replicas(d) + util::max_surge(d),
        );
        rs.spec.replicas = Some(0);
        rs.spec.min_ready_seconds = d.spec.min_ready_seconds;
        rs.spec.selector = selector;
        rs.spec.template = template;
        let size = util::new_rs_new_replicas(d, &self.sets, &rs);
        rs.spec.replicas = Some(size);
        let created = match self.rs_api.create(&rs).await {
            Ok(created) => created,
            Err(Error::AlreadyExists { .. }) => {
                let existing = self.rs_api.get(&name).await?;
                let uid = d.metadata.uid.as_deref().unwrap_or("");
                if is_controlled_by(&existing.metadata, uid)
                    && equal_ignore_hash(&existing.spec.template, &d.spec.template)
                {
                    // Our own, created by an earlier sync whose cache had not caught up.
                    self.sets.push((*existing).clone());
                    return Ok(Some(self.sets.len() - 1));
                }
                let mut status = d.status.clone().unwrap_or_default();
                status.collision_count = Some(collisions.unwrap_or(0).saturating_add(1));
                self.write_status(status).await?;
                return Err(Error::Conflict {
                    resource: "replicasets".into(),
                    name: name.clone(),
                    reason: format!(
                        "hash collision for the template of deployment {}",
                        d.metadata.name_str()
                    ),
                });
            }
            Err(e) => {
                let msg = format!("Failed to create new replica set \"{name}\": {e}");
                let now = self.ctx.client.clock().now();
                let mut status = d.status.clone().unwrap_or_default();
                if util::has_progress_deadline(d) {
                    set_condition(
                        &mut status,
                        condition(PROGRESSING, "False", "ReplicaSetCreateError", &msg, &now),
                    );
                    self.write_status(status).await?;
                }
                let _ = self
                    .ctx
                    .recorder
                    .warning(&self.d, "ReplicaSetCreateError", &msg)
                    .await;
                return Err(e);
            }
        };
        if size > 0 {
            let msg = format!("Scaled up replica set {name} from 0 to {size}");
            let _ = self
                .ctx
                .recorder
                .normal(&self.d, "ScalingReplicaSet", &msg)
                .await;
        }
        if util::has_progress_deadline(&self.d) {
            let msg = format!("Created new replica set \"{name}\"");
            let now = self.ctx.client.clock().now();
            let mut status = self.d.status.clone().unwrap_or_default();
            set_condition(
                &mut status,
                condition(PROGRESSING, "True", "NewReplicaSetCreated", &msg, &now),
            );
            self.write_status(status).await?;
        }
        self.sets.push((*created).clone());
        Ok(Some(self.sets.len() - 1))
    }
}

/// The longest `revision-history` Kubernetes keeps; the oldest entries go first.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

fn cap_history(history: &str) -> String {
    let mut rest = history;
    while rest.len() > MAX_REVISION_HISTORY_CHARS {
        match rest.split_once(',') {
            Some((_, tail)) => rest = tail,
            None => break,
        }
    }
    rest.to_owned()
}

#[cfg(test)]
mod tests {
    use super::cap_history;

    #[test]
    fn revision_history_drops_the_oldest_entries_beyond_2000_chars() {
        let long: Vec<String> = (1..=600).map(|i| i.to_string()).collect();
        let capped = cap_history(&long.join(","));
        assert!(capped.len() <= 2000);
        assert!(capped.ends_with(",599,600"));
        assert!(!capped.starts_with("1,"));
        assert_eq!(cap_history("1,2"), "1,2");
    }
}
