//! Job conditions (types, reasons and messages as Kubernetes writes them) and the
//! status write.

use keel_core::Error;
use keel_core::api::{Job, JobCondition, JobStatus};
use keel_core::client::{Api, Client};
use keel_core::meta::Time;

/// The Job succeeded (set once no pod is left terminating).
pub const COMPLETE: &str = "Complete";
/// The Job failed (set once no pod is left terminating).
pub const FAILED: &str = "Failed";
/// The Job is suspended (`True`) or was resumed (`False`).
pub const SUSPENDED: &str = "Suspended";
/// The Job will fail once its pods are gone (Kubernetes' interim condition).
pub const FAILURE_TARGET: &str = "FailureTarget";
/// The Job will succeed once its pods are gone (Kubernetes' interim condition).
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";

/// The reason of `SuccessCriteriaMet` and `Complete` when enough pods succeeded.
pub const REASON_COMPLETIONS_REACHED: &str = "CompletionsReached";
/// The message that goes with [`REASON_COMPLETIONS_REACHED`].
pub const MESSAGE_COMPLETIONS_REACHED: &str = "Reached expected number of succeeded pods";
/// The reason of a Job that failed more often than `backoffLimit` allows.
pub const REASON_BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
/// The message that goes with [`REASON_BACKOFF_LIMIT_EXCEEDED`].
pub const MESSAGE_BACKOFF_LIMIT_EXCEEDED: &str = "Job has reached the specified backoff limit";
/// The reason of a Job that ran longer than `activeDeadlineSeconds`.
pub const REASON_DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// The message that goes with [`REASON_DEADLINE_EXCEEDED`].
pub const MESSAGE_DEADLINE_EXCEEDED: &str = "Job was active longer than specified deadline";

/// The condition of `job` of type `type_`, if any.
pub fn condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

/// Whether `job` has the condition `type_` with status `True`.
pub fn has_true(job: &Job, type_: &str) -> bool {
    condition(job, type_).is_some_and(|c| c.status == "True")
}

/// The finished condition (`Complete` or `Failed`, status `True`), if the Job finished
/// (Kubernetes' `IsJobFinished`).
pub fn finished_condition(job: &Job) -> Option<&JobCondition> {
    job.status.as_ref().and_then(|s| {
        s.conditions
            .iter()
            .find(|c| (c.type_ == COMPLETE || c.type_ == FAILED) && c.status == "True")
    })
}

/// Whether the Job finished, successfully or not.
pub fn is_finished(job: &Job) -> bool {
    finished_condition(job).is_some()
}

/// A new condition probed and changed at `now`.
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &Time,
) -> JobCondition {
    JobCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        message: (!message.is_empty()).then(|| message.to_owned()),
    }
}

/// Sets the condition `type_` to `status`/`reason`/`message` (Kubernetes'
/// `ensureJobConditionStatus`: a missing condition is not added as `False`). Returns
/// whether anything changed.
pub fn ensure_condition(
    conditions: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &Time,
) -> bool {
    let wanted = new_condition(type_, status, reason, message, now);
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != wanted.status || c.reason != wanted.reason || c.message != wanted.message {
            *c = wanted;
            return true;
        }
        return false;
    }
    if status == "False" {
        return false;
    }
    conditions.push(wanted);
    true
}

/// Writes `status` as the status of `job` (compare-and-swap on the resourceVersion `job` carries: a stale
/// copy gives `Conflict`, and the reconcile is retried from fresh state, so counts are
/// never computed from an outdated status) and returns the stored Job without its
/// status, and the stored status.
pub(super) async fn write(
    client: &Client,
    job: &Job,
    status: &JobStatus,
) -> Result<(Job, JobStatus), Error> {
    let api: Api<Job> = Api::namespaced(client, job.metadata.namespace_str().unwrap_or(""));
    let mut next = job.clone();
    next.status = Some(status.clone());
    let stored = api.replace_status(job.metadata.name_str(), &next).await?;
    let mut stored = (*stored).clone();
    let status = stored.status.take().unwrap_or_default();
    Ok((stored, status))
}
