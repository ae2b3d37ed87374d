//! Deleting finished Jobs: `ttlSecondsAfterFinished` (Kubernetes' TTL-after-finished
//! controller, folded into the Job controller here) and the cascade that removes a
//! Job's pods — done here too, so it happens whether or not a garbage collector runs.

use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Job, Pod};
use keel_core::client::{Api, Client, DeleteParams, ListParams, Preconditions, PropagationPolicy};
use keel_core::meta::Time;

use super::pods::remove_tracking_finalizer;
use super::status::finished_condition;
use crate::workload::is_controlled_by;

/// When a finished Job with `ttlSecondsAfterFinished` expires: its finish time (the
/// finished condition's last transition, as Kubernetes' `jobFinishTime`) plus the TTL.
pub fn expires_at(job: &Job) -> Option<Time> {
    let ttl = job.spec.ttl_seconds_after_finished?;
    let finished = finished_condition(job)?.last_transition_time.as_ref()?;
    Some(finished.saturating_add(Duration::from_secs(u64::try_from(ttl).unwrap_or(0))))
}

/// Deletes `job` (only the object of that uid) with `Background` propagation, and its
/// pods: each loses the Job tracking finalizer and is deleted (gracefully, when it runs
/// on a node). Returns whether the Job was still there.
pub async fn delete_job_with_pods(client: &Client, job: &Job) -> Result<bool, Error> {
    let ns = job.metadata.namespace_str().unwrap_or("");
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client, ns);
    // Every pod the Job controls (not only those its selector labels), as the garbage
    // collector would find them by owner reference.
    for pod in pods.list(&ListParams::default()).await?.items {
        if !is_controlled_by(&pod.metadata, &uid) {
            continue;
        }
        remove_tracking_finalizer(&pods, &pod).await?;
        match pods
            .delete(pod.metadata.name_str(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    let jobs: Api<Job> = Api::namespaced(client, ns);
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match jobs.delete(job.metadata.name_str(), &params).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() || e.is_conflict() => Ok(false),
        Err(e) => Err(e),
    }
}

/// For a finished Job: deletes it once its TTL expired (re-checked on a fresh read, as
/// the TTL controller does), or says how long until it does.
pub(super) async fn expire(client: &Client, job: &Job) -> Result<Option<Duration>, Error> {
    let Some(at) = expires_at(job) else {
        return Ok(None);
    };
    let now = client.clock().now();
    if now < at {
        return Ok(Some(at.duration_since(&now)));
    }
    let api: Api<Job> = Api::namespaced(client, job.metadata.namespace_str().unwrap_or(""));
    let Some(fresh) = api.get_opt(job.metadata.name_str()).await? else {
        return Ok(None);
    };
    if fresh.metadata.uid != job.metadata.uid {
        return Ok(None);
    }
    match expires_at(&fresh) {
        Some(at) if now >= at => {
            delete_job_with_pods(client, &fresh).await?;
            Ok(None)
        }
        Some(at) => Ok(Some(at.duration_since(&now))),
        None => Ok(None),
    }
}
