//! Validation of the batch/v1 workloads (Kubernetes' `batch/validation`).

use super::apps::optional_non_negative;
use super::common::{non_negative, qualified_name, validate_label_selector};
use super::pod::pod_template;
use super::{FieldError, FieldPath, validate_annotations, validate_labels};
use crate::api::{CronJob, Job, JobSpec, PodFailurePolicy};
use crate::cron::CronSchedule;

/// The largest `parallelism` / `maxFailedIndexes` / per-index completions of an
/// `Indexed` Job.
const MAX_INDEXED: i32 = 100_000;
/// The most pod failure policy rules.
const MAX_POD_FAILURE_POLICY_RULES: usize = 20;

/// `Job`: its spec; a selector, when given, must select the template's labels (the
/// store generates the `controller-uid` selector when none is given).
pub fn job(job: &Job) -> Vec<FieldError> {
    let spec = &job.spec;
    let p = FieldPath::new("spec");
    let mut errors = job_spec(spec, &p);
    match &spec.selector {
        None if spec.manual_selector == Some(true) => {
            errors.push(FieldError::required(p.child("selector"), ""));
        }
        None => {}
        Some(selector) => {
            errors.extend(validate_label_selector(selector, &p.child("selector")));
            if let Ok(sel) = selector.to_selector()
                && !sel.matches(&spec.template.metadata.labels)
            {
                errors.push(FieldError::invalid(
                    p.child("template").child("metadata").child("labels"),
                    crate::labels::Selector::from_labels(&spec.template.metadata.labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errors
}

/// `validateJobSpec`: counts, limits, completion mode, failure and success policies,
/// pod replacement policy, and a template whose pods restart `OnFailure` or `Never`.
pub fn job_spec(spec: &JobSpec, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = optional_non_negative(spec.parallelism, &p.child("parallelism"));
    errors.extend(optional_non_negative(
        spec.completions,
        &p.child("completions"),
    ));
    if let Some(s) = spec.active_deadline_seconds {
        errors.extend(non_negative(s, &p.child("activeDeadlineSeconds")));
    }
    errors.extend(optional_non_negative(
        spec.backoff_limit,
        &p.child("backoffLimit"),
    ));
    errors.extend(optional_non_negative(
        spec.ttl_seconds_after_finished,
        &p.child("ttlSecondsAfterFinished"),
    ));
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    if let Some(limit) = spec.backoff_limit_per_index {
        let path = p.child("backoffLimitPerIndex");
        errors.extend(non_negative(i64::from(limit), &path));
        if !indexed {
            errors.push(FieldError::forbidden(
                path,
                "requires indexed completion mode",
            ));
        }
    }
    if let Some(max) = spec.max_failed_indexes {
        errors.extend(non_negative(i64::from(max), &p.child("maxFailedIndexes")));
        if spec.backoff_limit_per_index.is_none() {
            errors.push(FieldError::required(
                p.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
    completion_mode(spec, p, &mut errors);
    if let Some(policy) = &spec.pod_failure_policy {
        pod_failure_policy(policy, spec, &p.child("podFailurePolicy"), &mut errors);
    }
    if spec.success_policy.is_some() && !indexed {
        errors.push(FieldError::invalid(
            p.child("completionMode"),
            spec.completion_mode.as_deref().unwrap_or(""),
            "requires indexed completion mode",
        ));
    }
    if let Some(policy) = spec.pod_replacement_policy.as_deref() {
        let path = p.child("podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if policy != "Failed" {
                errors.push(FieldError::not_supported(path, policy, &["Failed"]));
            }
        } else if !matches!(policy, "TerminatingOrFailed" | "Failed") {
            errors.push(FieldError::not_supported(
                path,
                policy,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let tp = p.child("template");
    errors.extend(pod_template(&spec.template, &tp));
    let restart = tp.child("spec").child("restartPolicy");
    match spec.template.spec.restart_policy.as_deref().unwrap_or("") {
        "" | "Always" => errors.push(FieldError::required(
            restart,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" if spec.pod_failure_policy.is_some() => errors.push(FieldError::invalid(
            restart,
            "OnFailure",
            "only \"Never\" is supported when podFailurePolicy is specified",
        )),
        "OnFailure" | "Never" => {}
        other => errors.push(FieldError::not_supported(
            restart,
            other,
            &["OnFailure", "Never"],
        )),
    }
    errors
}

fn completion_mode(spec: &JobSpec, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(mode) = spec.completion_mode.as_deref() else {
        return;
    };
    match mode {
        "NonIndexed" => {}
        "Indexed" => {
            if spec.completions.is_none() {
                errors.push(FieldError::required(
                    p.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(parallelism) = spec.parallelism.filter(|v| *v > MAX_INDEXED) {
                errors.push(FieldError::invalid(
                    p.child("parallelism"),
                    parallelism,
                    format!("must be less than or equal to {MAX_INDEXED} when completion mode is Indexed"),
                ));
            }
            if let (Some(completions), Some(max)) = (spec.completions, spec.max_failed_indexes)
                && max > completions
            {
                errors.push(FieldError::invalid(
                    p.child("maxFailedIndexes"),
                    max,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(max) = spec.max_failed_indexes.filter(|v| *v > MAX_INDEXED) {
                errors.push(FieldError::invalid(
                    p.child("maxFailedIndexes"),
                    max,
                    format!("must be less than or equal to {MAX_INDEXED}"),
                ));
            }
            if let Some(completions) = spec.completions.filter(|v| *v > MAX_INDEXED)
                && spec.backoff_limit_per_index.is_some()
            {
                errors.push(FieldError::invalid(
                    p.child("completions"),
                    completions,
                    format!("must be less than or equal to {MAX_INDEXED} when backoffLimitPerIndex is specified"),
                ));
            }
        }
        other => errors.push(FieldError::not_supported(
            p.child("completionMode"),
            other,
            &["NonIndexed", "Indexed"],
        )),
    }
}

fn pod_failure_policy(
    policy: &PodFailurePolicy,
    spec: &JobSpec,
    p: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let rules = p.child("rules");
    if policy.rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errors.push(FieldError::too_long(
            rules.clone(),
            MAX_POD_FAILURE_POLICY_RULES,
        ));
    }
    let containers: Vec<&str> = spec
        .template
        .spec
        .containers
        .iter()
        .chain(&spec.template.spec.init_containers)
        .map(|c| c.name.as_str())
        .collect();
    for (i, rule) in policy.rules.iter().enumerate() {
        let rp = rules.index(i);
        match rule.action.as_str() {
            "FailJob" | "Ignore" | "Count" => {}
            "FailIndex" => {
                if spec.backoff_limit_per_index.is_none() {
                    errors.push(FieldError::forbidden(
                        rp.child("action"),
                        "requires the backoffLimitPerIndex to be set",
                    ));
                }
            }
            other => errors.push(FieldError::not_supported(
                rp.child("action"),
                other,
                &["Count", "FailIndex", "FailJob", "Ignore"],
            )),
        }
        match (&rule.on_exit_codes, rule.on_pod_conditions.is_empty()) {
            (Some(_), false) => errors.push(FieldError::invalid(
                rp,
                "",
                "specifying both OnExitCodes and OnPodConditions is not supported",
            )),
            (None, true) => errors.push(FieldError::invalid(
                rp,
                "",
                "specifying one of OnExitCodes and OnPodConditions is required",
            )),
            (Some(codes), true) => {
                let cp = rp.child("onExitCodes");
                if let Some(name) = codes.container_name.as_deref()
                    && !containers.contains(&name)
                {
                    errors.push(FieldError::invalid(
                        cp.child("containerName"),
                        name,
                        "must be one of the container or initContainer names in the pod template",
                    ));
                }
                if !matches!(codes.operator.as_str(), "In" | "NotIn") {
                    errors.push(FieldError::not_supported(
                        cp.child("operator"),
                        &codes.operator,
                        &["In", "NotIn"],
                    ));
                }
                let vp = cp.child("values");
                if codes.values.is_empty() {
                    errors.push(FieldError::required(
                        vp.clone(),
                        "at least one value is required",
                    ));
                }
                for (j, v) in codes.values.iter().enumerate() {
                    if codes.operator == "In" && *v == 0 {
                        errors.push(FieldError::invalid(
                            vp.index(j),
                            v,
                            "must not be 0 for the In operator",
                        ));
                    }
                    if j > 0 && codes.values[j - 1] >= *v {
                        let msg = if codes.values[j - 1] == *v {
                            "must not be duplicated"
                        } else {
                            "must be ordered"
                        };
                        errors.push(FieldError::invalid(vp.index(j), v, msg));
                    }
                }
            }
            (None, false) => {
                for (j, pattern) in rule.on_pod_conditions.iter().enumerate() {
                    let pp = rp.child("onPodConditions").index(j);
                    if let Some(status) = pattern.status.as_deref()
                        && !matches!(status, "True" | "False" | "Unknown")
                    {
                        errors.push(FieldError::not_supported(
                            pp.child("status"),
                            status,
                            &["False", "True", "Unknown"],
                        ));
                    }
                    errors.extend(qualified_name(&pattern.type_, &pp.child("type")));
                }
            }
        }
    }
}

/// `CronJob`: schedule (cron syntax, no `TZ=`), time zone, concurrency policy, history
/// limits and the Job template (whose selector is always generated).
pub fn cron_job(cj: &CronJob) -> Vec<FieldError> {
    let spec = &cj.spec;
    let p = FieldPath::new("spec");
    let mut errors = Vec::new();
    let sp = p.child("schedule");
    if spec.schedule.is_empty() {
        errors.push(FieldError::required(sp, ""));
    } else {
        if let Err(e) = CronSchedule::parse(&spec.schedule) {
            errors.push(FieldError::invalid(
                sp.clone(),
                &spec.schedule,
                e.to_string(),
            ));
        }
        if spec.schedule.contains("TZ") {
            errors.push(FieldError::invalid(
                sp,
                &spec.schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    if let Some(s) = spec.starting_deadline_seconds {
        errors.extend(non_negative(s, &p.child("startingDeadlineSeconds")));
    }
    if let Some(tz) = spec.time_zone.as_deref() {
        errors.extend(time_zone(tz, &p.child("timeZone")));
    }
    let cp = p.child("concurrencyPolicy");
    match spec.concurrency_policy.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(cp, "")),
        "Allow" | "Forbid" | "Replace" => {}
        other => errors.push(FieldError::not_supported(
            cp,
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let jp = p.child("jobTemplate");
    if let Some(meta) = &spec.job_template.metadata {
        let mp = jp.child("metadata");
        errors.extend(validate_labels(&meta.labels, &mp.child("labels")));
        errors.extend(validate_annotations(
            &meta.annotations,
            &mp.child("annotations"),
        ));
    }
    let js = jp.child("spec");
    errors.extend(job_spec(&spec.job_template.spec, &js));
    if spec.job_template.spec.selector.is_some() {
        errors.push(FieldError::invalid(
            js.child("selector"),
            "selector",
            "`selector` will be auto-generated",
        ));
    }
    if spec.job_template.spec.manual_selector == Some(true) {
        errors.push(FieldError::not_supported(
            js.child("manualSelector"),
            "true",
            &["nil", "false"],
        ));
    }
    errors.extend(optional_non_negative(
        spec.successful_jobs_history_limit,
        &p.child("successfulJobsHistoryLimit"),
    ));
    errors.extend(optional_non_negative(
        spec.failed_jobs_history_limit,
        &p.child("failedJobsHistoryLimit"),
    ));
    errors
}

/// `validateTimeZone`: non-empty, not `Local`, shaped like an IANA name (each `/`
/// segment 1–14 of `A-Za-z0-9.-_+`). Keel has no zone database here, so an unknown but
/// well-formed name passes.
fn time_zone(tz: &str, p: &FieldPath) -> Vec<FieldError> {
    if tz.is_empty() {
        return vec![FieldError::invalid(
            p.clone(),
            tz,
            "timeZone must be nil or non-empty string",
        )];
    }
    if tz.eq_ignore_ascii_case("local") {
        return vec![FieldError::invalid(
            p.clone(),
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )];
    }
    let well_formed = tz.split('/').all(|seg| {
        (1..=14).contains(&seg.len())
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
    });
    if well_formed {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            p.clone(),
            tz,
            format!("unknown time zone {tz}"),
        )]
    }
}

/// `CronJob` names: a DNS subdomain of at most 52 characters (Job names get an
/// 11-character suffix).
#[must_use]
pub fn cron_job_name(name: &str) -> Vec<String> {
    let mut msgs = crate::names::is_dns1123_subdomain(name);
    if name.len() > 52 {
        msgs.push("must be no more than 52 characters".to_owned());
    }
    msgs
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
