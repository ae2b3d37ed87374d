//! One sync of a StatefulSet (Kubernetes' `updateStatefulSet`): create missing pods
//! (claims first) and recreate finished ones, in ordinal order and one at a time under
//! `OrderedReady`; delete pods beyond `replicas` from the highest ordinal; then roll
//! pods at or above the partition to the update revision, highest ordinal first, one
//! at a time.

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{PersistentVolumeClaim, Pod, StatefulSet, phase};
use keel_core::client::{Api, DeleteParams};

use super::Ctx;
use super::identity::{
    claims, identity_matches, new_pod, ordinal_of, replicas, revision_of, set_identity,
    start_ordinal,
};
use super::revision::Revisions;
use crate::runtime::ObjectRef;
use crate::workload::is_pod_available;

/// The pods of a set split by ordinal.
pub(super) struct Split {
    /// Index `i` holds the pod with ordinal `start + i`, if it exists.
    pub slots: Vec<Option<Arc<Pod>>>,
    /// Pods with ordinals outside the range, highest ordinal first.
    pub condemned: Vec<Arc<Pod>>,
}

/// Splits `pods` into the set's slots and the condemned (pods whose names are not
/// `<set>-<ordinal>` are ignored).
pub(super) fn split(set: &StatefulSet, pods: &[Arc<Pod>]) -> Split {
    let start = start_ordinal(set);
    let n = replicas(set);
    let mut slots = vec![None; usize::try_from(n).unwrap_or(0)];
    let mut condemned = Vec::new();
    for pod in pods {
        let Some(ord) = ordinal_of(set, pod.metadata.name_str()) else {
            continue;
        };
        match usize::try_from(ord - start) {
            Ok(i) if ord >= start && i < slots.len() => slots[i] = Some(pod.clone()),
            _ => condemned.push((ord, pod.clone())),
        }
    }
    condemned.sort_by_key(|(ord, _)| std::cmp::Reverse(*ord));
    Split {
        slots,
        condemned: condemned.into_iter().map(|(_, p)| p).collect(),
    }
}

/// Running and Ready.
pub(super) fn running_and_ready(pod: &Pod) -> bool {
    pod.phase() == phase::RUNNING && pod.is_ready()
}

fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn healthy(pod: &Pod) -> bool {
    running_and_ready(pod) && !terminating(pod)
}

/// What a sync needs besides the set.
pub(super) struct Sync<'a> {
    pub ctx: &'a Ctx,
    pub set: &'a Arc<StatefulSet>,
    pub key: &'a ObjectRef,
    pub revisions: &'a Revisions,
    pub pods: Api<Pod>,
    pub claims: Api<PersistentVolumeClaim>,
    pub now: keel_core::meta::Time,
}

impl Sync<'_> {
    fn available(&self, pod: &Pod) -> bool {
        running_and_ready(pod)
            && is_pod_available(pod, self.set.spec.min_ready_seconds.unwrap_or(0), &self.now)
    }

    fn monotonic(&self) -> bool {
        self.set.spec.pod_management_policy.as_deref() != Some("Parallel")
    }

    fn partition(&self) -> i32 {
        self.set
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0)
    }

    fn on_delete(&self) -> bool {
        self.set
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref())
            == Some("OnDelete")
    }

    /// Runs the sync; `Ok(())` also when it stopped early to wait for a pod.
    pub(super) async fn run(&self, split: &Split) -> Result<(), Error> {
        let monotonic = self.monotonic();
        let start = start_ordinal(self.set);
        let mut first_error = None;
        for (i, slot) in split.slots.iter().enumerate() {
            let ordinal = start + i32::try_from(i).unwrap_or(i32::MAX);
            match self.process_replica(slot.as_ref(), i, ordinal).await {
                Ok(true) if monotonic => return Ok(()),
                Err(e) if monotonic => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
                Ok(_) => {}
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let first_unhealthy = split
            .slots
            .iter()
            .flatten()
            .chain(split.condemned.iter().rev())
            .find(|p| !healthy(p))
            .map(|p| p.metadata.name_str().to_owned());
        for pod in &split.condemned {
            if terminating(pod) {
                if monotonic {
                    return Ok(());
                }
                continue;
            }
            let first = first_unhealthy.as_deref() == Some(pod.metadata.name_str());
            if monotonic && !first && !self.available(pod) {
                return Ok(());
            }
            self.delete_pod(pod, "scale down").await?;
            if monotonic {
                return Ok(());
            }
        }
        if self.on_delete() {
            return Ok(());
        }
        let partition = usize::try_from(self.partition().max(0)).unwrap_or(0);
        for slot in split.slots.iter().skip(partition).rev() {
            let Some(pod) = slot else { return Ok(()) };
            if revision_of(pod) != Some(self.revisions.update.as_str()) && !terminating(pod) {
                self.delete_pod(pod, "update").await?;
                return Ok(());
            }
            if !healthy(pod) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Brings slot `i` (`ordinal`) to a running pod; `Ok(true)` when an `OrderedReady`
    /// set must wait before going on.
    async fn process_replica(
        &self,
        pod: Option<&Arc<Pod>>,
        i: usize,
        ordinal: i32,
    ) -> Result<bool, Error> {
        let set = &**self.set;
        let recreate = pod.filter(|p| p.is_terminal() && !terminating(p));
        if let Some(finished) = recreate {
            let (kind, reason, verb) = if finished.phase() == phase::FAILED {
                ("Warning", "RecreatingFailedPod", "failed")
            } else {
                ("Normal", "RecreatingTerminatedPod", "terminated")
            };
            let msg = format!(
                "StatefulSet {}/{} is recreating {verb} Pod {}",
                set.metadata.namespace_str().unwrap_or(""),
                set.metadata.name_str(),
                finished.metadata.name_str()
            );
            let _ = if kind == "Warning" {
                self.ctx.recorder.warning(set, reason, &msg).await
            } else {
                self.ctx.recorder.normal(set, reason, &msg).await
            };
            self.delete_pod(finished, "recreate").await?;
        }
        let Some(pod) = pod.filter(|_| recreate.is_none()) else {
            self.create_pod(i, ordinal).await?;
            return Ok(true);
        };
        if pod.phase() == phase::PENDING && !terminating(pod) {
            self.create_claims(pod, ordinal).await?;
        }
        if terminating(pod) || !self.available(pod) {
            return Ok(true);
        }
        if !identity_matches(set, pod, ordinal) {
            let mut fixed = (**pod).clone();
            set_identity(set, &mut fixed, ordinal);
            self.pods.replace(pod.metadata.name_str(), &fixed).await?;
        }
        Ok(false)
    }

    /// Creates the claims of `ordinal` that do not exist yet.
    async fn create_claims(&self, pod: &Pod, ordinal: i32) -> Result<(), Error> {
        let set = &**self.set;
        for claim in claims(set, ordinal) {
            let name = claim.metadata.name_str().to_owned();
            let cached = self.ctx.claims.get(
                &ObjectRef::new(name.clone()).within(set.metadata.namespace_str().unwrap_or("")),
            );
            let existing = match cached {
                Some(c) => Some(c),
                None => self.claims.get_opt(&name).await?,
            };
            if let Some(c) = existing {
                if c.metadata.deletion_timestamp.is_some() {
                    return Err(Error::Conflict {
                        resource: "persistentvolumeclaims".into(),
                        name: format!("{}/{name}", set.metadata.namespace_str().unwrap_or("")),
                        reason: format!("pvc {name} is being deleted"),
                    });
                }
                continue;
            }
            let pod_name = pod.metadata.name_str();
            match self.claims.create(&claim).await {
                Ok(_) => {
                    let msg = format!(
                        "create Claim {name} Pod {pod_name} in StatefulSet {} success",
                        set.metadata.name_str()
                    );
                    let _ = self
                        .ctx
                        .recorder
                        .normal(set, "SuccessfulCreate", &msg)
                        .await;
                }
                Err(e) if e.is_already_exists() => {}
                Err(e) => {
                    let msg = format!(
                        "create Claim {name} for Pod {pod_name} in StatefulSet {} failed error: {e}",
                        set.metadata.name_str()
                    );
                    let _ = self.ctx.recorder.warning(set, "FailedCreate", &msg).await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Creates the pod of slot `i`: at the current revision below the partition, else at
    /// the update revision; its claims first.
    async fn create_pod(&self, i: usize, ordinal: i32) -> Result<(), Error> {
        let set = &**self.set;
        let below_partition =
            !self.on_delete() && i32::try_from(i).unwrap_or(i32::MAX) < self.partition();
        let pod = if below_partition {
            let r = self.revisions;
            new_pod(set, &r.current_template, ordinal, &r.current)
        } else {
            new_pod(set, &set.spec.template, ordinal, &self.revisions.update)
        };
        let name = pod.metadata.name_str().to_owned();
        let result = match self.create_claims(&pod, ordinal).await {
            Ok(()) => {
                self.ctx.expectations.expect_creations(self.key, 1);
                let created = self.pods.create_owned(pod).await;
                if created.is_err() {
                    self.ctx.expectations.creation_observed(self.key);
                }
                created.map(|_| ())
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                let msg = format!(
                    "create Pod {name} in StatefulSet {} successful",
                    set.metadata.name_str()
                );
                let _ = self
                    .ctx
                    .recorder
                    .normal(set, "SuccessfulCreate", &msg)
                    .await;
                Ok(())
            }
            // The cache has not seen it yet (or it is still terminating): wait.
            Err(e) if e.is_already_exists() => Ok(()),
            Err(e) => {
                let msg = format!(
                    "create Pod {name} in StatefulSet {} failed error: {e}",
                    set.metadata.name_str()
                );
                let _ = self.ctx.recorder.warning(set, "FailedCreate", &msg).await;
                Err(e)
            }
        }
    }

    async fn delete_pod(&self, pod: &Pod, why: &str) -> Result<(), Error> {
        let set = &**self.set;
        let name = pod.metadata.name_str();
        tracing::debug!(statefulset = %self.key, pod = name, why, "deleting pod");
        match self.pods.delete(name, &DeleteParams::default()).await {
            Ok(_) => {
                let msg = format!(
                    "delete Pod {name} in StatefulSet {} successful",
                    set.metadata.name_str()
                );
                let _ = self
                    .ctx
                    .recorder
                    .normal(set, "SuccessfulDelete", &msg)
                    .await;
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => {
                let msg = format!(
                    "delete Pod {name} in StatefulSet {} failed error: {e}",
                    set.metadata.name_str()
                );
                let _ = self.ctx.recorder.warning(set, "FailedDelete", &msg).await;
                Err(e)
            }
        }
    }
}
