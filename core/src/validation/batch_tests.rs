//! One case per batch/v1 validation rule, on defaulted Jobs and CronJobs.

use crate::api::{CronJob, Job};
use crate::validation::ErrorType::{Forbidden, Invalid, NotSupported, Required};
use crate::validation::testing::{assert_errors, defaulted};

fn job() -> Job {
    defaulted(
        r"
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl
        command: [perl, -e, print 1]
",
    )
}

fn cron_job() -> CronJob {
    defaulted(
        r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: tick, image: busybox}]
"#,
    )
}

#[test]
fn valid_batch_workloads_pass() {
    assert_errors(&job(), &[]);
    assert_errors(&cron_job(), &[]);
}

#[test]
fn job_restart_policy_is_on_failure_or_never() {
    let mut j = job();
    j.spec.template.spec.restart_policy = Some("Always".into());
    assert_errors(&j, &[("spec.template.spec.restartPolicy", Required)]);
    let mut j: Job = defaulted(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n",
    );
    assert_errors(&j, &[("spec.template.spec.restartPolicy", Required)]);
    j.spec.template.spec.restart_policy = Some("OnFailure".into());
    assert_errors(&j, &[]);
}

#[test]
fn job_counts_are_non_negative() {
    let mut j = job();
    j.spec.parallelism = Some(-1);
    j.spec.completions = Some(-1);
    j.spec.backoff_limit = Some(-1);
    j.spec.active_deadline_seconds = Some(-1);
    j.spec.ttl_seconds_after_finished = Some(-1);
    assert_errors(
        &j,
        &[
            ("spec.parallelism", Invalid),
            ("spec.completions", Invalid),
            ("spec.activeDeadlineSeconds", Invalid),
            ("spec.backoffLimit", Invalid),
            ("spec.ttlSecondsAfterFinished", Invalid),
        ],
    );
}

#[test]
fn indexed_jobs_need_completions() {
    let mut j = job();
    j.spec.completion_mode = Some("Indexed".into());
    j.spec.completions = None;
    assert_errors(&j, &[("spec.completions", Required)]);
    j.spec.completion_mode = Some("Sometimes".into());
    assert_errors(&j, &[("spec.completionMode", NotSupported)]);
    let mut j = job();
    j.spec.backoff_limit_per_index = Some(1);
    assert_errors(&j, &[("spec.backoffLimitPerIndex", Forbidden)]);
}

#[test]
fn manual_selectors_must_select_the_template() {
    let mut j = job();
    j.spec.manual_selector = Some(true);
    assert_errors(&j, &[("spec.selector", Required)]);
    j.spec.selector = Some(crate::labels::LabelSelector::from_match_labels([(
        "app", "pi",
    )]));
    assert_errors(&j, &[("spec.template.metadata.labels", Invalid)]);
    j.spec
        .template
        .metadata
        .labels
        .insert("app".into(), "pi".into());
    assert_errors(&j, &[]);
}

#[test]
fn pod_failure_policies() {
    let mut j = job();
    j.spec.pod_failure_policy = Some(
        serde_json::from_str(
            r#"{"rules":[
                {"action":"FailJob","onExitCodes":{"containerName":"nope","operator":"In","values":[0,3,2]}},
                {"action":"Explode","onPodConditions":[{"type":"DisruptionTarget"}]},
                {"action":"Ignore"}]}"#,
        )
        .unwrap(),
    );
    j.spec.pod_replacement_policy = Some("Failed".into());
    assert_errors(
        &j,
        &[
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.containerName",
                Invalid,
            ),
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values[0]",
                Invalid,
            ),
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values[2]",
                Invalid,
            ),
            ("spec.podFailurePolicy.rules[1].action", NotSupported),
            ("spec.podFailurePolicy.rules[2]", Invalid),
        ],
    );
}

#[test]
fn cron_schedules_are_parsed() {
    let mut c = cron_job();
    c.spec.schedule = "61 * * * *".into();
    assert_errors(&c, &[("spec.schedule", Invalid)]);
    c.spec.schedule = "TZ=UTC 0 * * * *".into();
    assert_errors(
        &c,
        &[("spec.schedule", Invalid), ("spec.schedule", Invalid)],
    );
    c.spec.schedule = String::new();
    assert_errors(&c, &[("spec.schedule", Required)]);
    c.spec.schedule = "@daily".into();
    assert_errors(&c, &[]);
}

#[test]
fn cron_job_policies_and_template() {
    let mut c = cron_job();
    c.spec.concurrency_policy = Some("Sometimes".into());
    c.spec.time_zone = Some("Local".into());
    c.spec.successful_jobs_history_limit = Some(-1);
    c.spec.job_template.spec.template.spec.restart_policy = Some("Always".into());
    assert_errors(
        &c,
        &[
            ("spec.timeZone", Invalid),
            ("spec.concurrencyPolicy", NotSupported),
            (
                "spec.jobTemplate.spec.template.spec.restartPolicy",
                Required,
            ),
            ("spec.successfulJobsHistoryLimit", Invalid),
        ],
    );
    let mut c = cron_job();
    c.spec.time_zone = Some("America/New_York".into());
    assert_errors(&c, &[]);
}

#[test]
fn cron_job_names_leave_room_for_job_suffixes() {
    let mut c = cron_job();
    c.metadata.namespace = Some("default".into());
    c.metadata.name = Some("a".repeat(53));
    let err = crate::validation::validate(&c).unwrap_err();
    assert_eq!(err.errors[0].path.to_string(), "metadata.name");
    assert!(err.errors[0].detail.contains("52"), "{err}");
    c.metadata.name = Some("a".repeat(52));
    assert!(crate::validation::validate(&c).is_ok());
}
