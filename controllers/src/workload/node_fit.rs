//! Whether a pod may run on a node, as far as a controller can tell without the
//! scheduler: `spec.nodeName`, `spec.nodeSelector`, required node affinity and
//! taints/tolerations (Kubernetes' `nodeaffinity.GetRequiredNodeAffinity(pod).Match`
//! and `FindMatchingUntoleratedTaint`). The DaemonSet controller decides its nodes
//! with these.

use keel_core::api::{Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration};

/// The node field a `matchFields` requirement may name.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

/// Whether `toleration` tolerates `taint` (Kubernetes' `ToleratesTaint`): the effect
/// and key match when set, and the operator is `Exists`, or `Equal` (the default)
/// with the same value.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    fn set(s: Option<&String>) -> Option<&str> {
        s.map(String::as_str).filter(|v| !v.is_empty())
    }
    if set(toleration.effect.as_ref()).is_some_and(|e| e != taint.effect) {
        return false;
    }
    if set(toleration.key.as_ref()).is_some_and(|k| k != taint.key) {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        "Exists" => true,
        _ => false,
    }
}

/// The first taint that `keep` selects and no toleration tolerates.
pub fn untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    keep: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| keep(t))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// Whether `spec`'s `nodeSelector` and required node affinity admit `node`: every
/// `nodeSelector` label matches, and at least one `nodeSelectorTerm` matches (a term
/// matches when all its `matchExpressions` and `matchFields` do; an empty term
/// matches nothing). Malformed requirements (a bad operator, a non-integer `Gt`)
/// match nothing.
pub fn matches_required_affinity(spec: &PodSpec, node: &Node) -> bool {
    let labels = &node.metadata.labels;
    if !spec
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let Some(required) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
    else {
        return true;
    };
    required
        .node_selector_terms
        .iter()
        .any(|term| term_matches(term, node))
}

/// Whether one `nodeSelectorTerm` matches `node`.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    let labels = &node.metadata.labels;
    term.match_expressions
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && term.match_fields.iter().all(|r| {
            r.key == OBJECT_NAME_FIELD
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, Some(node.metadata.name_str()))
        })
}

/// Whether a requirement holds for a label (or field) whose value is `value`
/// (`None`: the node has no such label).
fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let int = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| r.values.iter().all(|x| x != v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let ([bound], Some(have)) = (r.values.as_slice(), value.and_then(int)) else {
                return false;
            };
            match int(bound) {
                Some(b) if r.operator == "Gt" => have > b,
                Some(b) => have < b,
                None => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{Affinity, NodeAffinity, NodeSelector};
    use keel_core::meta::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        let mut meta = ObjectMeta::named(name);
        for (k, v) in labels {
            meta = meta.with_label(*k, *v);
        }
        Node {
            metadata: meta,
            ..Node::default()
        }
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(
        key: Option<&str>,
        op: Option<&str>,
        value: Option<&str>,
        effect: Option<&str>,
    ) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        }
    }

    #[test]
    fn tolerations_follow_kubernetes() {
        let t = taint("k", Some("v"), "NoSchedule");
        assert!(tolerates(&tol(Some("k"), None, Some("v"), None), &t));
        assert!(tolerates(
            &tol(Some("k"), Some("Equal"), Some("v"), Some("NoSchedule")),
            &t
        ));
        assert!(!tolerates(&tol(Some("k"), None, Some("w"), None), &t));
        assert!(!tolerates(
            &tol(Some("k"), Some("Exists"), None, Some("NoExecute")),
            &t
        ));
        assert!(
            tolerates(&tol(None, Some("Exists"), None, None), &t),
            "empty key + Exists tolerates all"
        );
        assert!(!tolerates(
            &tol(Some("other"), Some("Exists"), None, None),
            &t
        ));
        assert!(!tolerates(&tol(Some("k"), Some("Bogus"), None, None), &t));
        let taints = [taint("a", None, "PreferNoSchedule"), t.clone()];
        let hard = |t: &Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
        assert_eq!(
            untolerated_taint(&taints, &[], hard).map(|t| t.key.as_str()),
            Some("k")
        );
        assert!(
            untolerated_taint(&taints, &[tol(Some("k"), Some("Exists"), None, None)], hard)
                .is_none()
        );
    }

    #[test]
    fn node_selector_and_required_affinity() {
        let n = node("n1", &[("zone", "a"), ("cores", "8")]);
        let mut spec = PodSpec::default();
        assert!(matches_required_affinity(&spec, &n));
        spec.node_selector.insert("zone".into(), "b".into());
        assert!(!matches_required_affinity(&spec, &n));
        spec.node_selector.insert("zone".into(), "a".into());
        assert!(matches_required_affinity(&spec, &n));

        let with_terms = |terms: Vec<NodeSelectorTerm>| {
            let mut s = spec.clone();
            s.affinity = Some(Box::new(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: terms,
                    }),
                    ..NodeAffinity::default()
                }),
                ..Affinity::default()
            }));
            matches_required_affinity(&s, &n)
        };
        let exprs = |rs: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: rs,
            match_fields: vec![],
        };
        let fields = |rs: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: rs,
        };
        assert!(with_terms(vec![exprs(vec![req(
            "zone",
            "In",
            &["a", "b"]
        )])]));
        assert!(!with_terms(vec![exprs(vec![req("zone", "NotIn", &["a"])])]));
        assert!(with_terms(vec![exprs(vec![req("gpu", "NotIn", &["x"])])]));
        assert!(with_terms(vec![exprs(vec![req("zone", "Exists", &[])])]));
        assert!(with_terms(vec![exprs(vec![req(
            "gpu",
            "DoesNotExist",
            &[]
        )])]));
        assert!(with_terms(vec![exprs(vec![req("cores", "Gt", &["4"])])]));
        assert!(!with_terms(vec![exprs(vec![req("cores", "Lt", &["4"])])]));
        assert!(!with_terms(vec![exprs(vec![req("zone", "Gt", &["4"])])]));
        // Terms are ORed; requirements in a term are ANDed.
        assert!(with_terms(vec![
            exprs(vec![req("zone", "In", &["b"])]),
            exprs(vec![req("zone", "In", &["a"]), req("cores", "Exists", &[])]),
        ]));
        assert!(!with_terms(vec![exprs(vec![
            req("zone", "In", &["a"]),
            req("gpu", "Exists", &[])
        ])]));
        assert!(with_terms(vec![fields(vec![req(
            "metadata.name",
            "In",
            &["n1"]
        )])]));
        assert!(!with_terms(vec![fields(vec![req(
            "metadata.name",
            "In",
            &["n2"]
        )])]));
        assert!(!with_terms(vec![fields(vec![req(
            "metadata.uid",
            "In",
            &["n1"]
        )])]));
        assert!(
            !with_terms(vec![NodeSelectorTerm::default()]),
            "an empty term matches nothing"
        );
    }
}
