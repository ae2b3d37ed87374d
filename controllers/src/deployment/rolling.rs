//! The RollingUpdate strategy (Kubernetes' `rolling.go`).

use keel_core::Error;

use super::Sync;
use super::progress::complete;
use super::util::{self, available_floor, by_creation, rs_replicas, spec_replicas};
use crate::runtime::Action;

impl Sync<'_> {
    /// One step of a rolling update: grow the new ReplicaSet within the surge, else
    /// shrink the old ones within the unavailability budget, else clean up.
    pub(crate) async fn rollout_rolling(&mut self) -> Result<Action, Error> {
        let new = self.new_and_old(true).await?;
        let Some(n) = new else {
            return self.sync_rollout_status(None).await;
        };
        if self.reconcile_new(n).await? {
            return self.sync_rollout_status(new).await;
        }
        if self.reconcile_old(n).await? {
            return self.sync_rollout_status(new).await;
        }
        let status = self.d.status.clone().unwrap_or_default();
        if complete(&self.d, &status) {
            self.cleanup(new).await?;
        }
        self.sync_rollout_status(new).await
    }

    /// Sizes the new ReplicaSet: down to `replicas` if above, else up as far as the
    /// surge allows.
    async fn reconcile_new(&mut self, n: usize) -> Result<bool, Error> {
        let want = util::replicas(&self.d);
        let have = rs_replicas(&self.sets[n]);
        if have == want {
            return Ok(false);
        }
        if have > want {
            return self.scale_rs(n, want).await;
        }
        let size = util::new_rs_new_replicas(&self.d, &self.sets, &self.sets[n]);
        self.scale_rs(n, size).await
    }

    fn old_by_age(&self, n: usize) -> Vec<usize> {
        let mut old: Vec<usize> = (0..self.sets.len()).filter(|&i| i != n).collect();
        old.sort_by(|&a, &b| by_creation(&self.sets[a], &self.sets[b]));
        old
    }

    /// Shrinks the old ReplicaSets: first their unhealthy pods, then available ones
    /// while at least `replicas − maxUnavailable` stay available.
    async fn reconcile_old(&mut self, n: usize) -> Result<bool, Error> {
        let old = self.old_by_age(n);
        let old_pods: i32 = old.iter().map(|&i| rs_replicas(&self.sets[i])).sum();
        if old_pods == 0 {
            return Ok(false);
        }
        let all_pods = spec_replicas(&self.sets);
        let min_available = util::replicas(&self.d) - util::max_unavailable(&self.d);
        let new_rs = &self.sets[n];
        let new_unavailable = rs_replicas(new_rs)
            - new_rs
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let cleaned = self.cleanup_unhealthy(&old, max_scaled_down).await?;
        let scaled = self.scale_down_old(&old).await?;
        Ok(cleaned + scaled > 0)
    }

    /// Removes old pods that are not available (they count for nothing), at most `max`.
    async fn cleanup_unhealthy(&mut self, old: &[usize], max: i32) -> Result<i32, Error> {
        let mut total = 0;
        for &i in old {
            if total >= max {
                break;
            }
            let rs = &self.sets[i];
            let size = rs_replicas(rs);
            let available = rs
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
            if size == 0 || size <= available {
                continue;
            }
            let down = (max - total).min(size - available);
            self.scale_rs(i, size - down).await?;
            total += down;
        }
        Ok(total)
    }

    /// Scales old ReplicaSets down, oldest first, by as many pods as may become
    /// unavailable.
    async fn scale_down_old(&mut self, old: &[usize]) -> Result<i32, Error> {
        let min_available = util::replicas(&self.d) - util::max_unavailable(&self.d);
        let available = available_floor(&self.sets);
        if available <= min_available {
            return Ok(0);
        }
        let budget = available - min_available;
        let mut total = 0;
        for &i in old {
            if total >= budget {
                break;
            }
            let size = rs_replicas(&self.sets[i]);
            if size == 0 {
                continue;
            }
            let down = size.min(budget - total);
            self.scale_rs(i, size - down).await?;
            total += down;
        }
        Ok(total)
    }
}
