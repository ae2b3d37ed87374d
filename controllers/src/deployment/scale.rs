//! Scaling: one ReplicaSet at a time with the Deployment's replica annotations, a
//! `replicas` change spread proportionally over a rollout's ReplicaSets, and the
//! clean-up of old revisions (Kubernetes' `sync.go`).

use std::cmp::Ordering;

use keel_core::Error;
use keel_core::client::DeleteParams;

use super::Sync;
use super::util::{self, by_creation, rs_replicas};
use crate::runtime::Action;

impl Sync<'_> {
    /// Sets ReplicaSet `i` to `size` pods with the Deployment's current replica
    /// annotations; whether anything was written.
    pub(crate) async fn scale_rs(&mut self, i: usize, size: i32) -> Result<bool, Error> {
        let want = util::replicas(&self.d);
        let mut rs = self.sets[i].clone();
        let from = rs_replicas(&rs);
        let resized = from != size;
        let annotated =
            util::set_replicas_annotations(&mut rs, want, want + util::max_surge(&self.d));
        if !resized && !annotated {
            return Ok(false);
        }
        rs.spec.replicas = Some(size);
        self.sets[i] = (*self.rs_api.replace(rs.metadata.name_str(), &rs).await?).clone();
        if resized {
            let direction = if size > from { "up" } else { "down" };
            let msg = format!(
                "Scaled {direction} replica set {} from {from} to {size}",
                rs.metadata.name_str()
            );
            let _ = self
                .ctx
                .recorder
                .normal(&self.d, "ScalingReplicaSet", &msg)
                .await;
        }
        Ok(resized)
    }

    fn active(&self) -> Vec<usize> {
        (0..self.sets.len())
            .filter(|&i| rs_replicas(&self.sets[i]) > 0)
            .collect()
    }

    /// Whether `replicas` changed since the ReplicaSets were last sized (their
    /// `desired-replicas` annotation differs).
    pub(crate) async fn is_scaling_event(&mut self) -> Result<bool, Error> {
        self.new_and_old(false).await?;
        let want = util::replicas(&self.d);
        // Only ReplicaSets with pods: a re-used template's empty ReplicaSet keeps the
        // size it was last given until the rollout scales it (Kubernetes'
        // `FilterActiveReplicaSets`).
        Ok(self
            .active()
            .iter()
            .any(|&i| util::desired_replicas_annotation(&self.sets[i]).is_some_and(|d| d != want)))
    }

    /// Scaling without a rollout (paused, or `replicas` changed): resize, clean up old
    /// revisions when paused, write the status.
    pub(crate) async fn sync(&mut self) -> Result<Action, Error> {
        let new = self.new_and_old(false).await?;
        self.scale(new).await?;
        if self.d.spec.paused == Some(true) {
            self.cleanup(new).await?;
        }
        self.sync_status(new).await?;
        Ok(Action::await_change())
    }

    /// Kubernetes' `scale`: the only active ReplicaSet (or the newest) takes all the
    /// replicas; a saturated new ReplicaSet takes them from the old ones; otherwise the
    /// change is spread over the active ReplicaSets in proportion to their sizes, the
    /// rounding leftover going to the largest.
    async fn scale(&mut self, new: Option<usize>) -> Result<(), Error> {
        let want = util::replicas(&self.d);
        let active = self.active();
        let only = match active.as_slice() {
            [one] => Some(*one),
            [] => new.or_else(|| self.newest()),
            _ => None,
        };
        if let Some(i) = only {
            self.scale_rs(i, want).await?;
            return Ok(());
        }
        if let Some(n) = new
            && self.saturated(n)
        {
            for i in active.into_iter().filter(|&i| i != n) {
                self.scale_rs(i, 0).await?;
            }
            return Ok(());
        }
        if !util::is_rolling(&self.d) {
            return Ok(());
        }
        let mut order = active;
        let allowed = if want > 0 {
            want + util::max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed
            - order
                .iter()
                .map(|&i| rs_replicas(&self.sets[i]))
                .sum::<i32>();
        let sets = &self.sets;
        order.sort_by(|&a, &b| {
            let size = rs_replicas(&sets[b]).cmp(&rs_replicas(&sets[a]));
            let age = by_creation(&sets[a], &sets[b]);
            // Growing: larger first, newer first on ties; shrinking: larger, older first.
            size.then(if to_add > 0 { age.reverse() } else { age })
        });
        let mut sizes: Vec<(usize, i32)> = Vec::with_capacity(order.len());
        let mut added = 0;
        for &i in &order {
            let size = rs_replicas(&self.sets[i]);
            let share = if to_add == 0 {
                0
            } else {
                self.proportion(i, to_add, added)
            };
            added += share;
            sizes.push((i, size + share));
        }
        if to_add != 0
            && let Some(first) = sizes.first_mut()
        {
            first.1 = (first.1 + to_add - added).max(0);
        }
        for (i, size) in sizes {
            self.scale_rs(i, size).await?;
        }
        Ok(())
    }

    /// Kubernetes' `GetProportion`: ReplicaSet `i`'s share of `to_add`, given `added`
    /// already handed out.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.sets[i];
        let size = rs_replicas(rs);
        if size == 0 || to_add == added {
            return 0;
        }
        let want = util::replicas(&self.d);
        let fraction = if want == 0 {
            -size
        } else {
            let target = want + util::max_surge(&self.d);
            let annotated = util::max_replicas_annotation(rs)
                .filter(|&n| n != 0)
                .unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            if annotated == 0 {
                0
            } else {
                let scaled = f64::from(size) * f64::from(target) / f64::from(annotated);
                // f64 → i32: bounded by the sizes involved.
                #[allow(clippy::cast_possible_truncation)]
                let rounded = scaled.round() as i32;
                rounded - size
            }
        };
        let allowed = to_add - added;
        match to_add.cmp(&0) {
            Ordering::Greater => fraction.min(allowed),
            _ => fraction.max(allowed),
        }
    }

    /// Whether the new ReplicaSet has all the replicas, all available.
    fn saturated(&self, n: usize) -> bool {
        let rs = &self.sets[n];
        let want = util::replicas(&self.d);
        rs_replicas(rs) == want
            && util::desired_replicas_annotation(rs) == Some(want)
            && rs.status.as_ref().and_then(|s| s.available_replicas) == Some(want)
    }

    fn newest(&self) -> Option<usize> {
        (0..self.sets.len()).max_by(|&a, &b| by_creation(&self.sets[a], &self.sets[b]))
    }

    /// Deletes the oldest revisions beyond `revisionHistoryLimit` that have no pods
    /// left (Kubernetes' `cleanupDeployment`).
    pub(crate) async fn cleanup(&mut self, new: Option<usize>) -> Result<(), Error> {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return Ok(());
        };
        let mut old: Vec<usize> = (0..self.sets.len())
            .filter(|&i| Some(i) != new && self.sets[i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = old
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        if excess == 0 {
            return Ok(());
        }
        let sets = &self.sets;
        old.sort_by(|&a, &b| {
            util::revision(&sets[a])
                .cmp(&util::revision(&sets[b]))
                .then_with(|| by_creation(&sets[a], &sets[b]))
        });
        for &i in old.iter().take(excess) {
            let rs = &self.sets[i];
            let status = rs.status.clone().unwrap_or_default();
            if status.replicas != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation > status.observed_generation
            {
                continue;
            }
            match self
                .rs_api
                .delete(rs.metadata.name_str(), &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
