//! Where a DaemonSet's pods go: which nodes should run one (Kubernetes'
//! `NodeShouldRunDaemonPod`), the tolerations every daemon pod gets, the node affinity
//! that pins a pod to its node, and the node a pod is meant for.

use keel_core::api::node::{
    TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE, TAINT_NODE_NETWORK_UNAVAILABLE,
    TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE,
    TAINT_NODE_UNSCHEDULABLE,
};
use keel_core::api::{
    Affinity, DaemonSet, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, Pod, PodSpec, Toleration,
};

use crate::workload::node_fit::OBJECT_NAME_FIELD;
use crate::workload::{matches_required_affinity, untolerated_taint};

/// The tolerations the DaemonSet controller adds to every daemon pod (Kubernetes'
/// `AddOrUpdateDaemonPodTolerations`): `not-ready` and `unreachable` `NoExecute`, and
/// `disk-pressure`, `memory-pressure`, `pid-pressure`, `unschedulable` `NoSchedule`;
/// `network-unavailable` `NoSchedule` for pods on the host network. Each is
/// `operator: Exists` and replaces a toleration of the same key and effect.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        (TAINT_NODE_NOT_READY, "NoExecute"),
        (TAINT_NODE_UNREACHABLE, "NoExecute"),
        (TAINT_NODE_DISK_PRESSURE, "NoSchedule"),
        (TAINT_NODE_MEMORY_PRESSURE, "NoSchedule"),
        (TAINT_NODE_PID_PRESSURE, "NoSchedule"),
        (TAINT_NODE_UNSCHEDULABLE, "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push((TAINT_NODE_NETWORK_UNAVAILABLE, "NoSchedule"));
    }
    for (key, effect) in wanted {
        let toleration = Toleration {
            key: Some(key.to_owned()),
            operator: Some("Exists".to_owned()),
            value: None,
            effect: Some(effect.to_owned()),
            toleration_seconds: None,
        };
        let same =
            |t: &Toleration| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect);
        match spec.tolerations.iter_mut().find(|t| same(t)) {
            Some(existing) => *existing = toleration,
            None => spec.tolerations.push(toleration),
        }
    }
}

/// Whether `node` should run a pod of `ds`, and whether a pod already there may keep
/// running (Kubernetes' `NodeShouldRunDaemonPod`): the template's `nodeName` (if any),
/// `nodeSelector` and required node affinity must admit the node; a `NoSchedule` or
/// `NoExecute` taint the pod (with the daemon tolerations) does not tolerate keeps new
/// pods off, and only an untolerated `NoExecute` taint evicts a running one.
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let mut spec = ds.spec.template.spec.clone();
    add_daemon_tolerations(&mut spec);
    let name = node.metadata.name_str();
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != name)
    {
        return (false, false);
    }
    if !matches_required_affinity(&spec, node) {
        return (false, false);
    }
    let taints = &node.spec.taints;
    let hard = |t: &keel_core::api::Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
    if untolerated_taint(taints, &spec.tolerations, hard).is_none() {
        return (true, true);
    }
    let evicting = untolerated_taint(taints, &spec.tolerations, |t| t.effect == "NoExecute");
    (false, evicting.is_none())
}

/// Pins a pod to `node` the way the DaemonSet controller does (Kubernetes'
/// `ReplaceDaemonSetPodNodeNameNodeAffinity`): the required node affinity becomes the
/// single term `matchFields: [{key: metadata.name, operator: In, values: [node]}]`;
/// preferred terms and pod (anti-)affinity are kept.
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: vec![NodeSelectorRequirement {
            key: OBJECT_NAME_FIELD.to_owned(),
            operator: "In".to_owned(),
            values: vec![node.to_owned()],
        }],
    };
    let affinity = spec.affinity.get_or_insert_with(Box::<Affinity>::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}

/// The node a daemon pod is meant for (Kubernetes' `GetTargetNodeName`): its
/// `spec.nodeName` once bound, else the single value of a `metadata.name In`
/// `matchFields` requirement of its required node affinity.
pub fn target_node(pod: &Pod) -> Option<&str> {
    if let Some(node) = pod.node_name() {
        return Some(node);
    }
    let terms = &pod
        .spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| &t.match_fields)
        .find(|r| r.key == OBJECT_NAME_FIELD && r.operator == "In")
        .and_then(|r| match r.values.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::Taint;
    use keel_core::meta::ObjectMeta;

    fn node(name: &str, taints: &[(&str, &str)]) -> Node {
        let mut n = Node {
            metadata: ObjectMeta::named(name).with_label("role", "worker"),
            ..Node::default()
        };
        n.spec.taints = taints
            .iter()
            .map(|(k, e)| Taint {
                key: (*k).into(),
                value: None,
                effect: (*e).into(),
                time_added: None,
            })
            .collect();
        n
    }

    #[test]
    fn daemon_tolerations_are_added_once() {
        let mut spec = PodSpec::default();
        add_daemon_tolerations(&mut spec);
        add_daemon_tolerations(&mut spec);
        assert_eq!(spec.tolerations.len(), 6);
        assert!(
            spec.tolerations
                .iter()
                .all(|t| t.operator.as_deref() == Some("Exists"))
        );
        let keys: Vec<_> = spec
            .tolerations
            .iter()
            .map(|t| (t.key.as_deref().unwrap(), t.effect.as_deref().unwrap()))
            .collect();
        assert!(keys.contains(&("node.kubernetes.io/unschedulable", "NoSchedule")));
        assert!(keys.contains(&("node.kubernetes.io/unreachable", "NoExecute")));
        spec.host_network = Some(true);
        add_daemon_tolerations(&mut spec);
        assert_eq!(spec.tolerations.len(), 7);
    }

    #[test]
    fn taints_decide_run_and_continue() {
        let ds = DaemonSet::default();
        assert_eq!(should_run(&ds, &node("a", &[])), (true, true));
        assert_eq!(
            should_run(&ds, &node("a", &[("x", "PreferNoSchedule")])),
            (true, true)
        );
        assert_eq!(
            should_run(&ds, &node("a", &[("x", "NoSchedule")])),
            (false, true)
        );
        assert_eq!(
            should_run(&ds, &node("a", &[("x", "NoExecute")])),
            (false, false)
        );
        // The daemon tolerations cover a cordoned or unreachable node.
        let cordoned = node(
            "a",
            &[
                (TAINT_NODE_UNSCHEDULABLE, "NoSchedule"),
                (TAINT_NODE_UNREACHABLE, "NoExecute"),
            ],
        );
        assert_eq!(should_run(&ds, &cordoned), (true, true));
        let mut picky = DaemonSet::default();
        picky
            .spec
            .template
            .spec
            .node_selector
            .insert("role".into(), "db".into());
        assert_eq!(should_run(&picky, &node("a", &[])), (false, false));
        picky.spec.template.spec.node_selector.clear();
        picky.spec.template.spec.node_name = Some("b".into());
        assert_eq!(should_run(&picky, &node("a", &[])), (false, false));
    }

    #[test]
    fn pinned_pods_name_their_node() {
        let mut pod = Pod::default();
        assert_eq!(target_node(&pod), None);
        pin_to_node(&mut pod.spec, "n1");
        pin_to_node(&mut pod.spec, "n2");
        assert_eq!(target_node(&pod), Some("n2"));
        let terms = &pod
            .spec
            .affinity
            .as_ref()
            .unwrap()
            .node_affinity
            .as_ref()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .unwrap()
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        pod.spec.node_name = Some("n3".into());
        assert_eq!(target_node(&pod), Some("n3"));
    }
}
