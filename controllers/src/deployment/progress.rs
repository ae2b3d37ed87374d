//! The Deployment's status: replica counts, the `Available`, `Progressing` and
//! `ReplicaFailure` conditions, the progress deadline and pause bookkeeping
//! (Kubernetes' `calculateStatus`, `syncRolloutStatus`, `checkPausedConditions`).

use std::time::Duration;

use keel_core::Error;
use keel_core::api::{DeploymentCondition, DeploymentStatus, ReplicaSet};
use keel_core::meta::Time;

use super::Sync;
use super::util::{self, actual_replicas, available_replicas, ready_replicas, spec_replicas};
use crate::runtime::Action;

/// Condition: the rollout makes progress (or finished, or timed out, or is paused).
pub const PROGRESSING: &str = "Progressing";
/// Condition: at least `replicas − maxUnavailable` pods are available.
pub const AVAILABLE: &str = "Available";
/// Condition: a ReplicaSet cannot create or delete pods.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";
/// `Progressing` reason once the new ReplicaSet is complete and available.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// `Progressing` reason after `progressDeadlineSeconds` without progress.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// `Progressing` reason while the Deployment is paused.
pub const PAUSED: &str = "DeploymentPaused";
/// `Progressing` reason after a resume.
pub const RESUMED: &str = "DeploymentResumed";

/// A condition that transitioned and was updated `now`.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &Time,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
    }
}

/// Sets `c` (Kubernetes' `SetDeploymentCondition`): nothing changes when a condition of
/// that type already has the same status and reason; the transition time is kept when
/// only the reason changes.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(current) = status.conditions.iter().find(|x| x.type_ == c.type_) {
        if current.status == c.status && current.reason == c.reason {
            return;
        }
        if current.status == c.status {
            c.last_transition_time
                .clone_from(&current.last_transition_time);
        }
    }
    remove_condition(status, &c.type_);
    status.conditions.push(c);
}

/// Drops the condition of `type_`.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    status.conditions.retain(|c| c.type_ != type_);
}

fn find<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the rollout is done: every replica updated, available and no old pods left,
/// for the current generation (Kubernetes' `DeploymentComplete`).
pub fn complete(d: &keel_core::api::Deployment, s: &DeploymentStatus) -> bool {
    let want = util::replicas(d);
    s.updated_replicas == Some(want)
        && s.replicas == Some(want)
        && s.available_replicas == Some(want)
        && s.observed_generation >= d.metadata.generation
}

/// Whether `new` shows progress over `old` (Kubernetes' `DeploymentProgressing`).
fn progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

fn deadline(d: &keel_core::api::Deployment) -> Duration {
    Duration::from_secs(u64::try_from(d.spec.progress_deadline_seconds.unwrap_or(600)).unwrap_or(0))
}

impl Sync<'_> {
    /// The Deployment's condition of `type_`.
    pub(crate) fn condition(&self, type_: &str) -> Option<&DeploymentCondition> {
        self.d.status.as_ref().and_then(|s| find(s, type_))
    }

    /// Writes `status` when it differs from the Deployment's.
    pub(crate) async fn write_status(&mut self, status: DeploymentStatus) -> Result<(), Error> {
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut next = self.d.clone();
        next.status = Some(status);
        self.d = (*self
            .d_api
            .replace_status(self.d.metadata.name_str(), &next)
            .await?)
            .clone();
        Ok(())
    }

    /// The status the ReplicaSets give (Kubernetes' `calculateStatus`).
    pub(crate) fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let all = &self.sets;
        let available = available_replicas(all);
        let unavailable = (spec_replicas(all) - available).max(0);
        let mut status = self.d.status.clone().unwrap_or_default();
        status.observed_generation = self.d.metadata.generation;
        status.replicas = Some(actual_replicas(all));
        status.updated_replicas =
            Some(new.map_or(0, |i| actual_replicas(std::slice::from_ref(&all[i]))));
        status.ready_replicas = Some(ready_replicas(all));
        status.available_replicas = Some(available);
        status.unavailable_replicas = Some(unavailable);
        let now = self.ctx.client.clock().now();
        let c = if available >= util::replicas(&self.d) - util::max_unavailable(&self.d) {
            condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now,
            )
        } else {
            condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now,
            )
        };
        set_condition(&mut status, c);
        status
    }

    /// Writes the calculated status (Kubernetes' `syncDeploymentStatus`).
    pub(crate) async fn sync_status(&mut self, new: Option<usize>) -> Result<(), Error> {
        let status = self.calculate_status(new);
        self.write_status(status).await
    }

    /// Status only: for a Deployment being deleted.
    pub(crate) async fn sync_status_only(&mut self) -> Result<Action, Error> {
        let new = self.new_and_old(false).await?;
        self.sync_status(new).await?;
        Ok(Action::await_change())
    }

    /// The status after a rollout step, with the `Progressing` condition judged against
    /// the deadline and `ReplicaFailure` taken from the ReplicaSets; re-queues to notice
    /// a deadline passing.
    pub(crate) async fn sync_rollout_status(
        &mut self,
        new: Option<usize>,
    ) -> Result<Action, Error> {
        let mut status = self.calculate_status(new);
        let now = self.ctx.client.clock().now();
        let has_deadline = util::has_progress_deadline(&self.d);
        if !has_deadline {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = find(&status, PROGRESSING).cloned();
        let done = status.replicas == status.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        let new_name = new.map(|i| self.sets[i].metadata.name_str().to_owned());
        if has_deadline && !done {
            let old = self.d.status.clone().unwrap_or_default();
            if complete(&self.d, &status) {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" has successfully progressed."),
                    None => format!(
                        "Deployment \"{}\" has successfully progressed.",
                        self.d.metadata.name_str()
                    ),
                };
                set_condition(
                    &mut status,
                    condition(PROGRESSING, "True", NEW_RS_AVAILABLE, &msg, &now),
                );
            } else if progressing(&old, &status) {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" is progressing."),
                    None => format!(
                        "Deployment \"{}\" is progressing.",
                        self.d.metadata.name_str()
                    ),
                };
                let mut c = condition(PROGRESSING, "True", "ReplicaSetUpdated", &msg, &now);
                if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
                    c.last_transition_time.clone_from(&cur.last_transition_time);
                }
                remove_condition(&mut status, PROGRESSING);
                set_condition(&mut status, c);
            } else if self.timed_out(current.as_ref(), &now) {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" has timed out progressing."),
                    None => format!(
                        "Deployment \"{}\" has timed out progressing.",
                        self.d.metadata.name_str()
                    ),
                };
                set_condition(
                    &mut status,
                    condition(PROGRESSING, "False", TIMED_OUT, &msg, &now),
                );
            }
        }
        match self.replica_failure(new) {
            Some(c) => set_condition(&mut status, c),
            None => remove_condition(&mut status, REPLICA_FAILURE),
        }
        let requeue = self.stuck_requeue(&status, &now);
        self.write_status(status).await?;
        Ok(requeue.map_or_else(Action::await_change, Action::requeue))
    }

    fn timed_out(&self, current: Option<&DeploymentCondition>, now: &Time) -> bool {
        let Some(c) = current else { return false };
        match c.reason.as_deref() {
            Some(NEW_RS_AVAILABLE) => false,
            Some(TIMED_OUT) => true,
            _ => c
                .last_update_time
                .as_ref()
                .is_some_and(|from| from.saturating_add(deadline(&self.d)) < *now),
        }
    }

    /// When to look again so that a stuck rollout is marked timed out on time
    /// (Kubernetes' `requeueStuckDeployment`).
    fn stuck_requeue(&self, status: &DeploymentStatus, now: &Time) -> Option<Duration> {
        let c = find(status, PROGRESSING)?;
        if !util::has_progress_deadline(&self.d)
            || complete(&self.d, status)
            || matches!(
                c.reason.as_deref(),
                Some(TIMED_OUT | PAUSED | NEW_RS_AVAILABLE)
            )
        {
            return None;
        }
        let due = c
            .last_update_time
            .as_ref()?
            .saturating_add(deadline(&self.d));
        // At least a second: the condition is only ever judged to the second.
        Some(due.duration_since(now) + Duration::from_secs(1))
    }

    /// The `ReplicaFailure` of the new ReplicaSet, else of any other.
    fn replica_failure(&self, new: Option<usize>) -> Option<DeploymentCondition> {
        let from = |rs: &ReplicaSet| {
            rs.status.as_ref().and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == REPLICA_FAILURE)
                    .map(|c| DeploymentCondition {
                        type_: c.type_.clone(),
                        status: c.status.clone(),
                        last_update_time: c.last_transition_time.clone(),
                        last_transition_time: c.last_transition_time.clone(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                    })
            })
        };
        new.and_then(|i| from(&self.sets[i]))
            .or_else(|| self.sets.iter().find_map(from))
    }

    /// Records a pause or a resume in `Progressing` (Kubernetes' `checkPausedConditions`).
    pub(crate) async fn check_paused_conditions(&mut self) -> Result<(), Error> {
        if !util::has_progress_deadline(&self.d) {
            return Ok(());
        }
        let reason = self.condition(PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(TIMED_OUT) {
            return Ok(());
        }
        let paused = self.d.spec.paused == Some(true);
        let paused_recorded = reason.as_deref() == Some(PAUSED);
        let now = self.ctx.client.clock().now();
        let c = if paused && !paused_recorded {
            condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", &now)
        } else if !paused && paused_recorded {
            condition(
                PROGRESSING,
                "Unknown",
                RESUMED,
                "Deployment is resumed",
                &now,
            )
        } else {
            return Ok(());
        };
        let mut status = self.d.status.clone().unwrap_or_default();
        set_condition(&mut status, c);
        self.write_status(status).await
    }
}
