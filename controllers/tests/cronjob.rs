//! The CronJob controller against the in-memory store, in virtual time, with a clock
//! starting at 2026-01-01T00:00:00Z. Most tests play the Job controller's part by
//! writing Job conditions; the Replace test runs the real Job controller.

// `support::wait_for` trips this pedantic lint (shared file, left as it is).

mod support;

use std::sync::Arc;
use std::time::Duration;

use keel_controllers::ControllerManager;
use keel_controllers::cronjob::CRONJOB_SCHEDULED_TIMESTAMP;
use keel_core::api::{CronJob, CronJobSpec, Event, Job, JobCondition, JobStatus, Pod};
use keel_core::client::{Api, Client, ListParams};
use keel_core::meta::Time;
use support::*;
use tokio::time::Instant;

const ORIGIN: &str = "2026-01-01T00:00:00Z";

fn client() -> Client {
    Client::builder(keel_core::store::MemoryStore::new())
        .clock(keel_core::Clock::starting_at(ORIGIN.parse().unwrap()))
        .build()
}

fn start(client: &Client, controllers: &[&str]) -> keel_controllers::ManagerHandle {
    let mut m = ControllerManager::new(client.clone());
    for c in controllers {
        m = m.with(c).unwrap();
    }
    m.start()
}

fn cron_job(schedule: &str, policy: &str) -> CronJob {
    let mut t = template("tick", "busybox");
    t.spec.restart_policy = Some("Never".into());
    let mut cj = CronJob {
        metadata: meta("tick"),
        spec: CronJobSpec {
            schedule: schedule.into(),
            concurrency_policy: Some(policy.into()),
            ..CronJobSpec::default()
        },
        ..CronJob::default()
    };
    cj.spec.job_template.spec.template = t;
    cj
}

/// `minutes` after the origin, as the Job name suffix (minutes since the epoch).
fn job_name(minutes: i64) -> String {
    let origin: Time = ORIGIN.parse().unwrap();
    format!("tick-{}", origin.unix_seconds() / 60 + minutes)
}

fn at_minute(minutes: u64) -> Time {
    let origin: Time = ORIGIN.parse().unwrap();
    origin.saturating_add(Duration::from_secs(minutes * 60))
}

fn names(jobs: &[Arc<Job>]) -> Vec<String> {
    let mut n: Vec<String> = jobs
        .iter()
        .map(|j| j.metadata.name_str().to_owned())
        .collect();
    n.sort();
    n
}

/// Plays the Job controller: the Job finished (`Complete` or `Failed`) now.
async fn finish_job(client: &Client, name: &str, type_: &str) {
    let api: Api<Job> = Api::default_namespaced(client);
    let now = client.clock().now();
    let mut job = (*api.get(name).await.unwrap()).clone();
    let mut status = job.status.clone().unwrap_or_default();
    status.start_time.get_or_insert(now.clone());
    if type_ == "Complete" {
        status.completion_time = Some(now.clone());
    }
    status.conditions.push(JobCondition {
        type_: type_.into(),
        status: "True".into(),
        last_transition_time: Some(now),
        ..JobCondition::default()
    });
    job.status = Some(status);
    api.replace_status(name, &job).await.unwrap();
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

async fn wait_event(client: &Client, reason: &str) -> Arc<Event> {
    let api: Api<Event> = Api::default_namespaced(client);
    let found = wait_for(&api, reason, |e| {
        e.iter().any(|e| e.reason.as_deref() == Some(reason))
    })
    .await;
    found
        .into_iter()
        .find(|e| e.reason.as_deref() == Some(reason))
        .unwrap()
}

fn status(cj: &CronJob) -> CronJobStatus {
    cj.status.clone().unwrap_or_default()
}

use keel_core::api::CronJobStatus;

#[tokio::test(start_paused = true)]
async fn every_five_minutes_creates_named_jobs_on_time() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob"]);
    let began = Instant::now();
    let cj = cjs.create(&cron_job("*/5 * * * *", "Allow")).await.unwrap();

    let first = wait_for(&jobs, "the 00:05 Job", |j| j.len() == 1).await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(300) && took < Duration::from_secs(301),
        "{took:?}"
    );
    let job = &first[0];
    assert_eq!(job.metadata.name_str(), job_name(5));
    assert_eq!(
        job.metadata.annotations[CRONJOB_SCHEDULED_TIMESTAMP],
        "2026-01-01T00:05:00Z"
    );
    let owner = job.metadata.controller_owner().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("CronJob", cj.metadata.uid.as_deref().unwrap())
    );
    assert_eq!(
        job.spec.template.spec.restart_policy.as_deref(),
        Some("Never")
    );
    let now = wait_for_object(&cjs, "tick", "status.active", |c| {
        status(c).active.len() == 1
    })
    .await;
    let s = status(&now);
    assert_eq!(s.active[0].name.as_deref(), Some(job_name(5).as_str()));
    assert_eq!(s.active[0].uid, job.metadata.uid);
    assert_eq!(s.last_schedule_time, Some(at_minute(5)));

    // Allow: the next run starts while the first is still active.
    let two = wait_for(&jobs, "the 00:10 Job", |j| j.len() == 2).await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(600) && took < Duration::from_secs(601),
        "{took:?}"
    );
    assert_eq!(names(&two), [job_name(5), job_name(10)]);
    let now = wait_for_object(&cjs, "tick", "two active", |c| status(c).active.len() == 2).await;
    assert_eq!(status(&now).last_schedule_time, Some(at_minute(10)));
    assert_eq!(events(&client, "SuccessfulCreate").await.len(), 2);

    // A finished Job leaves status.active; a successful one sets lastSuccessfulTime.
    finish_job(&client, &job_name(5), "Complete").await;
    let now = wait_for_object(&cjs, "tick", "the finished Job seen", |c| {
        status(c).active.len() == 1 && status(c).last_successful_time.is_some()
    })
    .await;
    assert_eq!(
        status(&now).active[0].name.as_deref(),
        Some(job_name(10).as_str())
    );
    let seen = wait_event(&client, "SawCompletedJob").await;
    assert_eq!(
        seen.message.as_deref(),
        Some(format!("Saw completed job: {}, status: Complete", job_name(5)).as_str())
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn forbid_skips_runs_while_a_job_is_active() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob"]);
    cjs.create(&cron_job("*/5 * * * *", "Forbid"))
        .await
        .unwrap();
    wait_for(&jobs, "the 00:05 Job", |j| j.len() == 1).await;
    let skipped = wait_event(&client, "JobAlreadyActive").await;
    assert_eq!(
        skipped.message.as_deref(),
        Some(
            "Not starting job because prior execution is running and concurrency policy is Forbid"
        )
    );
    assert_eq!(client.clock().now().0.format("%H:%M").to_string(), "00:10");
    assert_eq!(
        jobs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    // The 00:15 run is skipped too (the same event, counted twice); still one Job.
    let api: Api<Event> = Api::default_namespaced(&client);
    wait_for(&api, "a second skip", |e| {
        e.iter()
            .any(|e| e.reason.as_deref() == Some("JobAlreadyActive") && e.count == Some(2))
    })
    .await;
    assert_eq!(client.clock().now().0.format("%H:%M").to_string(), "00:15");
    let c = cjs.get("tick").await.unwrap();
    assert_eq!(status(&c).last_schedule_time, Some(at_minute(5)));
    assert_eq!(
        jobs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    // Once it finishes, the missed run (no startingDeadlineSeconds) starts at once.
    finish_job(&client, &job_name(5), "Complete").await;
    let all = wait_for(&jobs, "the late run", |j| j.len() == 2).await;
    assert!(names(&all).contains(&job_name(15)), "{:?}", names(&all));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn replace_deletes_the_active_job_and_its_pods() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob", "job"]);
    cjs.create(&cron_job("*/5 * * * *", "Replace"))
        .await
        .unwrap();
    let first = wait_for(&jobs, "the 00:05 Job", |j| j.len() == 1).await;
    let first_uid = first[0].metadata.uid.clone().unwrap();
    let owned_by = |p: &Pod, uid: &str| p.metadata.controller_owner().is_some_and(|o| o.uid == uid);
    wait_for(&pods, "its pod", |p| {
        p.iter().any(|p| owned_by(p, &first_uid))
    })
    .await;

    let second = wait_for(&jobs, "the replacement", |j| {
        j.len() == 1 && j[0].metadata.name_str() == job_name(10)
    })
    .await;
    let second_uid = second[0].metadata.uid.clone().unwrap();
    let left = wait_for(&pods, "the old pod gone, a new one", |p| {
        !p.iter().any(|p| owned_by(p, &first_uid)) && p.iter().any(|p| owned_by(p, &second_uid))
    })
    .await;
    assert_eq!(left.len(), 1);
    let c = wait_for_object(&cjs, "tick", "active = the new Job", |c| {
        status(c).active.len() == 1
            && status(c).active[0].uid.as_deref() == Some(second_uid.as_str())
    })
    .await;
    assert_eq!(status(&c).last_schedule_time, Some(at_minute(10)));
    let deleted = wait_event(&client, "SuccessfulDelete").await;
    let expected = format!("Deleted job {}", job_name(5));
    assert!(
        events(&client, "SuccessfulDelete")
            .await
            .iter()
            .any(|e| e.message.as_deref() == Some(expected.as_str())),
        "{deleted:?}"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn starting_deadline_skips_runs_missed_by_more_than_it() {
    for (deadline, late_run) in [(Some(60), false), (None, true)] {
        let client = client();
        let cjs: Api<CronJob> = Api::default_namespaced(&client);
        let jobs: Api<Job> = Api::default_namespaced(&client);
        let manager = start(&client, &["cronjob"]);
        let mut cj = cron_job("*/5 * * * *", "Allow");
        cj.spec.suspend = Some(true);
        cj.spec.starting_deadline_seconds = deadline;
        cjs.create(&cj).await.unwrap();
        // The 00:05 run is missed while suspended; at 00:07 the CronJob resumes.
        tokio::time::advance(Duration::from_secs(7 * 60)).await;
        assert!(
            jobs.list(&ListParams::default())
                .await
                .unwrap()
                .items
                .is_empty(),
            "suspended"
        );
        let mut resumed = (*cjs.get("tick").await.unwrap()).clone();
        resumed.spec.suspend = Some(false);
        cjs.replace("tick", &resumed).await.unwrap();
        let resumed_at = Instant::now();
        let first = wait_for(&jobs, "a Job", |j| !j.is_empty()).await;
        if late_run {
            // Without a deadline the missed run starts at once, late.
            assert_eq!(first[0].metadata.name_str(), job_name(5));
            assert!(resumed_at.elapsed() < Duration::from_secs(1));
        } else {
            // 00:05 was missed by 2 minutes > 60 s: skipped; the next run is 00:10.
            assert_eq!(first[0].metadata.name_str(), job_name(10));
            let waited = resumed_at.elapsed();
            assert!(
                waited >= Duration::from_secs(180) && waited < Duration::from_secs(181),
                "{waited:?}"
            );
        }
        manager.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_suspended_cronjob_runs_nothing_and_then_only_the_latest_missed_time() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob"]);
    let mut cj = cron_job("*/5 * * * *", "Allow");
    cj.spec.suspend = Some(true);
    cjs.create(&cj).await.unwrap();
    tokio::time::advance(Duration::from_secs(32 * 60)).await;
    assert!(
        jobs.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut resumed = (*cjs.get("tick").await.unwrap()).clone();
    resumed.spec.suspend = Some(false);
    cjs.replace("tick", &resumed).await.unwrap();
    // Six runs were missed: only the latest (00:30) starts.
    let all = wait_for(&jobs, "one Job", |j| !j.is_empty()).await;
    assert_eq!(names(&all), [job_name(30)]);
    wait_for_object(&cjs, "tick", "lastScheduleTime", |c| {
        status(c).last_schedule_time == Some(at_minute(30))
    })
    .await;
    assert!(events(&client, "TooManyMissedTimes").await.is_empty());
    let all = wait_for(&jobs, "the 00:35 run", |j| j.len() == 2).await;
    assert_eq!(names(&all), [job_name(30), job_name(35)]);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn too_many_missed_times_are_reported_and_only_the_latest_runs() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob"]);
    let mut cj = cron_job("*/5 * * * *", "Allow");
    cj.spec.suspend = Some(true);
    cjs.create(&cj).await.unwrap();
    tokio::time::advance(Duration::from_secs(10 * 3600 + 60)).await;
    let mut resumed = (*cjs.get("tick").await.unwrap()).clone();
    resumed.spec.suspend = Some(false);
    cjs.replace("tick", &resumed).await.unwrap();
    let warning = wait_event(&client, "TooManyMissedTimes").await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert_eq!(
        warning.message.as_deref(),
        Some(
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
        )
    );
    let all = wait_for(&jobs, "one Job", |j| !j.is_empty()).await;
    assert_eq!(names(&all), [job_name(600)]);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn history_limits_delete_the_oldest_finished_jobs_and_their_pods() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client, &["cronjob"]);
    let mut cj = cron_job("*/5 * * * *", "Allow");
    cj.spec.successful_jobs_history_limit = Some(2);
    cj.spec.failed_jobs_history_limit = Some(1);
    cjs.create(&cj).await.unwrap();
    // Runs 1..=6 at 00:05 … 00:30: runs 2 and 4 fail, the others succeed.
    let mut doomed_pod = None;
    for run in 1..=6_i64 {
        let name = job_name(5 * run);
        let all = wait_for(&jobs, "the next run", |j| {
            j.iter().any(|j| j.metadata.name_str() == name)
        })
        .await;
        if run == 1 {
            // A pod of the first Job: it goes with its Job.
            let job = all.iter().find(|j| j.metadata.name_str() == name).unwrap();
            let mut p = Pod {
                metadata: meta("run-1-pod"),
                ..Pod::default()
            };
            p.metadata
                .owner_references
                .push(keel_controllers::workload::controller_ref(&**job));
            p.spec.containers.push(container("busybox"));
            doomed_pod = Some(pods.create(&p).await.unwrap());
        }
        let type_ = if run % 2 == 0 && run <= 4 {
            "Failed"
        } else {
            "Complete"
        };
        finish_job(&client, &name, type_).await;
    }
    // No more runs, so the status can settle.
    let mut stop = (*cjs.get("tick").await.unwrap()).clone();
    stop.spec.suspend = Some(true);
    cjs.replace("tick", &stop).await.unwrap();
    let left = wait_for(&jobs, "history trimmed", |j| j.len() == 3).await;
    // Kept: the two newest successes (5, 6) and the newest failure (4).
    assert_eq!(names(&left), [job_name(20), job_name(25), job_name(30)]);
    assert!(
        pods.get_opt(doomed_pod.unwrap().metadata.name_str())
            .await
            .unwrap()
            .is_none()
    );
    let c = wait_for_object(&cjs, "tick", "nothing active", |c| {
        status(c).active.is_empty()
            && status(c).last_successful_time.map(|t| t.to_string())
                == Some(at_minute(30).to_string())
    })
    .await;
    assert_eq!(status(&c).last_schedule_time, Some(at_minute(30)));
    assert_eq!(events(&client, "SuccessfulDelete").await.len(), 3);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn jobs_run_by_the_job_controller_complete_the_cycle() {
    let client = client();
    let cjs: Api<CronJob> = Api::default_namespaced(&client);
    let jobs: Api<Job> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let manager = start(&client, &["job", "cronjob"]);
    cjs.create(&cron_job("30 * * * *", "Forbid")).await.unwrap();
    let pod = wait_for(&pods, "the run's pod", |p| p.len() == 1).await;
    assert_eq!(client.clock().now().0.format("%H:%M").to_string(), "00:30");
    let mut done = (*pod[0]).clone();
    let mut st = done.status.clone().unwrap_or_default();
    st.phase = Some("Succeeded".into());
    done.status = Some(st);
    pods.replace_status(done.metadata.name_str(), &done)
        .await
        .unwrap();
    let finished = wait_for_object(&jobs, &job_name(30), "Complete", |j| {
        j.status
            .as_ref()
            .is_some_and(|s: &JobStatus| s.conditions.iter().any(|c| c.type_ == "Complete"))
    })
    .await;
    let c = wait_for_object(&cjs, "tick", "lastSuccessfulTime", |c| {
        status(c).last_successful_time.is_some()
    })
    .await;
    assert_eq!(
        status(&c).last_successful_time,
        finished.status.as_ref().unwrap().completion_time
    );
    assert!(status(&c).active.is_empty());
    manager.shutdown().await;
}
