//! The Job controller against the in-memory store, in virtual time. The test plays the
//! node: it finishes pods (`Succeeded` / `Failed`) and reports container restarts.

// `support::wait_for` trips this pedantic lint (shared file, left as it is).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use keel_controllers::ControllerManager;
use keel_controllers::job::{JOB_COMPLETION_INDEX, JOB_TRACKING_FINALIZER};
use keel_core::api::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Event, Job, JobSpec, Pod,
    PodCondition,
};
use keel_core::client::{Api, Client, DeleteParams, ListParams};
use keel_core::meta::Time;
use support::*;
use tokio::time::Instant;

fn job(name: &str, completions: Option<i32>, parallelism: i32) -> Job {
    let mut template = template(name, "busybox");
    template.spec.restart_policy = Some("Never".into());
    Job {
        metadata: meta(name),
        spec: JobSpec {
            completions,
            parallelism: Some(parallelism),
            template,
            ..JobSpec::default()
        },
        ..Job::default()
    }
}

fn start(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("job")
        .unwrap()
        .start()
}

/// A paused-time client whose clock starts at a fixed instant.
fn client() -> Client {
    let origin: Time = "2026-01-01T00:00:00Z".parse().unwrap();
    Client::builder(keel_core::store::MemoryStore::new())
        .clock(keel_core::Clock::starting_at(origin))
        .build()
}

fn is_active(p: &Pod) -> bool {
    !p.is_terminal() && p.metadata.deletion_timestamp.is_none()
}

fn active(pods: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
    pods.iter().filter(|p| is_active(p)).cloned().collect()
}

/// Plays the node: the pod's only container terminated now (exit code 0 for
/// `Succeeded`, 1 for `Failed`) and the pod is no longer Ready.
async fn finish(client: &Client, pod: &Pod, phase: &str) {
    let api: Api<Pod> = Api::default_namespaced(client);
    let now = client.clock().now();
    let mut next = (*api.get(pod.metadata.name_str()).await.unwrap()).clone();
    let mut status = next.status.clone().unwrap_or_default();
    status.phase = Some(phase.into());
    status.container_statuses = vec![ContainerStatus {
        name: "app".into(),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: i32::from(phase == "Failed"),
                finished_at: Some(now.clone()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }];
    status.conditions = vec![PodCondition {
        type_: "Ready".into(),
        status: "False".into(),
        last_transition_time: Some(now),
        ..PodCondition::default()
    }];
    next.status = Some(status);
    api.replace_status(pod.metadata.name_str(), &next)
        .await
        .unwrap();
}

/// Plays the node restarting a pod's container in place `restarts` times.
async fn restarted(client: &Client, pod: &Pod, restarts: i32) {
    let api: Api<Pod> = Api::default_namespaced(client);
    let mut next = (*api.get(pod.metadata.name_str()).await.unwrap()).clone();
    let mut status = next.status.clone().unwrap_or_default();
    status.phase = Some("Running".into());
    status.container_statuses = vec![ContainerStatus {
        name: "app".into(),
        restart_count: restarts,
        ..ContainerStatus::default()
    }];
    next.status = Some(status);
    api.replace_status(pod.metadata.name_str(), &next)
        .await
        .unwrap();
}

fn condition<'a>(job: &'a Job, type_: &str) -> Option<&'a keel_core::api::JobCondition> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

fn has(job: &Job, type_: &str) -> bool {
    condition(job, type_).is_some_and(|c| c.status == "True")
}

async fn events(client: &Client, reason: &str) -> Vec<Arc<Event>> {
    let api: Api<Event> = Api::default_namespaced(client);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .collect()
}

async fn wait_job(jobs: &Api<Job>, what: &str, f: impl Fn(&Job) -> bool) -> Arc<Job> {
    wait_for_object(jobs, "work", what, f).await
}

#[tokio::test(start_paused = true)]
async fn completions_with_parallelism_cap_active_pods_and_complete() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let violated = Arc::new(AtomicBool::new(false));
    let succeeded_total = Arc::new(AtomicI32::new(0));
    let (v, s) = (violated.clone(), succeeded_total.clone());
    let _watch = on_every_change(pods.clone(), move |items| {
        let (v, s) = (v.clone(), s.clone());
        async move {
            let succeeded = items.iter().filter(|p| p.phase() == "Succeeded").count();
            let running = active(&items).len();
            s.store(i32::try_from(succeeded).unwrap(), Ordering::SeqCst);
            // Never more than parallelism, never more than the completions missing.
            if running > 2 || running + succeeded > 5 {
                v.store(true, Ordering::SeqCst);
            }
        }
    });
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let created = jobs.create(&job("work", Some(5), 2)).await.unwrap();

    let first = wait_for(&pods, "2 active pods", |p| active(p).len() == 2).await;
    for p in &first {
        assert!(p.metadata.name_str().starts_with("work-"));
        assert!(
            p.metadata
                .finalizers
                .iter()
                .any(|f| f == JOB_TRACKING_FINALIZER)
        );
        let owner = p.metadata.controller_owner().unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Job", created.metadata.uid.as_deref().unwrap())
        );
        assert_eq!(p.metadata.labels["batch.kubernetes.io/job-name"], "work");
    }
    wait_job(&jobs, "2 active, 2 ready", |j| {
        j.status
            .as_ref()
            .is_some_and(|s| s.active == Some(2) && s.ready == Some(2))
    })
    .await;

    for done in 1..=5 {
        let running = wait_for(&pods, "a running pod", |p| !active(p).is_empty()).await;
        finish(&client, &active(&running)[0], "Succeeded").await;
        wait_job(&jobs, "the success counted", |j| {
            j.status.as_ref().is_some_and(|s| s.succeeded == Some(done))
        })
        .await;
    }
    let done = wait_job(&jobs, "Complete", |j| has(j, "Complete")).await;
    let s = done.status.as_ref().unwrap();
    assert_eq!(
        (s.succeeded, s.failed.unwrap_or(0), s.active),
        (Some(5), 0, Some(0))
    );
    assert!(s.start_time.is_some() && s.completion_time.is_some());
    for type_ in ["SuccessCriteriaMet", "Complete"] {
        let c = condition(&done, type_).unwrap();
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (
                Some("CompletionsReached"),
                Some("Reached expected number of succeeded pods")
            )
        );
    }
    // Finished pods stay, counted, without the tracking finalizer.
    let left = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(left.len(), 5);
    assert!(left.iter().all(|p| p.metadata.finalizers.is_empty()));
    assert!(
        !violated.load(Ordering::SeqCst),
        "active pods exceeded the caps"
    );
    assert_eq!(succeeded_total.load(Ordering::SeqCst), 5);
    assert_eq!(events(&client, "Completed").await.len(), 1);
    assert_eq!(
        events(&client, "SuccessfulCreate").await.len(),
        5,
        "one per pod"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn without_completions_any_success_completes_once_the_rest_finish() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    jobs.create(&job("work", None, 3)).await.unwrap();
    let all = wait_for(&pods, "3 pods", |p| active(p).len() == 3).await;
    finish(&client, &all[0], "Succeeded").await;
    let j = wait_job(&jobs, "success counted", |j| {
        j.status.as_ref().is_some_and(|s| s.succeeded == Some(1))
    })
    .await;
    assert!(!has(&j, "Complete"), "others still run");
    // No replacement for the finished pod: the others are left to finish.
    assert_eq!(
        active(&pods.list(&ListParams::default()).await.unwrap().items).len(),
        2
    );
    finish(&client, &all[1], "Succeeded").await;
    finish(&client, &all[2], "Failed").await;
    let j = wait_job(&jobs, "Complete", |j| has(j, "Complete")).await;
    let s = j.status.as_ref().unwrap();
    assert_eq!((s.succeeded, s.failed), (Some(2), Some(1)));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_pods_are_replaced_after_a_doubling_backoff() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(1), 1);
    j.spec.backoff_limit = Some(10);
    jobs.create(&j).await.unwrap();
    for (n, expected) in [(1, 10), (2, 20), (3, 40), (4, 80)] {
        let now = wait_for(&pods, "one active pod", |p| active(p).len() == 1).await;
        let victim = active(&now)[0].metadata.name_str().to_owned();
        finish(&client, &active(&now)[0], "Failed").await;
        let failed_at = Instant::now();
        wait_for(&pods, "a replacement", |p| {
            active(p).len() == 1 && active(p)[0].metadata.name_str() != victim
        })
        .await;
        let waited = failed_at.elapsed();
        assert!(
            waited >= Duration::from_secs(expected) && waited < Duration::from_secs(expected + 1),
            "failure {n}: replaced after {waited:?}, expected {expected}s"
        );
        wait_job(&jobs, "failures counted", |j| {
            j.status.as_ref().is_some_and(|s| s.failed == Some(n))
        })
        .await;
    }
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn exceeding_the_backoff_limit_fails_the_job() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(3), 2);
    j.spec.backoff_limit = Some(2);
    jobs.create(&j).await.unwrap();
    // Three failures: the third exceeds backoffLimit 2.
    for n in 1..=3 {
        let now = wait_for(&pods, "an active pod", |p| !active(p).is_empty()).await;
        finish(&client, &active(&now)[0], "Failed").await;
        if n < 3 {
            wait_job(&jobs, "failure counted", |j| {
                j.status.as_ref().is_some_and(|s| s.failed == Some(n))
            })
            .await;
        }
    }
    let failed = wait_job(&jobs, "Failed", |j| has(j, "Failed")).await;
    for type_ in ["FailureTarget", "Failed"] {
        let c = condition(&failed, type_).unwrap();
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (
                Some("BackoffLimitExceeded"),
                Some("Job has reached the specified backoff limit")
            )
        );
    }
    let s = failed.status.as_ref().unwrap();
    // The pod still running when the Job failed was deleted and counts as failed too.
    assert_eq!(
        (s.failed, s.active, s.terminating),
        (Some(4), Some(0), Some(0))
    );
    assert!(!has(&failed, "Complete") && s.completion_time.is_none());
    assert!(active(&pods.list(&ListParams::default()).await.unwrap().items).is_empty());
    let warning = &events(&client, "BackoffLimitExceeded").await[0];
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn on_failure_container_restarts_count_toward_the_backoff_limit() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(1), 1);
    j.spec.backoff_limit = Some(3);
    j.spec.template.spec.restart_policy = Some("OnFailure".into());
    jobs.create(&j).await.unwrap();
    let now = wait_for(&pods, "a pod", |p| active(p).len() == 1).await;
    let pod = active(&now)[0].clone();
    restarted(&client, &pod, 2).await;
    wait_job(&jobs, "the pod seen running", |j| {
        j.status.as_ref().is_some_and(|s| s.active == Some(1))
    })
    .await;
    let j = jobs.get("work").await.unwrap();
    assert!(!has(&j, "Failed"), "2 restarts are within backoffLimit 3");
    assert_eq!(
        active(&pods.list(&ListParams::default()).await.unwrap().items).len(),
        1,
        "restarted in place, not replaced"
    );
    restarted(&client, &pod, 3).await;
    let failed = wait_job(&jobs, "Failed", |j| has(j, "Failed")).await;
    assert_eq!(
        condition(&failed, "Failed").unwrap().reason.as_deref(),
        Some("BackoffLimitExceeded")
    );
    wait_for(&pods, "the pod deleted", <[Arc<Pod>]>::is_empty).await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn active_deadline_fails_the_job_and_deletes_its_pods() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(4), 2);
    j.spec.active_deadline_seconds = Some(30);
    let began = Instant::now();
    jobs.create(&j).await.unwrap();
    wait_for(&pods, "2 pods", |p| active(p).len() == 2).await;
    let failed = wait_job(&jobs, "Failed", |j| has(j, "Failed")).await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(30) && took < Duration::from_secs(31),
        "{took:?}"
    );
    let c = condition(&failed, "Failed").unwrap();
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (
            Some("DeadlineExceeded"),
            Some("Job was active longer than specified deadline")
        )
    );
    let s = failed.status.as_ref().unwrap();
    assert_eq!((s.active, s.failed), (Some(0), Some(2)));
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(events(&client, "DeadlineExceeded").await.len(), 1);
    assert_eq!(
        events(&client, "SuccessfulDelete").await.len(),
        2,
        "one per pod"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn indexed_jobs_run_each_index_once() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(4), 2);
    j.spec.completion_mode = Some("Indexed".into());
    jobs.create(&j).await.unwrap();
    let index = |p: &Pod| {
        p.metadata.annotations[JOB_COMPLETION_INDEX]
            .parse::<i32>()
            .unwrap()
    };
    let by_index = |pods: &[Arc<Pod>], i: i32| active(pods).into_iter().find(|p| index(p) == i);

    let first = wait_for(&pods, "indexes 0 and 1", |p| active(p).len() == 2).await;
    let mut seen: Vec<i32> = first.iter().map(|p| index(p)).collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1]);
    for p in &first {
        let i = index(p);
        assert_eq!(p.metadata.labels[JOB_COMPLETION_INDEX], i.to_string());
        assert!(p.metadata.name_str().starts_with(&format!("work-{i}-")));
        assert_eq!(
            p.spec.hostname.as_deref(),
            Some(format!("work-{i}").as_str())
        );
        let env = &p.spec.containers[0].env[0];
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
    }
    // Index 1 succeeds: index 2 starts.
    finish(&client, &by_index(&first, 1).unwrap(), "Succeeded").await;
    let now = wait_for(&pods, "index 2", |p| by_index(p, 2).is_some()).await;
    wait_job(&jobs, "completedIndexes 1", |j| {
        j.status
            .as_ref()
            .is_some_and(|s| s.completed_indexes.as_deref() == Some("1"))
    })
    .await;
    // Index 0 fails: it is retried (after the backoff) with the same index.
    let failed = by_index(&now, 0).unwrap();
    finish(&client, &failed, "Failed").await;
    let now = wait_for(&pods, "index 0 again", |p| {
        by_index(p, 0).is_some_and(|q| q.metadata.uid != failed.metadata.uid)
    })
    .await;
    finish(&client, &by_index(&now, 2).unwrap(), "Succeeded").await;
    let now = wait_for(&pods, "index 3", |p| by_index(p, 3).is_some()).await;
    finish(&client, &by_index(&now, 3).unwrap(), "Succeeded").await;
    wait_job(&jobs, "completedIndexes 1-3", |j| {
        j.status
            .as_ref()
            .is_some_and(|s| s.completed_indexes.as_deref() == Some("1-3"))
    })
    .await;
    let all = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(active(&all).len(), 1, "only index 0 is left to run");
    finish(&client, &by_index(&all, 0).unwrap(), "Succeeded").await;
    let done = wait_job(&jobs, "Complete", |j| has(j, "Complete")).await;
    let s = done.status.as_ref().unwrap();
    assert_eq!(
        (s.completed_indexes.as_deref(), s.succeeded, s.failed),
        (Some("0-3"), Some(4), Some(1))
    );
    // Each index ran once successfully; six pods in all (index 0 twice).
    let all = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(all.len(), 5);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn finished_jobs_are_deleted_with_their_pods_after_the_ttl() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(1), 1);
    j.spec.ttl_seconds_after_finished = Some(60);
    jobs.create(&j).await.unwrap();
    let now = wait_for(&pods, "a pod", |p| active(p).len() == 1).await;
    finish(&client, &now[0], "Succeeded").await;
    wait_job(&jobs, "Complete", |j| has(j, "Complete")).await;
    let finished_at = Instant::now();
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        1,
        "the pod stays until the TTL"
    );
    wait_for(&jobs, "the Job deleted", <[Arc<Job>]>::is_empty).await;
    let waited = finished_at.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(61),
        "{waited:?}"
    );
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "its pods go too"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn suspended_jobs_keep_no_pods_and_resume() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(4), 2);
    j.spec.suspend = Some(true);
    jobs.create(&j).await.unwrap();
    let suspended = wait_job(&jobs, "Suspended", |j| has(j, "Suspended")).await;
    let c = condition(&suspended, "Suspended").unwrap();
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (Some("JobSuspended"), Some("Job suspended"))
    );
    assert!(
        suspended.status.as_ref().unwrap().start_time.is_none(),
        "a suspended Job has not started"
    );
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let mut resume = (*jobs.get("work").await.unwrap()).clone();
    resume.spec.suspend = Some(false);
    jobs.replace("work", &resume).await.unwrap();
    wait_for(&pods, "2 pods", |p| active(p).len() == 2).await;
    let resumed = wait_job(&jobs, "resumed", |j| {
        condition(j, "Suspended").is_some_and(|c| c.status == "False")
    })
    .await;
    let c = condition(&resumed, "Suspended").unwrap();
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (Some("JobResumed"), Some("Job resumed"))
    );
    assert!(resumed.status.as_ref().unwrap().start_time.is_some());

    let mut again = (*jobs.get("work").await.unwrap()).clone();
    again.spec.suspend = Some(true);
    jobs.replace("work", &again).await.unwrap();
    wait_for(&pods, "pods deleted", <[Arc<Pod>]>::is_empty).await;
    let j = wait_job(&jobs, "suspended again", |j| has(j, "Suspended")).await;
    let s = j.status.as_ref().unwrap();
    assert_eq!(
        (s.active, s.failed.unwrap_or(0)),
        (Some(0), 0),
        "pods removed by suspension are not failures"
    );
    assert_eq!(events(&client, "Suspended").await[0].count, Some(2));
    assert_eq!(events(&client, "Resumed").await.len(), 1);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn finished_pods_are_counted_once_even_when_deleted() {
    let client = client();
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client);
    let mut j = job("work", Some(3), 1);
    j.spec.backoff_limit = Some(5);
    jobs.create(&j).await.unwrap();
    let now = wait_for(&pods, "a pod", |p| active(p).len() == 1).await;
    let first = now[0].clone();
    finish(&client, &first, "Succeeded").await;
    wait_job(&jobs, "1 succeeded", |j| {
        j.status.as_ref().is_some_and(|s| s.succeeded == Some(1))
    })
    .await;
    // The counted pod is deleted: it stays counted.
    pods.delete(first.metadata.name_str(), &DeleteParams::immediate())
        .await
        .unwrap();
    // A running pod deleted before finishing counts as failed and is replaced.
    let now = wait_for(&pods, "the next pod", |p| active(p).len() == 1).await;
    let doomed = active(&now)[0].clone();
    pods.delete(doomed.metadata.name_str(), &DeleteParams::default())
        .await
        .unwrap();
    let j = wait_job(&jobs, "deleted pod counted as failed", |j| {
        j.status.as_ref().is_some_and(|s| s.failed == Some(1))
    })
    .await;
    assert_eq!(j.status.as_ref().unwrap().succeeded, Some(1));
    for _ in 0..2 {
        let now = wait_for(&pods, "a running pod", |p| active(p).len() == 1).await;
        finish(&client, &active(&now)[0], "Succeeded").await;
    }
    let done = wait_job(&jobs, "Complete", |j| has(j, "Complete")).await;
    let s = done.status.as_ref().unwrap();
    assert_eq!((s.succeeded, s.failed), (Some(3), Some(1)));
    let uncounted = s.uncounted_terminated_pods.clone().unwrap_or_default();
    assert!(uncounted.succeeded.is_empty() && uncounted.failed.is_empty());
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_adopted_orphan_is_tracked_and_counted_when_it_finishes_later() {
    let client = client();
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let mut orphan = Pod {
        metadata: meta("orphan").with_label("app", "batch"),
        ..Pod::default()
    };
    orphan.spec.containers.push(container("busybox"));
    orphan.spec.restart_policy = Some("Never".into());
    pods.create(&orphan).await.unwrap();
    let mut j = job("batch", Some(1), 1);
    j.spec.manual_selector = Some(true);
    j.spec.selector = Some(selector("batch"));
    jobs.create(&j).await.unwrap();
    let manager = start(&client);
    let adopted = wait_for_object(&pods, "orphan", "adopted", |p| {
        p.metadata.controller_owner().is_some()
    })
    .await;
    assert!(
        adopted
            .metadata
            .finalizers
            .iter()
            .any(|f| f == JOB_TRACKING_FINALIZER),
        "adopted with the tracking finalizer"
    );
    // A later sync sees it finish: it is counted and completes the Job.
    finish(&client, &adopted, "Succeeded").await;
    let done = wait_for_object(&jobs, "batch", "complete", |j| has(j, "Complete")).await;
    assert_eq!(done.status.as_ref().unwrap().succeeded, Some(1));
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        1,
        "no extra pod"
    );
    manager.shutdown().await;
}
