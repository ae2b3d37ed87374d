//! Defaults of the batch/v1 workloads (Kubernetes' `batch/v1` `SetDefaults_*`).

use super::pod::pod_spec;
use crate::api::{CronJob, Job};

/// `Job`: completions and parallelism 1 when both are unset (parallelism 1 otherwise),
/// backoffLimit 6 (or the int32 maximum with a per-index limit), `NonIndexed`, not
/// suspended, pod replacement `TerminatingOrFailed` (`Failed` with a pod failure
/// policy), the Job's labels from the template when it has none.
pub fn job(job: &mut Job) {
    let spec = &mut job.spec;
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    let template_labels = &spec.template.metadata.labels;
    if !template_labels.is_empty() && job.metadata.labels.is_empty() {
        job.metadata.labels = template_labels.clone();
    }
    if spec.completion_mode.as_deref().is_none_or(str::is_empty) {
        spec.completion_mode = Some("NonIndexed".to_owned());
    }
    spec.suspend.get_or_insert(false);
    if let Some(policy) = spec.pod_failure_policy.as_mut() {
        for rule in &mut policy.rules {
            for pattern in &mut rule.on_pod_conditions {
                if pattern.status.as_deref().is_none_or(str::is_empty) {
                    pattern.status = Some("True".to_owned());
                }
            }
        }
    }
    if spec.pod_replacement_policy.is_none() {
        let policy = if spec.pod_failure_policy.is_some() {
            "Failed"
        } else {
            "TerminatingOrFailed"
        };
        spec.pod_replacement_policy = Some(policy.to_owned());
    }
    pod_spec(&mut spec.template.spec);
}

/// `CronJob`: `Allow`, not suspended, keep 3 successful and 1 failed Job.
pub fn cron_job(cj: &mut CronJob) {
    let spec = &mut cj.spec;
    if spec.concurrency_policy.as_deref().is_none_or(str::is_empty) {
        spec.concurrency_policy = Some("Allow".to_owned());
    }
    spec.suspend.get_or_insert(false);
    spec.successful_jobs_history_limit.get_or_insert(3);
    spec.failed_jobs_history_limit.get_or_insert(1);
    pod_spec(&mut spec.job_template.spec.template.spec);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_defaults() {
        let mut j = Job::default();
        j.spec
            .template
            .metadata
            .labels
            .insert("app".into(), "pi".into());
        job(&mut j);
        let s = &j.spec;
        assert_eq!(
            (s.completions, s.parallelism, s.backoff_limit),
            (Some(1), Some(1), Some(6))
        );
        assert_eq!(s.completion_mode.as_deref(), Some("NonIndexed"));
        assert_eq!(s.suspend, Some(false));
        assert_eq!(
            s.pod_replacement_policy.as_deref(),
            Some("TerminatingOrFailed")
        );
        assert_eq!(j.metadata.labels["app"], "pi");
        let once = j.clone();
        job(&mut j);
        assert_eq!(j, once);
    }

    #[test]
    fn job_defaults_depend_on_what_is_set() {
        let mut j = Job::default();
        j.spec.parallelism = Some(3);
        j.spec.backoff_limit_per_index = Some(2);
        job(&mut j);
        assert_eq!(
            j.spec.completions, None,
            "a work queue Job keeps completions unset"
        );
        assert_eq!(j.spec.backoff_limit, Some(i32::MAX));
        let mut j = Job::default();
        j.spec.completions = Some(5);
        job(&mut j);
        assert_eq!(j.spec.parallelism, Some(1));
    }

    #[test]
    fn cron_job_defaults() {
        let mut c = CronJob::default();
        cron_job(&mut c);
        let s = &c.spec;
        assert_eq!(s.concurrency_policy.as_deref(), Some("Allow"));
        assert_eq!(
            (
                s.suspend,
                s.successful_jobs_history_limit,
                s.failed_jobs_history_limit
            ),
            (Some(false), Some(3), Some(1))
        );
        assert_eq!(
            s.job_template.spec.backoff_limit, None,
            "job defaults apply to Jobs, not templates"
        );
        assert_eq!(
            s.job_template.spec.template.spec.dns_policy.as_deref(),
            Some("ClusterFirst")
        );
    }
}
