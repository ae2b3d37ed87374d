//! Validation of `HorizontalPodAutoscaler` (autoscaling `ValidateHorizontalPodAutoscaler`).

use super::common::{dns1123_label, is_valid_path_segment_name};
use super::{FieldError, FieldPath};
use crate::api::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HpaScalingPolicy, HpaScalingRules,
    MetricIdentifier, MetricSpec, MetricTarget,
};

/// The longest stabilization window: one hour.
pub const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
/// The longest policy period: 30 minutes.
pub const MAX_PERIOD_SECONDS: i32 = 1800;
const SOURCE_TYPES: [&str; 5] = [
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];

/// Checks bounds, the target reference, metrics and behavior. `minReplicas` must be at
/// least 1 (0 needs Kubernetes' alpha `HPAScaleToZero` gate, which Keel does not have).
pub fn horizontal_pod_autoscaler(hpa: &HorizontalPodAutoscaler) -> Vec<FieldError> {
    let spec = &hpa.spec;
    let sp = FieldPath::new("spec");
    let mut errors = Vec::new();
    if let Some(min) = spec.min_replicas
        && min < 1
    {
        errors.push(FieldError::invalid(
            sp.child("minReplicas"),
            min,
            "must be greater than or equal to 1",
        ));
    }
    if spec.max_replicas < 1 {
        errors.push(FieldError::invalid(
            sp.child("maxReplicas"),
            spec.max_replicas,
            "must be greater than 0",
        ));
    }
    if let Some(min) = spec.min_replicas
        && spec.max_replicas < min
    {
        errors.push(FieldError::invalid(
            sp.child("maxReplicas"),
            spec.max_replicas,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errors.extend(cross_version_object_reference(
        &spec.scale_target_ref,
        &sp.child("scaleTargetRef"),
    ));
    for (i, metric) in spec.metrics.iter().enumerate() {
        errors.extend(metric_spec(metric, &sp.child("metrics").index(i)));
    }
    if let Some(behavior) = &spec.behavior {
        let bp = sp.child("behavior");
        if let Some(up) = &behavior.scale_up {
            errors.extend(scaling_rules(up, &bp.child("scaleUp")));
        }
        if let Some(down) = &behavior.scale_down {
            errors.extend(scaling_rules(down, &bp.child("scaleDown")));
        }
    }
    errors
}

/// `ValidateCrossVersionObjectReference`: `kind` and `name` required, path segments.
pub fn cross_version_object_reference(
    r: &CrossVersionObjectReference,
    p: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, value) in [("kind", &r.kind), ("name", &r.name)] {
        if value.is_empty() {
            errors.push(FieldError::required(p.child(field), ""));
        } else {
            for msg in is_valid_path_segment_name(value) {
                errors.push(FieldError::invalid(p.child(field), value, msg));
            }
        }
    }
    errors
}

fn metric_spec(spec: &MetricSpec, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.type_.is_empty() {
        errors.push(FieldError::required(
            p.child("type"),
            "must specify a metric source type",
        ));
    }
    let mut present = Vec::new();
    if let Some(src) = &spec.object {
        present.push("object");
        let sp = p.child("object");
        errors.extend(cross_version_object_reference(
            &src.described_object,
            &sp.child("describedObject"),
        ));
        errors.extend(metric_identifier(&src.metric, &sp.child("metric")));
        errors.extend(metric_target(&src.target, &sp.child("target")));
        if src.target.value.is_none() && src.target.average_value.is_none() {
            errors.push(FieldError::required(
                sp.child("target").child("averageValue"),
                "must set either a target value or averageValue",
            ));
        }
    }
    if let Some(src) = &spec.external
        && present.is_empty()
    {
        let sp = p.child("external");
        errors.extend(metric_identifier(&src.metric, &sp.child("metric")));
        errors.extend(metric_target(&src.target, &sp.child("target")));
        if src.target.value.is_none() && src.target.average_value.is_none() {
            errors.push(FieldError::required(
                sp.child("target").child("averageValue"),
                "must set either a target value for metric or a per-pod target",
            ));
        }
        if src.target.value.is_some() && src.target.average_value.is_some() {
            errors.push(FieldError::forbidden(
                sp.child("target").child("value"),
                "may not set both a target value for metric and a per-pod target",
            ));
        }
    }
    if spec.external.is_some() {
        present.push("external");
    }
    if let Some(src) = &spec.pods
        && present.is_empty()
    {
        let sp = p.child("pods");
        errors.extend(metric_identifier(&src.metric, &sp.child("metric")));
        errors.extend(metric_target(&src.target, &sp.child("target")));
        if src.target.average_value.is_none() {
            errors.push(FieldError::required(
                sp.child("target").child("averageValue"),
                "must specify a positive target averageValue",
            ));
        }
    }
    if spec.pods.is_some() {
        present.push("pods");
    }
    if let Some(src) = &spec.resource
        && present.is_empty()
    {
        let sp = p.child("resource");
        if src.name.is_empty() {
            errors.push(FieldError::required(
                sp.child("name"),
                "must specify a resource name",
            ));
        }
        errors.extend(resource_target(&src.target, &sp.child("target")));
    }
    if spec.resource.is_some() {
        present.push("resource");
    }
    if let Some(src) = &spec.container_resource
        && present.is_empty()
    {
        let sp = p.child("containerResource");
        if src.name.is_empty() {
            errors.push(FieldError::required(
                sp.child("name"),
                "must specify a resource name",
            ));
        }
        if src.container.is_empty() {
            errors.push(FieldError::required(
                sp.child("container"),
                "must specify a container",
            ));
        } else {
            errors.extend(dns1123_label(&src.container, &sp.child("container")));
        }
        errors.extend(resource_target(&src.target, &sp.child("target")));
    }
    if spec.container_resource.is_some() {
        present.push("containerResource");
    }
    let expected = match spec.type_.as_str() {
        MetricSpec::OBJECT => "object",
        MetricSpec::PODS => "pods",
        MetricSpec::RESOURCE => "resource",
        MetricSpec::EXTERNAL => "external",
        MetricSpec::CONTAINER_RESOURCE => "containerResource",
        other => {
            errors.push(FieldError::not_supported(
                p.child("type"),
                other,
                &SOURCE_TYPES,
            ));
            ""
        }
    };
    if !expected.is_empty() && !present.contains(&expected) {
        errors.push(FieldError::required(
            p.child(expected),
            "must populate information for the given metric source",
        ));
    }
    if present.len() != 1 {
        for other in present.iter().filter(|t| **t != expected) {
            errors.push(FieldError::forbidden(
                p.child(other),
                "must populate the given metric source only",
            ));
        }
    }
    errors
}

fn resource_target(target: &MetricTarget, tp: &FieldPath) -> Vec<FieldError> {
    let mut errors = metric_target(target, tp);
    if target.average_utilization.is_none() && target.average_value.is_none() {
        errors.push(FieldError::required(
            tp.child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if target.average_utilization.is_some() && target.average_value.is_some() {
        errors.push(FieldError::forbidden(
            tp.child("averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
    errors
}

fn metric_target(target: &MetricTarget, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if target.type_.is_empty() {
        errors.push(FieldError::required(
            p.child("type"),
            "must specify a metric target type",
        ));
    }
    if ![
        MetricTarget::UTILIZATION,
        MetricTarget::VALUE,
        MetricTarget::AVERAGE_VALUE,
    ]
    .contains(&target.type_.as_str())
    {
        errors.push(FieldError::invalid(
            p.child("type"),
            &target.type_,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for (field, value) in [
        ("value", &target.value),
        ("averageValue", &target.average_value),
    ] {
        if let Some(q) = value
            && (q.is_negative() || q.is_zero())
        {
            errors.push(FieldError::invalid(p.child(field), q, "must be positive"));
        }
    }
    if let Some(u) = target.average_utilization
        && u < 1
    {
        errors.push(FieldError::invalid(
            p.child("averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    errors
}

fn metric_identifier(id: &MetricIdentifier, p: &FieldPath) -> Vec<FieldError> {
    if id.name.is_empty() {
        return vec![FieldError::required(
            p.child("name"),
            "must specify a metric name",
        )];
    }
    is_valid_path_segment_name(&id.name)
        .into_iter()
        .map(|msg| FieldError::invalid(p.child("name"), &id.name, msg))
        .collect()
}

fn scaling_rules(rules: &HpaScalingRules, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(w) = rules.stabilization_window_seconds {
        if w < 0 {
            errors.push(FieldError::invalid(
                p.child("stabilizationWindowSeconds"),
                w,
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_STABILIZATION_WINDOW_SECONDS {
            errors.push(FieldError::invalid(
                p.child("stabilizationWindowSeconds"),
                w,
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(select) = &rules.select_policy {
        const SELECT: [&str; 3] = ["Disabled", "Max", "Min"];
        if !SELECT.contains(&select.as_str()) {
            errors.push(FieldError::not_supported(
                p.child("selectPolicy"),
                select,
                &SELECT,
            ));
        }
    }
    let pp = p.child("policies");
    if rules.policies.is_empty() {
        errors.push(FieldError::required(
            pp.clone(),
            "must specify at least one Policy",
        ));
    }
    for (i, policy) in rules.policies.iter().enumerate() {
        let ip = pp.index(i);
        if policy.type_ != HpaScalingPolicy::PODS && policy.type_ != HpaScalingPolicy::PERCENT {
            errors.push(FieldError::not_supported(
                ip.child("type"),
                &policy.type_,
                &["Percent", "Pods"],
            ));
        }
        if policy.value <= 0 {
            errors.push(FieldError::invalid(
                ip.child("value"),
                policy.value,
                "must be greater than zero",
            ));
        }
        if policy.period_seconds <= 0 {
            errors.push(FieldError::invalid(
                ip.child("periodSeconds"),
                policy.period_seconds,
                "must be greater than zero",
            ));
        }
        if policy.period_seconds > MAX_PERIOD_SECONDS {
            errors.push(FieldError::invalid(
                ip.child("periodSeconds"),
                policy.period_seconds,
                format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    if let Some(t) = &rules.tolerance
        && t.is_negative()
    {
        errors.push(FieldError::invalid(
            p.child("tolerance"),
            t,
            "must be greater than or equal to zero",
        ));
    }
    errors
}

#[cfg(test)]
#[path = "autoscaling_tests.rs"]
mod tests;
