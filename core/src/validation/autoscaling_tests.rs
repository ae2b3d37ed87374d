//! Tests of autoscaler validation.

use super::*;
use crate::Resource;
use crate::api::{
    ContainerResourceMetricSource, ExternalMetricSource, HorizontalPodAutoscalerBehavior,
    PodsMetricSource, ResourceMetricSource,
};
use crate::meta::ObjectMeta;
use crate::validation::{ErrorType, validate};

fn hpa() -> HorizontalPodAutoscaler {
    let mut hpa = HorizontalPodAutoscaler {
        metadata: ObjectMeta::namespaced("default", "web"),
        ..HorizontalPodAutoscaler::default()
    };
    hpa.spec.scale_target_ref = CrossVersionObjectReference {
        api_version: Some("apps/v1".into()),
        kind: "Deployment".into(),
        name: "web".into(),
    };
    hpa.spec.max_replicas = 10;
    hpa
}

fn check(mut hpa: HorizontalPodAutoscaler) -> Vec<(String, ErrorType)> {
    hpa.apply_defaults();
    horizontal_pod_autoscaler(&hpa)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect()
}

fn has(errs: &[(String, ErrorType)], path: &str, kind: ErrorType) -> bool {
    errs.iter().any(|(p, k)| p == path && *k == kind)
}

fn target(type_: &str) -> MetricTarget {
    MetricTarget {
        type_: type_.into(),
        ..MetricTarget::default()
    }
}

#[test]
fn defaulted_autoscaler_is_valid() {
    let mut h = hpa();
    h.spec.behavior = Some(HorizontalPodAutoscalerBehavior::default());
    h.apply_defaults();
    assert_eq!(validate(&h), Ok(()));
}

#[test]
fn bounds_and_target() {
    let mut h = hpa();
    h.spec.min_replicas = Some(0);
    h.spec.max_replicas = 0;
    h.spec.scale_target_ref = CrossVersionObjectReference::default();
    let errs = check(h);
    assert!(has(&errs, "spec.minReplicas", ErrorType::Invalid));
    assert!(has(&errs, "spec.maxReplicas", ErrorType::Invalid));
    assert!(has(&errs, "spec.scaleTargetRef.kind", ErrorType::Required));
    assert!(has(&errs, "spec.scaleTargetRef.name", ErrorType::Required));
    let mut h = hpa();
    h.spec.min_replicas = Some(5);
    h.spec.max_replicas = 3;
    assert!(has(&check(h), "spec.maxReplicas", ErrorType::Invalid));
    let mut h = hpa();
    h.spec.scale_target_ref.name = "a/b".into();
    assert!(has(
        &check(h),
        "spec.scaleTargetRef.name",
        ErrorType::Invalid
    ));
}

#[test]
fn metric_sources() {
    let mut h = hpa();
    h.spec.metrics = vec![
        MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: String::new(),
                target: MetricTarget {
                    average_utilization: Some(0),
                    ..target("Utilization")
                },
            }),
            ..MetricSpec::default()
        },
        MetricSpec {
            type_: "Pods".into(),
            ..MetricSpec::default()
        },
        MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: target("Percent"),
            }),
            pods: Some(PodsMetricSource::default()),
            ..MetricSpec::default()
        },
        MetricSpec {
            type_: "Magic".into(),
            ..MetricSpec::default()
        },
        MetricSpec {
            type_: "ContainerResource".into(),
            container_resource: Some(ContainerResourceMetricSource {
                name: "cpu".into(),
                container: String::new(),
                target: MetricTarget {
                    average_utilization: Some(50),
                    average_value: Some("1".parse().unwrap()),
                    ..target("Utilization")
                },
            }),
            ..MetricSpec::default()
        },
        MetricSpec {
            type_: "External".into(),
            external: Some(ExternalMetricSource {
                metric: MetricIdentifier::default(),
                target: target("Value"),
            }),
            ..MetricSpec::default()
        },
    ];
    let errs = check(h);
    assert!(
        has(&errs, "spec.metrics[0].resource.name", ErrorType::Required),
        "{errs:?}"
    );
    assert!(has(
        &errs,
        "spec.metrics[0].resource.target.averageUtilization",
        ErrorType::Invalid
    ));
    assert!(has(&errs, "spec.metrics[1].pods", ErrorType::Required));
    assert!(has(&errs, "spec.metrics[2].pods", ErrorType::Forbidden));
    assert!(has(&errs, "spec.metrics[3].type", ErrorType::NotSupported));
    assert!(has(
        &errs,
        "spec.metrics[4].containerResource.container",
        ErrorType::Required
    ));
    assert!(has(
        &errs,
        "spec.metrics[4].containerResource.target.averageValue",
        ErrorType::Forbidden
    ));
    assert!(has(
        &errs,
        "spec.metrics[5].external.metric.name",
        ErrorType::Required
    ));
    assert!(has(
        &errs,
        "spec.metrics[5].external.target.averageValue",
        ErrorType::Required
    ));
}

#[test]
fn behavior_ranges() {
    let mut h = hpa();
    h.spec.behavior = Some(HorizontalPodAutoscalerBehavior {
        scale_up: Some(HpaScalingRules {
            stabilization_window_seconds: Some(3601),
            select_policy: Some("Average".into()),
            policies: vec![HpaScalingPolicy {
                type_: "Nodes".into(),
                value: 0,
                period_seconds: 1801,
            }],
            tolerance: Some("-1".parse().unwrap()),
        }),
        scale_down: Some(HpaScalingRules {
            stabilization_window_seconds: Some(-1),
            policies: vec![HpaScalingPolicy {
                type_: "Pods".into(),
                value: 1,
                period_seconds: 0,
            }],
            ..HpaScalingRules::default()
        }),
    });
    let errs = check(h);
    let up = "spec.behavior.scaleUp";
    assert!(has(
        &errs,
        &format!("{up}.stabilizationWindowSeconds"),
        ErrorType::Invalid
    ));
    assert!(has(
        &errs,
        &format!("{up}.selectPolicy"),
        ErrorType::NotSupported
    ));
    assert!(has(
        &errs,
        &format!("{up}.policies[0].type"),
        ErrorType::NotSupported
    ));
    assert!(has(
        &errs,
        &format!("{up}.policies[0].value"),
        ErrorType::Invalid
    ));
    assert!(has(
        &errs,
        &format!("{up}.policies[0].periodSeconds"),
        ErrorType::Invalid
    ));
    assert!(has(&errs, &format!("{up}.tolerance"), ErrorType::Invalid));
    assert!(has(
        &errs,
        "spec.behavior.scaleDown.stabilizationWindowSeconds",
        ErrorType::Invalid
    ));
    assert!(has(
        &errs,
        "spec.behavior.scaleDown.policies[0].periodSeconds",
        ErrorType::Invalid
    ));
}
