//! Validation of `Pod` and of every pod template (Kubernetes' `ValidatePodSpec`).

mod affinity;
mod container;
mod volume;

use std::collections::BTreeSet;

use super::common::{dns1123_label, dns1123_subdomain_at};
use super::{FieldError, FieldPath, labels_at, validate_annotations};
use crate::api::{Pod, PodSpec, PodTemplateSpec};

/// `Pod`: its spec, with the path `spec`.
pub fn pod(pod: &Pod) -> Vec<FieldError> {
    pod_spec(&pod.spec, &FieldPath::new("spec"))
}

/// `ValidatePodTemplateSpec`: the template's labels and annotations, its pod spec, and
/// no ephemeral containers; `path` is the template's own path (`spec.template`).
pub fn pod_template(template: &PodTemplateSpec, path: &FieldPath) -> Vec<FieldError> {
    pod_template_with_claims(template, &[], path)
}

/// [`pod_template`] for a StatefulSet, whose containers may also mount its volume claim
/// templates (`claims`) by name.
pub fn pod_template_with_claims(
    template: &PodTemplateSpec,
    claims: &[&str],
    path: &FieldPath,
) -> Vec<FieldError> {
    let meta = path.child("metadata");
    let mut errors = labels_at(&template.metadata.labels, || meta.child("labels"));
    if !template.metadata.annotations.is_empty() {
        errors.extend(validate_annotations(
            &template.metadata.annotations,
            &meta.child("annotations"),
        ));
    }
    let spec = path.child("spec");
    errors.extend(spec_with_volumes(&template.spec, claims, &spec));
    if !template.spec.ephemeral_containers.is_empty() {
        errors.push(FieldError::forbidden(
            spec.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errors
}

/// A pod spec at `path` (`spec`, or `spec.template.spec` in workloads).
pub fn pod_spec(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    spec_with_volumes(spec, &[], path)
}

fn spec_with_volumes(spec: &PodSpec, extra_volumes: &[&str], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // Paths are built only for fields that are present (or wrong).
    let mut volume_names = if spec.volumes.is_empty() {
        BTreeSet::new()
    } else {
        volume::volumes(&spec.volumes, &path.child("volumes"), &mut errors)
    };
    volume_names.extend(extra_volumes.iter().copied());
    container::containers(spec, &volume_names, path, &mut errors);
    match spec.restart_policy.as_deref() {
        None | Some("") => errors.push(FieldError::required(path.child("restartPolicy"), "")),
        Some("Always" | "OnFailure" | "Never") => {}
        Some(other) => errors.push(FieldError::not_supported(
            path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    if let Some(dns) = spec.dns_policy.as_deref()
        && !matches!(
            dns,
            "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None"
        )
    {
        errors.push(FieldError::not_supported(
            path.child("dnsPolicy"),
            dns,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
    }
    errors.extend(labels_at(&spec.node_selector, || {
        path.child("nodeSelector")
    }));
    if let Some(seconds) = spec.termination_grace_period_seconds
        && seconds < 0
    {
        errors.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            seconds,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(seconds) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&seconds)
    {
        errors.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            seconds,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    for (field, value) in [
        ("serviceAccountName", &spec.service_account_name),
        ("schedulerName", &spec.scheduler_name),
        ("priorityClassName", &spec.priority_class_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            errors.extend(dns1123_subdomain_at(v, || path.child(field)));
        }
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            errors.extend(dns1123_label(v, &path.child(field)));
        }
    }
    if !spec.tolerations.is_empty() {
        affinity::tolerations(&spec.tolerations, &path.child("tolerations"), &mut errors);
    }
    if let Some(a) = &spec.affinity {
        affinity::affinity(a, &path.child("affinity"), &mut errors);
    }
    if !spec.topology_spread_constraints.is_empty() {
        affinity::topology_spread(
            &spec.topology_spread_constraints,
            &path.child("topologySpreadConstraints"),
            &mut errors,
        );
    }
    if let Some(overhead) = &spec.overhead {
        for (name, q) in overhead {
            errors.extend(super::common::non_negative_quantity(
                q,
                &path.child("overhead").key(name),
            ));
        }
    }
    if let Some(policy) = spec.preemption_policy.as_deref()
        && !matches!(policy, "PreemptLowerPriority" | "Never")
    {
        errors.push(FieldError::not_supported(
            path.child("preemptionPolicy"),
            policy,
            &["Never", "PreemptLowerPriority"],
        ));
    }
    let mut gates = BTreeSet::new();
    for (i, gate) in spec.scheduling_gates.iter().enumerate() {
        errors.extend(super::common::qualified_name(
            &gate.name,
            &path.child("schedulingGates").index(i).child("name"),
        ));
        if !gates.insert(gate.name.as_str()) {
            errors.push(FieldError::duplicate(
                path.child("schedulingGates").index(i),
                &gate.name,
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests;
