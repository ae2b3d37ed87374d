//! The Recreate strategy (Kubernetes' `recreate.go`): every old pod goes before any new
//! one starts.

use keel_core::Error;
use keel_core::api::phase;

use super::Sync;
use super::progress::complete;
use super::util::{self, rs_replicas};
use crate::runtime::Action;
use crate::runtime::cache::BY_CONTROLLER_UID;

impl Sync<'_> {
    /// One step of a Recreate rollout.
    pub(crate) async fn rollout_recreate(&mut self) -> Result<Action, Error> {
        let mut new = self.new_and_old(false).await?;
        let active_old: Vec<usize> = (0..self.sets.len())
            .filter(|&i| Some(i) != new && rs_replicas(&self.sets[i]) > 0)
            .collect();
        let mut scaled = false;
        for i in active_old {
            scaled |= self.scale_rs(i, 0).await?;
        }
        if scaled || self.old_pods_running(new) {
            return self.sync_rollout_status(new).await;
        }
        if new.is_none() {
            new = self.new_and_old(true).await?;
        }
        if let Some(n) = new {
            self.scale_rs(n, util::replicas(&self.d)).await?;
        }
        let status = self.d.status.clone().unwrap_or_default();
        if complete(&self.d, &status) {
            self.cleanup(new).await?;
        }
        self.sync_rollout_status(new).await
    }

    /// Whether any pod of an old ReplicaSet may still run (Kubernetes' `oldPodsRunning`).
    fn old_pods_running(&self, new: Option<usize>) -> bool {
        let old = (0..self.sets.len()).filter(|&i| Some(i) != new);
        let reported: i32 = old
            .clone()
            .map(|i| self.sets[i].status.as_ref().map_or(0, |s| s.replicas))
            .sum();
        if reported > 0 {
            return true;
        }
        old.flat_map(|i| {
            let uid = self.sets[i].metadata.uid.as_deref().unwrap_or("");
            self.ctx.pods.by_index(BY_CONTROLLER_UID, uid)
        })
        .any(|p| !matches!(p.phase(), phase::SUCCEEDED | phase::FAILED))
    }
}
