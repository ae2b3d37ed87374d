//! Defaults of `HorizontalPodAutoscaler` (autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler`
//! and `SetDefaults_HorizontalPodAutoscalerBehavior`).

use crate::api::{
    HorizontalPodAutoscaler, HpaScalingPolicy, HpaScalingRules, MetricSpec, MetricTarget,
    ResourceMetricSource,
};

/// The CPU utilization targeted when no metric is given.
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// `minReplicas` defaults to 1; no metrics means CPU at 80% utilization; and when
/// `behavior` is set, each direction's unset fields are filled from Kubernetes' default
/// rules (scale up: window 0, `Max`, [4 pods / 15 s, 100% / 15 s]; scale down: `Max`,
/// [100% / 15 s], window left unset — the controller's
/// `--horizontal-pod-autoscaler-downscale-stabilization` (300 s) applies).
pub fn horizontal_pod_autoscaler(hpa: &mut HorizontalPodAutoscaler) {
    let spec = &mut hpa.spec;
    if spec.min_replicas.is_none() {
        spec.min_replicas = Some(1);
    }
    if spec.metrics.is_empty() {
        spec.metrics = vec![MetricSpec {
            type_: MetricSpec::RESOURCE.to_owned(),
            resource: Some(ResourceMetricSource {
                name: "cpu".to_owned(),
                target: MetricTarget {
                    type_: MetricTarget::UTILIZATION.to_owned(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        }];
    }
    if let Some(behavior) = spec.behavior.as_mut() {
        behavior.scale_up = Some(fill(behavior.scale_up.take(), default_scale_up()));
        behavior.scale_down = Some(fill(behavior.scale_down.take(), default_scale_down()));
    }
}

fn policy(type_: &str, value: i32) -> HpaScalingPolicy {
    HpaScalingPolicy {
        type_: type_.to_owned(),
        value,
        period_seconds: 15,
    }
}

/// Kubernetes' default scale-up rules.
pub fn default_scale_up() -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some(HpaScalingRules::SELECT_MAX.to_owned()),
        policies: vec![
            policy(HpaScalingPolicy::PODS, 4),
            policy(HpaScalingPolicy::PERCENT, 100),
        ],
        tolerance: None,
    }
}

/// Kubernetes' default scale-down rules (no stabilization window: see
/// [`horizontal_pod_autoscaler`]).
pub fn default_scale_down() -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: None,
        select_policy: Some(HpaScalingRules::SELECT_MAX.to_owned()),
        policies: vec![policy(HpaScalingPolicy::PERCENT, 100)],
        tolerance: None,
    }
}

/// `copyHPAScalingRules`: the set fields of `from` over `defaults`. Like Kubernetes
/// (which tests `Policies != nil`), an explicitly empty policy list cannot be told from an
/// absent one here, so both take the default policies.
fn fill(from: Option<HpaScalingRules>, mut to: HpaScalingRules) -> HpaScalingRules {
    let Some(from) = from else { return to };
    if from.select_policy.is_some() {
        to.select_policy = from.select_policy;
    }
    if from.stabilization_window_seconds.is_some() {
        to.stabilization_window_seconds = from.stabilization_window_seconds;
    }
    if !from.policies.is_empty() {
        to.policies = from.policies;
    }
    if from.tolerance.is_some() {
        to.tolerance = from.tolerance;
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::HorizontalPodAutoscalerBehavior;

    fn defaulted(mut hpa: HorizontalPodAutoscaler) -> HorizontalPodAutoscaler {
        hpa.apply_defaults();
        let once = hpa.clone();
        hpa.apply_defaults();
        assert_eq!(hpa, once, "defaulting is idempotent");
        hpa
    }

    #[test]
    fn min_replicas_and_cpu_metric() {
        let hpa = defaulted(HorizontalPodAutoscaler::default());
        assert_eq!(hpa.spec.min_replicas, Some(1));
        let metric = &hpa.spec.metrics[0];
        assert_eq!(metric.type_, "Resource");
        let resource = metric.resource.as_ref().unwrap();
        assert_eq!(resource.name, "cpu");
        assert_eq!(resource.target.type_, "Utilization");
        assert_eq!(resource.target.average_utilization, Some(80));
        assert_eq!(
            hpa.spec.behavior, None,
            "behavior is only filled in when set"
        );
    }

    #[test]
    fn behavior_fills_both_directions_when_one_is_set() {
        let mut hpa = HorizontalPodAutoscaler::default();
        hpa.spec.behavior = Some(HorizontalPodAutoscalerBehavior {
            scale_down: Some(HpaScalingRules {
                stabilization_window_seconds: Some(120),
                ..HpaScalingRules::default()
            }),
            scale_up: None,
        });
        let hpa = defaulted(hpa);
        let behavior = hpa.spec.behavior.unwrap();
        assert_eq!(behavior.scale_up, Some(default_scale_up()));
        let down = behavior.scale_down.unwrap();
        assert_eq!(down.stabilization_window_seconds, Some(120));
        assert_eq!(down.select_policy.as_deref(), Some("Max"));
        assert_eq!(down.policies, [policy("Percent", 100)]);
    }

    #[test]
    fn empty_behavior_gets_both_defaults_and_set_fields_win() {
        let mut hpa = HorizontalPodAutoscaler::default();
        hpa.spec.behavior = Some(HorizontalPodAutoscalerBehavior {
            scale_up: Some(HpaScalingRules {
                select_policy: Some("Disabled".into()),
                policies: vec![policy("Pods", 1)],
                ..HpaScalingRules::default()
            }),
            scale_down: None,
        });
        let behavior = defaulted(hpa).spec.behavior.unwrap();
        let up = behavior.scale_up.unwrap();
        assert_eq!(up.select_policy.as_deref(), Some("Disabled"));
        assert_eq!(up.policies, [policy("Pods", 1)]);
        assert_eq!(up.stabilization_window_seconds, Some(0));
        assert_eq!(behavior.scale_down, Some(default_scale_down()));
    }
}
