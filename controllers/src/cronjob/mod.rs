//! The CronJob controller: creates Jobs on a cron schedule.
//!
//! As Kubernetes' `cronjob` controller (v2): the schedule ([`CronSchedule`]) is
//! evaluated on the cluster clock; the run due is the most recent unmet schedule time
//! ([`schedule`]); a run later than `startingDeadlineSeconds` is skipped
//! (`MissSchedule`), and with more than 100 missed times only the latest runs
//! (`TooManyMissedTimes`). Jobs are named `<cronjob>-<scheduled minutes since the
//! epoch>` and annotated with their scheduled time; `concurrencyPolicy` `Forbid`
//! skips a run while a Job is active, `Replace` deletes the active Jobs first. Finished
//! Jobs beyond the history limits are deleted, oldest first. `status.active`,
//! `lastScheduleTime` and `lastSuccessfulTime` are kept; the CronJob is looked at again
//! just after its next schedule time.
//!
//! Schedules are evaluated in UTC: `spec.timeZone` must name UTC (`UTC`, `Etc/UTC`, …);
//! any other zone gives the `UnknownTimeZone` event and no runs, as Kubernetes does for
//! a zone it cannot load (Keel carries no zone database).
//!
//! [`CronSchedule`]: keel_core::cron::CronSchedule

pub mod schedule;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{CronJob, Job};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::cache::BY_CONTROLLER_UID;
use crate::runtime::{Action, Cache, Config, Controller, Informers, Recorder, is_owner_kind};

pub use sync::{job_for, job_name};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "cronjob";

/// The annotation with a Job's scheduled time (RFC 3339).
pub const CRONJOB_SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

worker_controller!(
    /// The CronJob controller. `CronJobController::default()` runs 5 workers, as
    /// `kube-controller-manager`'s `--concurrent-cron-job-syncs`.
    CronJobController,
    name: NAME, workers: 5, objects: "CronJobs");

impl CronJobController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let jobs = informers.cache::<Job>();
        let controller = Controller::new(
            Api::<CronJob>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers),
        )
        .owns::<Job>()
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "cronjob-controller"),
            client,
            jobs,
        });
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
    }
}

struct Ctx {
    client: Client,
    jobs: Cache<Job>,
    recorder: Recorder,
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let uid = cj.metadata.uid.clone().unwrap_or_default();
    let ns = cj.metadata.namespace_str().unwrap_or("");
    let jobs: Vec<Arc<Job>> = ctx
        .jobs
        .by_index(BY_CONTROLLER_UID, &uid)
        .into_iter()
        .filter(|j| {
            j.metadata.namespace_str() == Some(ns)
                && j.metadata
                    .controller_owner()
                    .is_some_and(is_owner_kind::<CronJob>)
        })
        .collect();
    let mut status = cj.status.clone().unwrap_or_default();
    let cleaned = sync::cleanup_finished(&ctx, &cj, &jobs, &mut status).await;
    let synced = sync::sync(&ctx, &cj, &jobs, &mut status).await;
    let changed = cleaned || synced.as_ref().is_ok_and(|(_, c)| *c);
    if changed && Some(&status) != cj.status.as_ref() {
        let api: Api<CronJob> = Api::namespaced(&ctx.client, ns);
        let mut next = (*cj).clone();
        next.status = Some(status);
        api.replace_status(cj.metadata.name_str(), &next).await?;
    }
    let (wait, _) = synced?;
    Ok(match wait {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}
