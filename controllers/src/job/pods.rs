//! The Job's pods: building them from the template (tracking finalizer, completion
//! index), creating them in slow-start batches, deleting them, and removing the
//! tracking finalizer.

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{EnvVar, EnvVarSource, Job, ObjectFieldSelector, Pod, PodSpec, phase};
use keel_core::client::{Api, DeleteParams};

use super::{Ctx, JOB_COMPLETION_INDEX, JOB_COMPLETION_INDEX_ENV, JOB_TRACKING_FINALIZER};
use crate::runtime::ObjectRef;
use crate::workload::{pod_from_template, slow_start_batch};

/// At most this many pods are created or deleted per sync (Kubernetes'
/// `MaxPodCreateDeletePerSync`).
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;

/// Whether the Job runs in `Indexed` completion mode.
pub fn is_indexed(job: &Job) -> bool {
    job.spec.completion_mode.as_deref() == Some("Indexed")
}

/// The completion index of a pod (its annotation), if it has a valid one.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .get(JOB_COMPLETION_INDEX)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|i| *i >= 0)
}

/// Whether the pod carries the tracking finalizer.
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .any(|f| f == JOB_TRACKING_FINALIZER)
}

/// Whether a pod counts as failed: phase `Failed`, or (unless only failed pods are
/// replaced) deleted before it succeeded — so an orphaned pod never reaching a terminal
/// phase still counts (Kubernetes' `isPodFailed`).
pub fn is_pod_failed(pod: &Pod, job: &Job) -> bool {
    if pod.phase() == phase::FAILED {
        return true;
    }
    if only_replace_failed_pods(job) {
        return false;
    }
    pod.metadata.deletion_timestamp.is_some() && pod.phase() != phase::SUCCEEDED
}

/// Whether replacements wait for pods to reach `Failed` (not merely to be terminating).
pub fn only_replace_failed_pods(job: &Job) -> bool {
    job.spec.pod_replacement_policy.as_deref() == Some("Failed")
        || job.spec.pod_failure_policy.is_some()
}

/// Adds `JOB_COMPLETION_INDEX` (from the index annotation) to every container and init
/// container that does not set it.
fn add_index_env(spec: &mut PodSpec) {
    for c in spec
        .init_containers
        .iter_mut()
        .chain(spec.containers.iter_mut())
    {
        if c.env.iter().any(|e| e.name == JOB_COMPLETION_INDEX_ENV) {
            continue;
        }
        c.env.push(EnvVar {
            name: JOB_COMPLETION_INDEX_ENV.to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".to_owned()),
                    field_path: format!("metadata.annotations['{JOB_COMPLETION_INDEX}']"),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
}

/// The pod for `job` (with completion `index` in `Indexed` mode): the template plus the
/// tracking finalizer; indexed pods also get the index annotation and label, hostname
/// `<job>-<index>` and generateName `<job>-<index>-`.
pub fn pod_for(job: &Job, index: Option<i32>) -> Pod {
    let mut template = job.spec.template.clone();
    if !template
        .metadata
        .finalizers
        .iter()
        .any(|f| f == JOB_TRACKING_FINALIZER)
    {
        template
            .metadata
            .finalizers
            .push(JOB_TRACKING_FINALIZER.to_owned());
    }
    let name = job.metadata.name_str();
    if let Some(ix) = index {
        add_index_env(&mut template.spec);
        template
            .metadata
            .annotations
            .insert(JOB_COMPLETION_INDEX.to_owned(), ix.to_string());
        template
            .metadata
            .labels
            .insert(JOB_COMPLETION_INDEX.to_owned(), ix.to_string());
        template.spec.hostname = Some(format!("{name}-{ix}"));
    }
    let mut pod = pod_from_template(&template, job, None);
    if let Some(ix) = index {
        pod.metadata.generate_name = Some(format!("{name}-{ix}-"));
    }
    pod
}

/// Creates one pod per entry of `indexes` (`None` entries for non-indexed Jobs) in
/// slow-start batches; returns how many were created and the first error.
pub(super) async fn create(
    ctx: &Ctx,
    job: &Job,
    key: &ObjectRef,
    indexes: &[Option<i32>],
) -> (usize, Option<Error>) {
    let api: Api<Pod> = Api::namespaced(&ctx.client, job.metadata.namespace_str().unwrap_or(""));
    ctx.expectations.expect_creations(key, indexes.len());
    let (created, error) = slow_start_batch(indexes.len(), 1, |i| {
        let pod = pod_for(job, indexes[i]);
        let api = &api;
        async move {
            match api.create_owned(pod).await {
                Ok(p) => {
                    let msg = format!("Created pod: {}", p.metadata.name_str());
                    let _ = ctx.recorder.normal(job, "SuccessfulCreate", &msg).await;
                    Ok(())
                }
                Err(e) => {
                    let msg = format!("Error creating: {e}");
                    let _ = ctx.recorder.warning(job, "FailedCreate", &msg).await;
                    Err(e)
                }
            }
        }
    })
    .await;
    for _ in created..indexes.len() {
        ctx.expectations.creation_observed(key);
    }
    (created, error)
}

/// Deletes `pods`. With `untrack`, their tracking finalizer goes first, so they are not
/// counted as failed (pods removed by scale-down or suspension); without it they keep
/// the finalizer and are counted when it is removed (pods of a Job that is finishing).
/// Returns (ready pods deleted, pods deleted, first error).
pub(super) async fn delete(
    ctx: &Ctx,
    job: &Job,
    key: &ObjectRef,
    pods: &[Arc<Pod>],
    untrack: bool,
) -> (i32, i32, Option<Error>) {
    let api: Api<Pod> = Api::namespaced(&ctx.client, job.metadata.namespace_str().unwrap_or(""));
    if untrack {
        ctx.expectations.expect_deletions(
            key,
            pods.iter()
                .map(|p| p.metadata.uid.clone().unwrap_or_default()),
        );
    }
    let deletions = pods.iter().map(|pod| {
        let api = &api;
        async move {
            let name = pod.metadata.name_str();
            let uid = pod.metadata.uid.as_deref().unwrap_or("");
            let result = async {
                if untrack {
                    remove_tracking_finalizer(api, pod).await?;
                }
                api.delete(name, &DeleteParams::default()).await.map(|_| ())
            }
            .await;
            match result {
                Ok(()) => {
                    let msg = format!("Deleted pod: {name}");
                    let _ = ctx.recorder.normal(job, "SuccessfulDelete", &msg).await;
                    (pod.is_ready(), Ok(()))
                }
                Err(e) if e.is_not_found() => {
                    if untrack {
                        ctx.expectations.deletion_observed(key, uid);
                    }
                    (false, Ok(()))
                }
                Err(e) => {
                    if untrack {
                        ctx.expectations.deletion_observed(key, uid);
                    }
                    let msg = format!("Error deleting: {e}");
                    let _ = ctx.recorder.warning(job, "FailedDelete", &msg).await;
                    (false, Err(e))
                }
            }
        }
    });
    let results = futures::future::join_all(deletions).await;
    let mut ready = 0;
    let mut deleted = 0;
    let mut error = None;
    for (was_ready, r) in results {
        match r {
            Ok(()) => {
                deleted += 1;
                ready += i32::from(was_ready);
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (ready, deleted, error)
}

/// Removes the tracking finalizer from the stored pod (re-read, so concurrent changes
/// are kept; retried on conflict). A pod already gone or without it is done.
pub async fn remove_tracking_finalizer(api: &Api<Pod>, pod: &Pod) -> Result<(), Error> {
    let name = pod.metadata.name_str();
    let mut last = None;
    for _ in 0..3 {
        let Some(fresh) = api.get_opt(name).await? else {
            return Ok(());
        };
        if fresh.metadata.uid != pod.metadata.uid || !has_tracking_finalizer(&fresh) {
            return Ok(());
        }
        let mut next = (*fresh).clone();
        next.metadata
            .finalizers
            .retain(|f| f != JOB_TRACKING_FINALIZER);
        match api.replace(name, &next).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.is_conflict() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Store(format!("pod {name}: finalizer removal failed"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{Container, JobSpec};
    use keel_core::meta::ObjectMeta;

    fn job(mode: &str) -> Job {
        let mut j = Job {
            metadata: ObjectMeta::namespaced("ns", "work"),
            spec: JobSpec {
                completion_mode: Some(mode.into()),
                ..JobSpec::default()
            },
            ..Job::default()
        };
        j.metadata.uid = Some("u".into());
        j.spec.template.spec.containers.push(Container {
            name: "c".into(),
            ..Container::default()
        });
        j
    }

    #[test]
    fn indexed_pods_carry_their_index() {
        let pod = pod_for(&job("Indexed"), Some(3));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("work-3-"));
        assert_eq!(pod.metadata.annotations[JOB_COMPLETION_INDEX], "3");
        assert_eq!(pod.metadata.labels[JOB_COMPLETION_INDEX], "3");
        assert_eq!(pod.spec.hostname.as_deref(), Some("work-3"));
        let env = &pod.spec.containers[0].env[0];
        assert_eq!(env.name, "JOB_COMPLETION_INDEX");
        assert_eq!(
            env.value_from
                .as_ref()
                .unwrap()
                .field_ref
                .as_ref()
                .unwrap()
                .field_path,
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        );
        assert!(has_tracking_finalizer(&pod));
        assert_eq!(completion_index(&pod), Some(3));
    }

    #[test]
    fn non_indexed_pods_are_named_after_the_job() {
        let pod = pod_for(&job("NonIndexed"), None);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("work-"));
        assert!(pod.spec.containers[0].env.is_empty());
        assert_eq!(pod.spec.hostname, None);
        assert!(has_tracking_finalizer(&pod));
        assert_eq!(pod.metadata.controller_owner().unwrap().kind, "Job");
    }
}
