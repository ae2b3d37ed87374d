//! `HorizontalPodAutoscaler` (autoscaling/v2): scales a workload's replicas to track
//! metrics.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::labels::LabelSelector;
use crate::meta::Time;
use crate::quantity::Quantity;

/// The scaled object (anything with a `scale` subresource).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossVersionObjectReference {
    /// The referent's API version, e.g. `apps/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The referent's kind, e.g. `Deployment`.
    #[serde(default)]
    pub kind: String,
    /// The referent's name.
    #[serde(default)]
    pub name: String,
}

/// What to scale, between which bounds, on which metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HorizontalPodAutoscalerSpec {
    /// The scaled object.
    #[serde(default)]
    pub scale_target_ref: CrossVersionObjectReference,
    /// The lower bound of replicas (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// The upper bound of replicas.
    #[serde(default)]
    pub max_replicas: i32,
    /// The metrics to track (default: CPU at 80% utilization).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    /// How fast to scale up and down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HorizontalPodAutoscalerBehavior>,
}

/// One metric to track; `type` says which source field is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSpec {
    /// `Object`, `Pods`, `Resource`, `ContainerResource` or `External`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// A metric of another object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectMetricSource>,
    /// A metric averaged over the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<PodsMetricSource>,
    /// A resource (CPU, memory) of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceMetricSource>,
    /// A resource of one container of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource: Option<ContainerResourceMetricSource>,
    /// A metric from outside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalMetricSource>,
}

impl MetricSpec {
    /// `type` of an object metric.
    pub const OBJECT: &'static str = "Object";
    /// `type` of a pods metric.
    pub const PODS: &'static str = "Pods";
    /// `type` of a resource metric.
    pub const RESOURCE: &'static str = "Resource";
    /// `type` of a container resource metric.
    pub const CONTAINER_RESOURCE: &'static str = "ContainerResource";
    /// `type` of an external metric.
    pub const EXTERNAL: &'static str = "External";
}

/// A metric describing another object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMetricSource {
    /// The object described.
    #[serde(default)]
    pub described_object: CrossVersionObjectReference,
    /// The target value.
    #[serde(default)]
    pub target: MetricTarget,
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
}

/// A metric averaged over the scaled pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodsMetricSource {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// The target value.
    #[serde(default)]
    pub target: MetricTarget,
}

/// A resource (`cpu`, `memory`) of the scaled pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceMetricSource {
    /// The resource name.
    #[serde(default)]
    pub name: String,
    /// The target value.
    #[serde(default)]
    pub target: MetricTarget,
}

/// A resource of one container of the scaled pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerResourceMetricSource {
    /// The resource name.
    #[serde(default)]
    pub name: String,
    /// The target value.
    #[serde(default)]
    pub target: MetricTarget,
    /// The container's name.
    #[serde(default)]
    pub container: String,
}

/// A metric not tied to any cluster object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalMetricSource {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// The target value.
    #[serde(default)]
    pub target: MetricTarget,
}

/// A metric's name and label selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricIdentifier {
    /// The metric's name.
    #[serde(default)]
    pub name: String,
    /// Selects among the metric's series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// The target of a metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricTarget {
    /// `Utilization`, `Value` or `AverageValue`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// The target value of the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    /// The target value averaged over the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
    /// The target percentage of the pods' requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
}

impl MetricTarget {
    /// A percentage of the requests.
    pub const UTILIZATION: &'static str = "Utilization";
    /// An absolute value.
    pub const VALUE: &'static str = "Value";
    /// A value averaged over the pods.
    pub const AVERAGE_VALUE: &'static str = "AverageValue";
}

/// How fast to scale up and down.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HorizontalPodAutoscalerBehavior {
    /// Rules of scaling up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<HpaScalingRules>,
    /// Rules of scaling down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<HpaScalingRules>,
}

/// Rules of scaling in one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaScalingRules {
    /// How long past recommendations are considered (0–3600 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    /// `Max`, `Min` or `Disabled`: which policy wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<String>,
    /// The policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<HpaScalingPolicy>,
    /// The tolerance around the target before scaling (e.g. `0.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Quantity>,
}

impl HpaScalingRules {
    /// The policy allowing the biggest change wins.
    pub const SELECT_MAX: &'static str = "Max";
    /// The policy allowing the smallest change wins.
    pub const SELECT_MIN: &'static str = "Min";
    /// Scaling in this direction is disabled.
    pub const SELECT_DISABLED: &'static str = "Disabled";
}

/// One scaling policy: at most `value` pods or percent per `periodSeconds`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaScalingPolicy {
    /// `Pods` or `Percent`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// The amount of change allowed.
    #[serde(default)]
    pub value: i32,
    /// The window of the policy (1–1800 s).
    #[serde(default)]
    pub period_seconds: i32,
}

impl HpaScalingPolicy {
    /// A number of pods.
    pub const PODS: &'static str = "Pods";
    /// A percentage of the current replicas.
    pub const PERCENT: &'static str = "Percent";
}

/// The observed state of an autoscaler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HorizontalPodAutoscalerStatus {
    /// The generation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the autoscaler last scaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<Time>,
    /// The current number of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    /// The desired number of replicas.
    #[serde(default)]
    pub desired_replicas: i32,
    /// The last read values of the metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub current_metrics: Vec<MetricStatus>,
    /// `AbleToScale`, `ScalingActive`, `ScalingLimited`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<HorizontalPodAutoscalerCondition>,
}

/// The last read value of one metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricStatus {
    /// `Object`, `Pods`, `Resource`, `ContainerResource` or `External`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// An object metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectMetricStatus>,
    /// A pods metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<PodsMetricStatus>,
    /// A resource metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceMetricStatus>,
    /// A container resource metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource: Option<ContainerResourceMetricStatus>,
    /// An external metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalMetricStatus>,
}

/// The current value of an object metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMetricStatus {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// The value.
    #[serde(default)]
    pub current: MetricValueStatus,
    /// The object described.
    #[serde(default)]
    pub described_object: CrossVersionObjectReference,
}

/// The current value of a pods metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodsMetricStatus {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// The value.
    #[serde(default)]
    pub current: MetricValueStatus,
}

/// The current value of a resource metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceMetricStatus {
    /// The resource name.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub current: MetricValueStatus,
}

/// The current value of a container resource metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerResourceMetricStatus {
    /// The resource name.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub current: MetricValueStatus,
    /// The container's name.
    #[serde(default)]
    pub container: String,
}

/// The current value of an external metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalMetricStatus {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// The value.
    #[serde(default)]
    pub current: MetricValueStatus,
}

/// A current metric value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricValueStatus {
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    /// The value averaged over the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
    /// The percentage of the pods' requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
}

/// One condition of an autoscaler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HorizontalPodAutoscalerCondition {
    /// The condition type.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

crate::resource! {
    /// A horizontal pod autoscaler: keeps a workload's replicas between bounds so that
    /// its metrics track their targets.
    #[resource(api_version = "autoscaling/v2", kind = "HorizontalPodAutoscaler", plural = "horizontalpodautoscalers", namespaced = true)]
    pub struct HorizontalPodAutoscaler {
        /// Target, bounds, metrics, behavior.
        pub spec: HorizontalPodAutoscalerSpec,
        /// Replicas and metric values seen.
        pub status: HorizontalPodAutoscalerStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::autoscaling::horizontal_pod_autoscaler(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::autoscaling::horizontal_pod_autoscaler(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_example_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "application",
                        "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"},
                        "target": {"type": "AverageValue", "averageValue": "1k"}}},
                    {"type": "Object", "object": {"metric": {"name": "requests-per-second"},
                        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                        "target": {"type": "Value", "value": "10k"}}},
                    {"type": "External", "external": {"metric": {"name": "queue_messages_ready",
                        "selector": {"matchLabels": {"queue": "worker_tasks"}}},
                        "target": {"type": "AverageValue", "averageValue": "30"}}}
                ],
                "behavior": {
                    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
                    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "tolerance": "50m",
                        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]}
                }
            },
            "status": {
                "observedGeneration": 1, "lastScaleTime": "2024-01-01T00:00:00Z",
                "currentReplicas": 1, "desiredReplicas": 1,
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "current": {"averageValue": "1m", "averageUtilization": 0}}}],
                "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ScaleDownStabilized",
                    "message": "m", "lastTransitionTime": "2024-01-01T00:00:00Z"}]
            }
        });
        let hpa: HorizontalPodAutoscaler = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(hpa.spec.metrics.len(), 5);
        assert_eq!(serde_json::to_value(&hpa).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "a"}, "spec": {"maxReplicas": 2, "metrics": [{"type": "Resource",
            "resource": {"name": "cpu", "targetAverageUtilization": 50}}]}});
        let err = serde_path_to_error::deserialize::<_, HorizontalPodAutoscaler>(json).unwrap_err();
        assert_eq!(
            err.path().to_string(),
            "spec.metrics[0].resource.targetAverageUtilization"
        );
    }
}
