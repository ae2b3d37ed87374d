//! `Event` (core/v1): a report of something that happened to an object.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ObjectReference;
use crate::meta::{MicroTime, Time};

/// The component that reported an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSource {
    /// The component, e.g. `kubelet`, `default-scheduler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The node the component runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A series of repeated events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSeries {
    /// How many times the event occurred in the series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// When the last event of the series was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_observed_time: Option<MicroTime>,
}

crate::resource! {
    /// An event: something that happened to an object (`kubectl get events`).
    #[resource(api_version = "v1", kind = "Event", plural = "events", namespaced = true)]
    pub struct Event {
        /// The object the event is about.
        #[serde(default)]
        pub involved_object: ObjectReference,
        /// A short CamelCase reason, e.g. `Scheduled`, `BackOff`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reason: Option<String>,
        /// A human-readable description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message: Option<String>,
        /// The component that reported the event (legacy form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source: Option<EventSource>,
        /// When the event was first recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub first_timestamp: Option<Time>,
        /// When the event was most recently recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_timestamp: Option<Time>,
        /// How many times the event occurred.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub count: Option<i32>,
        /// `Normal` or `Warning`.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// When the event was first observed (new-style events).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub event_time: Option<MicroTime>,
        /// The series this event belongs to, if repeated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub series: Option<EventSeries>,
        /// What action was taken or failed, e.g. `Binding`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub action: Option<String>,
        /// A second object involved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub related: Option<ObjectReference>,
        /// The controller that emitted the event, e.g. `kubernetes.io/kubelet`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reporting_component: Option<String>,
        /// The instance of the controller, e.g. `kubelet-node-1`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reporting_instance: Option<String>,
    }
    impl {
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::event::event(self)
        }
    }
}

impl Event {
    /// `type` of an informational event.
    pub const TYPE_NORMAL: &'static str = "Normal";
    /// `type` of an event reporting a problem.
    pub const TYPE_WARNING: &'static str = "Warning";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_event_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-0.17a1b2c3d4e5f6a7", "namespace": "default"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-0", "namespace": "default",
                "uid": "u", "resourceVersion": "42", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled", "message": "Successfully pulled image \"nginx\"",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:01:00Z",
            "count": 3, "type": "Normal", "eventTime": "2024-01-01T00:00:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:01:00.500000Z"},
            "action": "Pulling", "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet", "reportingInstance": "node-1"
        });
        let event: Event = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            event.involved_object.field_path.as_deref(),
            Some("spec.containers{web}")
        );
        assert_eq!(serde_json::to_value(&event).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "a"},
            "involvedObject": {"kind": "Pod", "nme": "x"}});
        let err = serde_path_to_error::deserialize::<_, Event>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "involvedObject.nme");
    }
}
