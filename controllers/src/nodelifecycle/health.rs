//! A node's health as the control plane sees it: when it last heart-beat (its Lease
//! or its `Ready` condition), the `Unknown` conditions written when it went silent,
//! and the `NoExecute` taints that follow its `Ready` condition (Kubernetes'
//! `tryUpdateNodeHealth` and `processTaintBaseEviction`).

use chrono::{DateTime, Utc};
use keel_core::api::{
    Lease, Node, NodeCondition, NodeStatus, TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, Taint,
};
use keel_core::meta::Time;

/// The reason of a condition the controller set to `Unknown` after a silence.
pub const REASON_STATUS_UNKNOWN: &str = "NodeStatusUnknown";

/// Its message.
pub const MESSAGE_STATUS_UNKNOWN: &str = "Kubelet stopped posting node status.";

/// The reason of a condition the node never reported, added as `Unknown`.
pub const REASON_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";

/// Its message.
pub const MESSAGE_NEVER_UPDATED: &str = "Kubelet never posted node status.";

/// The conditions a silent node has set to `Unknown`.
pub const MONITORED_CONDITIONS: [&str; 4] = [
    NodeCondition::READY,
    NodeCondition::MEMORY_PRESSURE,
    NodeCondition::DISK_PRESSURE,
    NodeCondition::PID_PRESSURE,
];

/// The condition `type_` of `node`, if it has one.
pub fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// When the node last showed life: the latest of its Lease's `renewTime`, its `Ready`
/// condition's `lastHeartbeatTime` and (for a node that never reported) its creation.
pub fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> Option<DateTime<Utc>> {
    let renewed = lease.and_then(|l| l.spec.renew_time.as_ref()).map(|t| t.0);
    let reported = condition(node, NodeCondition::READY)
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let created = node.metadata.creation_timestamp.as_ref().map(|t| t.0);
    [renewed, reported, created].into_iter().flatten().max()
}

/// Sets the [`MONITORED_CONDITIONS`] of a silent node to `Unknown` (adding the missing
/// ones), keeping their `lastHeartbeatTime`; `lastTransitionTime` becomes `now` where
/// the status changes. Returns whether anything changed.
pub fn mark_unknown(status: &mut NodeStatus, now: &Time) -> bool {
    let mut changed = false;
    for type_ in MONITORED_CONDITIONS {
        match status.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some(REASON_STATUS_UNKNOWN.into());
                c.message = Some(MESSAGE_STATUS_UNKNOWN.into());
                c.last_transition_time = Some(now.clone());
                changed = true;
            }
            None => {
                status.conditions.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    last_heartbeat_time: None,
                    last_transition_time: Some(now.clone()),
                    reason: Some(REASON_NEVER_UPDATED.into()),
                    message: Some(MESSAGE_NEVER_UPDATED.into()),
                });
                changed = true;
            }
        }
    }
    changed
}

/// The `NoExecute` taint a node with this `Ready` status carries: `not-ready` for
/// `False`, `unreachable` for `Unknown`, none for `True` (or no condition yet).
pub fn wanted_taint(ready: Option<&str>) -> Option<&'static str> {
    match ready {
        Some("False") => Some(TAINT_NODE_NOT_READY),
        Some("Unknown") => Some(TAINT_NODE_UNREACHABLE),
        _ => None,
    }
}

/// Makes `taints` carry exactly `wanted` of the controller's two `NoExecute` taints
/// (added with `timeAdded` `now`), leaving every other taint alone. Returns whether
/// anything changed.
pub fn set_condition_taint(taints: &mut Vec<Taint>, wanted: Option<&str>, now: &Time) -> bool {
    let ours = |t: &Taint| {
        t.effect == Taint::EFFECT_NO_EXECUTE
            && (t.key == TAINT_NODE_NOT_READY || t.key == TAINT_NODE_UNREACHABLE)
    };
    let before = taints.len();
    taints.retain(|t| !ours(t) || Some(t.key.as_str()) == wanted);
    let mut changed = taints.len() != before;
    if let Some(key) = wanted
        && !taints.iter().any(|t| ours(t) && t.key == key)
    {
        taints.push(Taint {
            key: key.into(),
            value: None,
            effect: Taint::EFFECT_NO_EXECUTE.into(),
            time_added: Some(now.clone()),
        });
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::LeaseSpec;
    use keel_core::meta::{MicroTime, ObjectMeta};
    use std::time::Duration;

    fn at(secs: u64) -> Time {
        Time::epoch().saturating_add(Duration::from_secs(secs))
    }

    fn ready(status: &str, heartbeat: u64) -> NodeCondition {
        NodeCondition {
            type_: NodeCondition::READY.into(),
            status: status.into(),
            last_heartbeat_time: Some(at(heartbeat)),
            last_transition_time: Some(at(0)),
            reason: Some("KubeletReady".into()),
            message: None,
        }
    }

    #[test]
    fn the_latest_sign_of_life_counts() {
        let mut node = Node {
            metadata: ObjectMeta::named("n1"),
            ..Node::default()
        };
        assert_eq!(last_heartbeat(&node, None), None);
        node.metadata.creation_timestamp = Some(at(5));
        assert_eq!(last_heartbeat(&node, None), Some(at(5).0));
        node.status = Some(NodeStatus {
            conditions: vec![ready("True", 10)],
            ..NodeStatus::default()
        });
        assert_eq!(last_heartbeat(&node, None), Some(at(10).0));
        let lease = Lease {
            spec: LeaseSpec {
                renew_time: Some(MicroTime::from(at(30))),
                ..LeaseSpec::default()
            },
            ..Lease::default()
        };
        assert_eq!(last_heartbeat(&node, Some(&lease)), Some(at(30).0));
    }

    #[test]
    fn silent_nodes_get_unknown_conditions_once() {
        let mut status = NodeStatus {
            conditions: vec![ready("True", 10)],
            ..NodeStatus::default()
        };
        assert!(mark_unknown(&mut status, &at(60)));
        assert_eq!(status.conditions.len(), 4);
        let r = &status.conditions[0];
        assert_eq!(r.status, "Unknown");
        assert_eq!(r.reason.as_deref(), Some(REASON_STATUS_UNKNOWN));
        assert_eq!(r.message.as_deref(), Some(MESSAGE_STATUS_UNKNOWN));
        assert_eq!(r.last_heartbeat_time, Some(at(10)), "kept");
        assert_eq!(r.last_transition_time, Some(at(60)));
        assert_eq!(
            status.conditions[1].reason.as_deref(),
            Some(REASON_NEVER_UPDATED)
        );
        assert!(!mark_unknown(&mut status, &at(70)), "idempotent");
    }

    #[test]
    fn the_taint_follows_the_ready_condition() {
        assert_eq!(wanted_taint(Some("True")), None);
        assert_eq!(wanted_taint(None), None);
        let other = Taint {
            key: TAINT_NODE_UNREACHABLE.into(),
            value: None,
            effect: Taint::EFFECT_NO_SCHEDULE.into(),
            time_added: None,
        };
        let mut taints = vec![other.clone()];
        assert!(set_condition_taint(
            &mut taints,
            wanted_taint(Some("Unknown")),
            &at(1)
        ));
        assert!(!set_condition_taint(
            &mut taints,
            Some(TAINT_NODE_UNREACHABLE),
            &at(2)
        ));
        assert_eq!(taints[1].time_added, Some(at(1)), "kept from the first add");
        assert!(set_condition_taint(
            &mut taints,
            wanted_taint(Some("False")),
            &at(3)
        ));
        assert_eq!(taints.len(), 2);
        assert_eq!(taints[1].key, TAINT_NODE_NOT_READY);
        assert!(set_condition_taint(&mut taints, None, &at(4)));
        assert_eq!(taints, vec![other], "other taints stay");
    }
}
