//! One sync of a CronJob (Kubernetes' `syncCronJob` and `cleanupFinishedJobs`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keel_core::Error;
use keel_core::api::{CronJob, CronJobStatus, Job, ObjectReference};
use keel_core::client::Api;
use keel_core::cron::CronSchedule;
use keel_core::meta::{ObjectMeta, Time};

use super::schedule::{self, Missed};
use super::{CRONJOB_SCHEDULED_TIMESTAMP, Ctx};
use crate::job::{delete_job_with_pods, finished_condition};
use crate::runtime::events::reference;
use crate::workload::{controller_ref, is_controlled_by};

/// The names of the UTC zone that need no zone database.
const UTC_NAMES: &[&str] = &[
    "UTC",
    "Etc/UTC",
    "GMT",
    "Etc/GMT",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
];

fn finished_type(job: &Job) -> Option<&str> {
    finished_condition(job).map(|c| c.type_.as_str())
}

fn in_active(status: &CronJobStatus, uid: Option<&str>) -> bool {
    status.active.iter().any(|r| r.uid.as_deref() == uid)
}

fn remove_active(status: &mut CronJobStatus, uid: Option<&str>) {
    status.active.retain(|r| r.uid.as_deref() != uid);
}

/// The name of the Job for `scheduled`: `<cronjob>-<minutes since the epoch>`.
pub fn job_name(cj: &CronJob, scheduled: &DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        cj.metadata.name_str(),
        scheduled.timestamp().div_euclid(60)
    )
}

/// The Job a CronJob creates for `scheduled` (Kubernetes' `getJobFromTemplate2`).
pub fn job_for(cj: &CronJob, scheduled: &DateTime<Utc>) -> Job {
    let template = cj.spec.job_template.metadata.clone().unwrap_or_default();
    let mut annotations = template.annotations;
    annotations.insert(
        CRONJOB_SCHEDULED_TIMESTAMP.to_owned(),
        Time::from(*scheduled).to_string(),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(cj, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: template.labels,
            annotations,
            owner_references: vec![controller_ref(cj)],
            ..ObjectMeta::default()
        },
        spec: cj.spec.job_template.spec.clone(),
        ..Job::default()
    }
}

/// Deletes `job` and its pods and drops it from `status.active`; records the outcome.
async fn delete_job(ctx: &Ctx, cj: &CronJob, job: &Job, status: &mut CronJobStatus) -> bool {
    match delete_job_with_pods(&ctx.client, job).await {
        Ok(_) => {
            remove_active(status, job.metadata.uid.as_deref());
            let msg = format!("Deleted job {}", job.metadata.name_str());
            let _ = ctx.recorder.normal(cj, "SuccessfulDelete", &msg).await;
            true
        }
        Err(e) => {
            let msg = format!("Deleted job: {e}");
            let _ = ctx.recorder.warning(cj, "FailedDelete", &msg).await;
            false
        }
    }
}

/// Deletes the oldest finished Jobs beyond `successfulJobsHistoryLimit` and
/// `failedJobsHistoryLimit` (oldest by start time, then name). Returns whether the
/// status changed.
pub(super) async fn cleanup_finished(
    ctx: &Ctx,
    cj: &CronJob,
    jobs: &[Arc<Job>],
    status: &mut CronJobStatus,
) -> bool {
    let mut changed = false;
    for (type_, limit) in [
        ("Complete", cj.spec.successful_jobs_history_limit),
        ("Failed", cj.spec.failed_jobs_history_limit),
    ] {
        let Some(limit) = limit else { continue };
        let mut done: Vec<&Arc<Job>> = jobs
            .iter()
            .filter(|j| finished_type(j) == Some(type_))
            .collect();
        let extra = done
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        if extra == 0 {
            continue;
        }
        done.sort_by(|a, b| {
            let (sa, sb) = (start_time(a), start_time(b));
            match (sa, sb) {
                (Some(x), Some(y)) if x != y => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                _ => a.metadata.name_str().cmp(b.metadata.name_str()),
            }
        });
        for job in done.into_iter().take(extra) {
            changed |= delete_job(ctx, cj, job, status).await;
        }
    }
    changed
}

fn start_time(job: &Job) -> Option<&Time> {
    job.status.as_ref().and_then(|s| s.start_time.as_ref())
}

/// Reconciles `status` with the Jobs and starts the run that is due. Returns when to
/// look again and whether the status changed.
pub(super) async fn sync(
    ctx: &Ctx,
    cj: &CronJob,
    jobs: &[Arc<Job>],
    status: &mut CronJobStatus,
) -> Result<(Option<Duration>, bool), Error> {
    let now = ctx.client.clock().now();
    let mut changed = false;
    let api: Api<CronJob> = Api::namespaced(&ctx.client, cj.metadata.namespace_str().unwrap_or(""));
    let job_api: Api<Job> = Api::namespaced(&ctx.client, cj.metadata.namespace_str().unwrap_or(""));
    for j in jobs {
        let uid = j.metadata.uid.as_deref();
        let found = in_active(status, uid);
        let finished = finished_type(j);
        if !found && finished.is_none() {
            // Perhaps our own status write has not reached the cache yet.
            let fresh = api.get_opt(cj.metadata.name_str()).await?;
            if let Some(fresh_status) = fresh
                .as_ref()
                .and_then(|c| c.status.as_ref())
                .filter(|s| in_active(s, uid))
            {
                // Go on from the stored status, as Kubernetes does (`cronJob = cjCopy`).
                *status = fresh_status.clone();
                continue;
            }
            let msg = format!(
                "Saw a job that the controller did not create or forgot: {}",
                j.metadata.name_str()
            );
            let _ = ctx.recorder.warning(cj, "UnexpectedJob", &msg).await;
        } else if found && let Some(type_) = finished {
            remove_active(status, uid);
            let msg = format!(
                "Saw completed job: {}, status: {type_}",
                j.metadata.name_str()
            );
            let _ = ctx.recorder.normal(cj, "SawCompletedJob", &msg).await;
            changed = true;
        } else if finished == Some("Complete") {
            let done = j.status.as_ref().and_then(|s| s.completion_time.clone());
            if done.is_some()
                && (status.last_successful_time.is_none() || done > status.last_successful_time)
            {
                status.last_successful_time = done;
                changed = true;
            }
        }
    }
    // Active references whose Job is gone.
    let missing: Vec<ObjectReference> = status
        .active
        .iter()
        .filter(|r| !jobs.iter().any(|j| j.metadata.uid == r.uid))
        .cloned()
        .collect();
    for r in missing {
        let name = r.name.clone().unwrap_or_default();
        if job_api.get_opt(&name).await?.is_none() {
            let _ = ctx
                .recorder
                .normal(
                    cj,
                    "MissingJob",
                    &format!("Active job went missing: {name}"),
                )
                .await;
            remove_active(status, r.uid.as_deref());
            changed = true;
        }
    }
    if cj.metadata.deletion_timestamp.is_some() {
        return Ok((None, changed));
    }
    if let Some(tz) = cj.spec.time_zone.as_deref()
        && !UTC_NAMES.contains(&tz)
    {
        let msg = format!("invalid timeZone: {tz:?}: unknown time zone {tz}");
        let _ = ctx.recorder.warning(cj, "UnknownTimeZone", &msg).await;
        return Ok((None, changed));
    }
    if cj.spec.suspend == Some(true) {
        return Ok((None, changed));
    }
    let schedule = match CronSchedule::parse(&cj.spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("unparseable schedule: {:?} : {e}", cj.spec.schedule);
            let _ = ctx.recorder.warning(cj, "UnparseableSchedule", &msg).await;
            return Ok((None, changed));
        }
    };
    let created = cj
        .metadata
        .creation_timestamp
        .clone()
        .unwrap_or_else(|| now.clone());
    let mut earliest = status.last_schedule_time.clone().unwrap_or(created);
    let next = |status: &CronJobStatus| {
        let from = status.last_schedule_time.clone().unwrap_or_else(|| {
            cj.metadata
                .creation_timestamp
                .clone()
                .unwrap_or_else(|| now.clone())
        });
        schedule::next_delay(&schedule, from.0, now.0)
    };
    let window = cj
        .spec
        .starting_deadline_seconds
        .map(|s| chrono::TimeDelta::try_seconds(s).unwrap_or(chrono::TimeDelta::MAX));
    if let Some(deadline) = window.and_then(|w| now.0.checked_sub_signed(w))
        && deadline > earliest.0
    {
        earliest = Time(deadline);
    }
    let (due, missed) = schedule::most_recent(&schedule, earliest.0, now.0);
    let Some(scheduled) = due else {
        return Ok((next(status), changed));
    };
    if missed == Missed::Many {
        let _ = ctx
            .recorder
            .warning(cj, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
            .await;
    }
    if window
        .and_then(|w| scheduled.checked_add_signed(w))
        .is_some_and(|latest| latest < now.0)
    {
        let msg = format!(
            "Missed scheduled time to start a job: {}",
            scheduled.format("%a, %d %b %Y %H:%M:%S %z")
        );
        let _ = ctx.recorder.warning(cj, "MissSchedule", &msg).await;
        return Ok((next(status), changed));
    }
    let name = job_name(cj, &scheduled);
    if status
        .active
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || status
            .last_schedule_time
            .as_ref()
            .is_some_and(|t| t.0 == scheduled)
    {
        return Ok((next(status), changed));
    }
    let policy = cj.spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if policy == "Forbid" && !status.active.is_empty() {
        let _ = ctx
            .recorder
            .normal(cj, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
            .await;
        return Ok((next(status), changed));
    }
    if policy == "Replace" {
        for r in status.active.clone() {
            let running = job_api.get(r.name.as_deref().unwrap_or("")).await;
            let running = match running {
                Ok(j) => j,
                Err(e) => {
                    let _ = ctx
                        .recorder
                        .warning(cj, "FailedGet", &format!("Get job: {e}"))
                        .await;
                    return Err(e);
                }
            };
            if !delete_job(ctx, cj, &running, status).await {
                return Err(Error::Store(format!(
                    "could not replace job {}/{}",
                    running.metadata.namespace_str().unwrap_or(""),
                    running.metadata.name_str()
                )));
            }
            changed = true;
        }
    }
    let job = match job_api.create_owned(job_for(cj, &scheduled)).await {
        Ok(job) => {
            let msg = format!("Created job {}", job.metadata.name_str());
            let _ = ctx.recorder.normal(cj, "SuccessfulCreate", &msg).await;
            job
        }
        Err(e) if e.is_already_exists() => {
            let job = job_api.get(&name).await?;
            let ours = is_controlled_by(&job.metadata, cj.metadata.uid.as_deref().unwrap_or(""));
            if !ours || in_active(status, job.metadata.uid.as_deref()) {
                return Ok((None, changed));
            }
            job
        }
        Err(e) => {
            let _ = ctx
                .recorder
                .warning(cj, "FailedCreate", &format!("Error creating job: {e}"))
                .await;
            return Err(e);
        }
    };
    status.active.push(reference(&*job));
    status.last_schedule_time = Some(Time::from(scheduled));
    Ok((next(status), true))
}
