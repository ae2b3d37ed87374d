//! Validation of the apps/v1 workloads (Kubernetes' `apps/validation`).

use super::common::{int_or_percent_up_to_100, non_negative, validate_label_selector};
use super::persistent_volume_claim::persistent_volume_claim_spec;
use super::pod::pod_template_with_claims;
use super::{FieldError, FieldPath};
use crate::api::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, PodTemplateSpec,
    ReplicaSet, RollingUpdateDaemonSet, RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use crate::intstr::IntOrString;
use crate::labels::LabelSelector;

/// `ReplicaSet`: replicas, minReadySeconds, selector and a template it selects.
pub fn replica_set(rs: &ReplicaSet) -> Vec<FieldError> {
    let spec = &rs.spec;
    let p = FieldPath::new("spec");
    let mut errors = optional_non_negative(spec.replicas, &p.child("replicas"));
    errors.extend(optional_non_negative(
        spec.min_ready_seconds,
        &p.child("minReadySeconds"),
    ));
    errors.extend(selected_template(
        &spec.selector,
        &spec.template,
        "replicaset",
        "ReplicaSet",
        &[],
        &p,
    ));
    errors
}

/// `Deployment`: as a ReplicaSet, plus the strategy, revision history and progress
/// deadline.
pub fn deployment(d: &Deployment) -> Vec<FieldError> {
    let spec = &d.spec;
    let p = FieldPath::new("spec");
    let mut errors = optional_non_negative(spec.replicas, &p.child("replicas"));
    errors.extend(selected_template(
        &spec.selector,
        &spec.template,
        "deployment",
        "ReplicaSet",
        &[],
        &p,
    ));
    if let Some(strategy) = &spec.strategy {
        errors.extend(deployment_strategy(strategy, &p.child("strategy")));
    }
    errors.extend(optional_non_negative(
        spec.min_ready_seconds,
        &p.child("minReadySeconds"),
    ));
    errors.extend(optional_non_negative(
        spec.revision_history_limit,
        &p.child("revisionHistoryLimit"),
    ));
    if let Some(deadline) = spec.progress_deadline_seconds {
        let path = p.child("progressDeadlineSeconds");
        errors.extend(non_negative(i64::from(deadline), &path));
        if deadline <= spec.min_ready_seconds.unwrap_or(0) {
            errors.push(FieldError::invalid(
                path,
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errors
}

fn deployment_strategy(strategy: &DeploymentStrategy, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match strategy.type_.as_deref().unwrap_or("") {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                errors.push(FieldError::forbidden(
                    p.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &strategy.rolling_update {
            None => errors.push(FieldError::required(
                p.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(rolling) => errors.extend(rolling_update_deployment(
                rolling,
                &p.child("rollingUpdate"),
            )),
        },
        other => errors.push(FieldError::not_supported(
            p.child("type"),
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    errors
}

fn rolling_update_deployment(rolling: &RollingUpdateDeployment, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let unavailable = p.child("maxUnavailable");
    if let Some(v) = &rolling.max_unavailable {
        errors.extend(int_or_percent_up_to_100(v, &unavailable));
    }
    if let Some(v) = &rolling.max_surge {
        errors.extend(positive_int_or_percent(v, &p.child("maxSurge")));
    }
    if is_zero(rolling.max_unavailable.as_ref()) && is_zero(rolling.max_surge.as_ref()) {
        errors.push(FieldError::invalid(
            unavailable,
            display(rolling.max_unavailable.as_ref()),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errors
}

/// `DaemonSet`: selector, a template it selects, the update strategy, minReadySeconds
/// and revision history.
pub fn daemon_set(ds: &DaemonSet) -> Vec<FieldError> {
    let spec = &ds.spec;
    let p = FieldPath::new("spec");
    let mut errors = selected_template(
        &spec.selector,
        &spec.template,
        "daemonset",
        "DaemonSet",
        &[],
        &p,
    );
    errors.extend(optional_non_negative(
        spec.min_ready_seconds,
        &p.child("minReadySeconds"),
    ));
    if let Some(strategy) = &spec.update_strategy {
        errors.extend(daemon_set_strategy(strategy, &p.child("updateStrategy")));
    }
    errors.extend(optional_non_negative(
        spec.revision_history_limit,
        &p.child("revisionHistoryLimit"),
    ));
    errors
}

fn daemon_set_strategy(strategy: &DaemonSetUpdateStrategy, p: &FieldPath) -> Vec<FieldError> {
    match strategy.type_.as_deref().unwrap_or("") {
        "OnDelete" => Vec::new(),
        "RollingUpdate" => match &strategy.rolling_update {
            None => vec![FieldError::required(p.child("rollingUpdate"), "")],
            Some(rolling) => rolling_update_daemon_set(rolling, &p.child("rollingUpdate")),
        },
        other => vec![FieldError::not_supported(
            p.child("type"),
            other,
            &["OnDelete", "RollingUpdate"],
        )],
    }
}

fn rolling_update_daemon_set(rolling: &RollingUpdateDaemonSet, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(v) = &rolling.max_unavailable {
        errors.extend(int_or_percent_up_to_100(v, &p.child("maxUnavailable")));
    }
    if let Some(v) = &rolling.max_surge {
        errors.extend(int_or_percent_up_to_100(v, &p.child("maxSurge")));
    }
    let has_unavailable = !is_zero(rolling.max_unavailable.as_ref());
    let has_surge = !is_zero(rolling.max_surge.as_ref());
    if has_unavailable && has_surge {
        errors.push(FieldError::invalid(
            p.child("maxSurge"),
            display(rolling.max_surge.as_ref()),
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_unavailable && !has_surge {
        errors.push(FieldError::required(
            p.child("maxUnavailable"),
            "cannot be 0 when maxSurge is 0",
        ));
    }
    errors
}

/// `StatefulSet`: pod management policy, update strategy, claim retention, ordinals,
/// replicas, selector, a template it selects and the claim templates.
pub fn stateful_set(ss: &StatefulSet) -> Vec<FieldError> {
    let spec = &ss.spec;
    let p = FieldPath::new("spec");
    let mut errors = Vec::new();
    match spec.pod_management_policy.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(p.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errors.push(FieldError::invalid(
            p.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    stateful_set_strategy(spec, &p, &mut errors);
    errors.extend(optional_non_negative(
        spec.revision_history_limit,
        &p.child("revisionHistoryLimit"),
    ));
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let rp = p.child("persistentVolumeClaimRetentionPolicy");
        for (field, value) in [
            ("whenDeleted", &policy.when_deleted),
            ("whenScaled", &policy.when_scaled),
        ] {
            match value.as_deref() {
                None | Some("Retain" | "Delete") => {}
                Some(other) => errors.push(FieldError::not_supported(
                    rp.child(field),
                    other,
                    &["Retain", "Delete"],
                )),
            }
        }
    }
    if let Some(ordinals) = &spec.ordinals {
        errors.extend(optional_non_negative(
            ordinals.start,
            &p.child("ordinals").child("start"),
        ));
    }
    errors.extend(optional_non_negative(spec.replicas, &p.child("replicas")));
    errors.extend(optional_non_negative(
        spec.min_ready_seconds,
        &p.child("minReadySeconds"),
    ));
    let claim_names: Vec<&str> = spec
        .volume_claim_templates
        .iter()
        .filter_map(|c| c.metadata.name.as_deref())
        .collect();
    errors.extend(selected_template(
        &spec.selector,
        &spec.template,
        "statefulset",
        "StatefulSet",
        &claim_names,
        &p,
    ));
    let claims = p.child("volumeClaimTemplates");
    for (i, claim) in spec.volume_claim_templates.iter().enumerate() {
        let cp = claims.index(i);
        match claim.metadata.name.as_deref() {
            None | Some("") => {
                errors.push(FieldError::required(cp.child("metadata").child("name"), ""));
            }
            Some(name) => errors.extend(super::common::dns1123_subdomain(
                name,
                &cp.child("metadata").child("name"),
            )),
        }
        errors.extend(persistent_volume_claim_spec(&claim.spec, &cp.child("spec")));
    }
    errors
}

fn stateful_set_strategy(spec: &StatefulSetSpec, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let sp = p.child("updateStrategy");
    let strategy = spec.update_strategy.as_ref();
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    match strategy.and_then(|s| s.type_.as_deref()).unwrap_or("") {
        "" => errors.push(FieldError::required(sp, "")),
        "OnDelete" => {
            if rolling.is_some() {
                errors.push(FieldError::invalid(
                    sp.child("rollingUpdate"),
                    "rollingUpdate",
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling) = rolling {
                let rp = sp.child("rollingUpdate");
                errors.extend(optional_non_negative(
                    rolling.partition,
                    &rp.child("partition"),
                ));
                if let Some(v) = &rolling.max_unavailable {
                    let path = rp.child("maxUnavailable");
                    errors.extend(int_or_percent_up_to_100(v, &path));
                    if is_zero(Some(v)) {
                        errors.push(FieldError::invalid(path, v, "must be greater than 0"));
                    }
                }
            }
        }
        other => errors.push(FieldError::invalid(
            sp,
            other,
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
}

/// The checks every pod-managing workload shares (a StatefulSet's containers may also
/// mount its `claims`; Kubernetes skips the StatefulSet pod spec entirely, Keel checks it
/// with the claims counted as volumes): a required, non-empty, valid selector
/// that selects the template's labels; a valid template whose pods restart `Always` and
/// have no `activeDeadlineSeconds`.
fn selected_template(
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    lower_kind: &str,
    kind: &str,
    claims: &[&str],
    p: &FieldPath,
) -> Vec<FieldError> {
    let sel_path = p.child("selector");
    let mut errors = validate_label_selector(selector, &sel_path);
    let tp = p.child("template");
    if selector.is_empty() {
        errors.push(FieldError::invalid(
            sel_path,
            "{}",
            format!("empty selector is invalid for {lower_kind}"),
        ));
    } else if let Ok(sel) = selector.to_selector()
        && !sel.matches(&template.metadata.labels)
    {
        errors.push(FieldError::invalid(
            tp.child("metadata").child("labels"),
            crate::labels::Selector::from_labels(&template.metadata.labels),
            "`selector` does not match template `labels`",
        ));
    }
    errors.extend(pod_template_with_claims(template, claims, &tp));
    let spec = tp.child("spec");
    if let Some(policy) = template.spec.restart_policy.as_deref()
        && policy != "Always"
    {
        errors.push(FieldError::not_supported(
            spec.child("restartPolicy"),
            policy,
            &["Always"],
        ));
    }
    if template.spec.active_deadline_seconds.is_some() {
        errors.push(FieldError::forbidden(
            spec.child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errors
}

/// `ValidatePositiveIntOrPercent`: a non-negative integer or a valid percentage.
fn positive_int_or_percent(value: &IntOrString, path: &FieldPath) -> Vec<FieldError> {
    match value {
        IntOrString::Int(i) => non_negative(i64::from(*i), path),
        IntOrString::String(s) => crate::names::is_valid_percent(s)
            .into_iter()
            .map(|msg| FieldError::invalid(path.clone(), s, msg))
            .collect(),
    }
}

/// `getIntOrPercentValue(..) == 0`: an unset value counts as zero.
fn is_zero(value: Option<&IntOrString>) -> bool {
    match value {
        None => true,
        Some(IntOrString::Int(i)) => *i == 0,
        Some(IntOrString::String(s)) => {
            s.strip_suffix('%').and_then(|d| d.parse::<i64>().ok()) == Some(0)
        }
    }
}

fn display(value: Option<&IntOrString>) -> String {
    value.map_or_else(|| "0".to_owned(), ToString::to_string)
}

pub(crate) fn optional_non_negative(value: Option<i32>, path: &FieldPath) -> Vec<FieldError> {
    value.map_or_else(Vec::new, |v| non_negative(i64::from(v), path))
}

#[cfg(test)]
#[path = "apps_tests.rs"]
mod tests;
