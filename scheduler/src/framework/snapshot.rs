//! [`Snapshot`]: the cluster as the scheduler sees it — every node with its pods, plus
//! the namespaces, claims, volumes and disruption budgets plugins consult. Kept up to
//! date incrementally from watch events (and from the scheduler's own assumptions),
//! never rebuilt from the store per pod.

use std::collections::{BTreeMap, HashMap};

/// The snapshot's maps, hashed with foldhash: keys are short names looked up for every
/// placed pod, where SipHash cost more than the rest of the lookup.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;

use keel_core::api::{
    Node, PersistentVolume, PersistentVolumeClaim, Pod, PodDisruptionBudget, Service, StorageClass,
};

use super::node_info::NodeInfo;
use super::pod_info::PodInfo;

/// The scheduler's view of the cluster.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    nodes: Nodes,
    by_name: Map<Arc<str>, usize>,
    /// Namespace → name → node of each placed pod.
    placed: Map<String, Map<String, Arc<str>>>,
    /// How many nodes have each image.
    image_nodes: Map<String, usize>,
    namespaces: Map<String, BTreeMap<String, String>>,
    claims: Map<(String, String), Arc<PersistentVolumeClaim>>,
    volumes: Map<String, Arc<PersistentVolume>>,
    classes: Map<String, Arc<StorageClass>>,
    budgets: Vec<Arc<PodDisruptionBudget>>,
    /// Services' (non-empty) selectors, by namespace and name.
    services: Map<String, Map<String, BTreeMap<String, String>>>,
    /// Pod controllers' selectors by `(kind, namespace, name)` (`ReplicaSet`,
    /// `StatefulSet`).
    controllers: Map<(String, String, String), keel_core::labels::Selector>,
    /// Nodes that hold at least one pod with pod (anti-)affinity terms.
    affinity_pods: usize,
    /// Nodes marked unschedulable (cordoned).
    cordoned: usize,
    /// Nodes with at least one taint.
    tainted: usize,
    /// Placed pods by each of their labels `(key, value)`, with their node: selectors
    /// with an equality narrow to these instead of scanning every pod.
    by_label: LabelIndex,
    /// Placed pods with required anti-affinity, by each `(key, value)` one of their
    /// terms requires of the pods it selects; `anti_generic` holds those with a term
    /// that requires no particular label.
    anti_by_label: LabelIndex,
    anti_generic: Vec<Placed>,
}

/// A snapshot's nodes. They remember scores ([`ScoreMemo`](super::score_memo)): the
/// snapshot changes them only through the methods that forget; a clone of the snapshot
/// owns its nodes the same way.
#[derive(Debug, Default)]
struct Nodes(Vec<NodeInfo>);

impl Clone for Nodes {
    fn clone(&self) -> Self {
        let mut nodes = self.0.clone();
        for n in &mut nodes {
            n.memo.share();
        }
        Nodes(nodes)
    }
}

impl std::ops::Deref for Nodes {
    type Target = Vec<NodeInfo>;
    fn deref(&self) -> &Vec<NodeInfo> {
        &self.0
    }
}

impl std::ops::DerefMut for Nodes {
    fn deref_mut(&mut self) -> &mut Vec<NodeInfo> {
        &mut self.0
    }
}

/// The labels a selector requires one of (its first `k=v` / `k in (…)`), if any.
fn narrowing(selector: &keel_core::labels::Selector) -> Option<Vec<(String, String)>> {
    use keel_core::labels::Operator;
    let r = selector.requirements().iter().find(|r| {
        matches!(
            r.operator(),
            Operator::Equals | Operator::DoubleEquals | Operator::In
        )
    })?;
    Some(
        r.values()
            .iter()
            .map(|v| (r.key().to_owned(), v.clone()))
            .collect(),
    )
}

/// A placed pod and its node's name.
type Placed = (Arc<str>, Arc<PodInfo>);

/// `(namespace, name)` of a pod.
fn pod_key(pod: &Pod) -> (&str, &str) {
    (
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or(""),
    )
}

/// Placed pods by label key, then value: looked up by borrowed strings, so placing a
/// pod allocates only for a label pair not seen before.
#[derive(Clone, Debug, Default)]
struct LabelIndex(Map<String, Map<String, Vec<Placed>>>);

impl LabelIndex {
    fn get(&self, key: &str, value: &str) -> Option<&Vec<Placed>> {
        self.0.get(key)?.get(value)
    }

    fn push(&mut self, key: &str, value: &str, placed: Placed) {
        let values = match self.0.get_mut(key) {
            Some(values) => values,
            None => self.0.entry(key.to_owned()).or_default(),
        };
        match values.get_mut(value) {
            Some(list) => list.push(placed),
            None => {
                values.insert(value.to_owned(), vec![placed]);
            }
        }
    }

    /// Drops the entries of `key=value` that `gone` says are gone.
    fn remove(&mut self, key: &str, value: &str, gone: impl Fn(&Arc<PodInfo>) -> bool) {
        let Some(values) = self.0.get_mut(key) else {
            return;
        };
        if let Some(list) = values.get_mut(value) {
            list.retain(|(_, p)| !gone(p));
            if list.is_empty() {
                values.remove(value);
            }
        }
        if values.is_empty() {
            self.0.remove(key);
        }
    }
}

impl Snapshot {
    /// An empty cluster.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// A snapshot of `nodes` with the `pods` bound to them (pods bound elsewhere, or not
    /// bound, are left out).
    pub fn from_objects(
        nodes: impl IntoIterator<Item = Arc<Node>>,
        pods: impl IntoIterator<Item = Arc<Pod>>,
    ) -> Snapshot {
        let mut s = Snapshot::new();
        for n in nodes {
            s.set_node(n);
        }
        for p in pods {
            s.add_pod(p);
        }
        s
    }

    /// The nodes, in a stable order.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// How many nodes there are.
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The node `name`.
    pub fn get(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name.get(name).map(|i| &self.nodes[*i])
    }

    /// The index of node `name` in [`nodes`](Self::nodes).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// How many nodes have `image`.
    pub fn image_spread(&self, image: &str) -> usize {
        self.image_nodes.get(image).copied().unwrap_or(0)
    }

    /// How many nodes are cordoned (`spec.unschedulable`).
    pub fn cordoned_nodes(&self) -> usize {
        self.cordoned
    }

    /// How many nodes have at least one taint.
    pub fn tainted_nodes(&self) -> usize {
        self.tainted
    }

    /// Whether any node reports any image.
    pub fn has_images(&self) -> bool {
        !self.image_nodes.is_empty()
    }

    /// Whether any node holds a pod with pod (anti-)affinity terms.
    pub fn has_affinity_pods(&self) -> bool {
        self.affinity_pods > 0
    }

    /// The node a pod is placed on (bound or assumed).
    pub fn node_of(&self, namespace: &str, name: &str) -> Option<&str> {
        self.placed.get(namespace)?.get(name).map(|n| &**n)
    }

    /// Adds or replaces a node (its pods stay).
    pub fn set_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.as_deref().unwrap_or("");
        let i = if let Some(&i) = self.by_name.get(name) {
            self.count_images(i, -1);
            self.count_flags(i, false);
            self.nodes[i].set_node(node);
            i
        } else {
            let mut info = NodeInfo::new(node);
            info.memo.share();
            self.by_name
                .insert(info.name_shared().clone(), self.nodes.len());
            self.nodes.push(info);
            self.nodes.len() - 1
        };
        self.count_images(i, 1);
        self.count_flags(i, true);
    }

    /// Counts node `i`'s cordon and taints in (`add`) or out of the totals.
    fn count_flags(&mut self, i: usize, add: bool) {
        let info = &self.nodes[i];
        for (counter, flag) in [
            (&mut self.cordoned, info.unschedulable),
            (&mut self.tainted, info.has_taints),
        ] {
            if flag {
                *counter = if add { *counter + 1 } else { *counter - 1 };
            }
        }
    }

    fn count_images(&mut self, i: usize, delta: isize) {
        for image in self.nodes[i].images.keys() {
            let n = self.image_nodes.entry(image.clone()).or_insert(0);
            *n = n.saturating_add_signed(delta);
        }
    }

    /// Removes a node and forgets its pods.
    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.by_name.remove(name) else {
            return;
        };
        self.count_images(i, -1);
        self.count_flags(i, false);
        let removed = self.nodes.swap_remove(i);
        if !removed.pods_with_affinity.is_empty() {
            self.affinity_pods -= 1;
        }
        for p in &removed.pods {
            let (namespace, name) = pod_key(&p.pod);
            self.forget_placement(namespace, name);
            self.unindex(p);
        }
        if i < self.nodes.len() {
            let moved = self.nodes[i].name();
            if let Some(slot) = self.by_name.get_mut(moved) {
                *slot = i;
            }
        }
    }

    /// Adds a pod bound to a node (by `spec.nodeName`); returns whether it was placed
    /// (a pod without a node, or on an unknown node, is not). A pod already placed is
    /// replaced.
    pub fn add_pod(&mut self, pod: Arc<Pod>) -> bool {
        let Some(node) = pod.spec.node_name.clone().filter(|n| !n.is_empty()) else {
            return false;
        };
        self.place(Arc::new(PodInfo::new(pod)), &node)
    }

    /// Counts `pod` on `node` before its binding is written (the scheduler's assumed
    /// pod), so the next cycle sees the node as used.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) -> bool {
        self.place(pod, node)
    }

    /// Forgets where `namespace/name` is placed; returns the node.
    fn forget_placement(&mut self, namespace: &str, name: &str) -> Option<Arc<str>> {
        let names = self.placed.get_mut(namespace)?;
        let node = names.remove(name);
        if names.is_empty() {
            self.placed.remove(namespace);
        }
        node
    }

    fn place(&mut self, pod: Arc<PodInfo>, node: &str) -> bool {
        let (namespace, name) = pod_key(&pod.pod);
        let Some((node, &i)) = self.by_name.get_key_value(node) else {
            // Not placed; wherever it was before, it is no longer.
            self.remove_pod(namespace, name);
            return false;
        };
        let node = node.clone();
        let names = match self.placed.get_mut(namespace) {
            Some(names) => names,
            None => self.placed.entry(namespace.to_owned()).or_default(),
        };
        // One lookup records the placement and finds an earlier one to undo.
        if let Some(before) = names.insert(name.to_owned(), node.clone()) {
            self.take_off(&before, namespace, name);
        }
        for (k, v) in &pod.pod.metadata.labels {
            self.by_label.push(k, v, (node.clone(), pod.clone()));
        }
        for term in &pod.required_anti_affinity {
            match narrowing(&term.selector) {
                Some(labels) => {
                    for (k, v) in labels {
                        self.anti_by_label.push(&k, &v, (node.clone(), pod.clone()));
                    }
                }
                None => self.anti_generic.push((node.clone(), pod.clone())),
            }
        }
        let info = &mut self.nodes[i];
        let had_affinity = !info.pods_with_affinity.is_empty();
        info.add_pod(pod);
        if !had_affinity && !info.pods_with_affinity.is_empty() {
            self.affinity_pods += 1;
        }
        true
    }

    /// Removes the pod `namespace/name` from its node; returns it.
    pub fn remove_pod(&mut self, namespace: &str, name: &str) -> Option<Arc<PodInfo>> {
        let node = self.forget_placement(namespace, name)?;
        self.take_off(&node, namespace, name)
    }

    /// Takes the pod `namespace/name` off `node` and out of the indexes (its placement
    /// record is the caller's); returns it.
    fn take_off(&mut self, node: &str, namespace: &str, name: &str) -> Option<Arc<PodInfo>> {
        let i = *self.by_name.get(node)?;
        let info = &mut self.nodes[i];
        let had_affinity = !info.pods_with_affinity.is_empty();
        let removed = info.remove_pod(namespace, name);
        if had_affinity && info.pods_with_affinity.is_empty() {
            self.affinity_pods -= 1;
        }
        if let Some(p) = &removed {
            self.unindex(p);
        }
        removed
    }

    fn unindex(&mut self, pod: &PodInfo) {
        let same = |p: &Arc<PodInfo>| {
            p.pod.metadata.name == pod.pod.metadata.name
                && p.pod.metadata.namespace == pod.pod.metadata.namespace
        };
        for (k, v) in &pod.pod.metadata.labels {
            self.by_label.remove(k, v, same);
        }
        for term in &pod.required_anti_affinity {
            for (k, v) in narrowing(&term.selector).unwrap_or_default() {
                self.anti_by_label.remove(&k, &v, same);
            }
        }
        if !pod.required_anti_affinity.is_empty() {
            self.anti_generic.retain(|(_, p)| !same(p));
        }
    }

    /// The placed pods whose required anti-affinity may select a pod labelled
    /// `labels`, with their nodes, each once. The caller still checks the terms.
    pub fn anti_affinity_candidates(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Vec<(&NodeInfo, &Arc<PodInfo>)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let lists = labels
            .iter()
            .filter_map(|(k, v)| self.anti_by_label.get(k, v))
            .chain(std::iter::once(&self.anti_generic));
        for list in lists {
            for (node, pod) in list {
                if seen.insert(Arc::as_ptr(pod))
                    && let Some(info) = self.get(node)
                {
                    out.push((info, pod));
                }
            }
        }
        out
    }

    /// The placed pods that may match `selector`, with their nodes, when the selector
    /// has an equality (`k=v`, `k in (…)`) to narrow by; `None` when every pod must be
    /// checked. The caller still checks the whole selector.
    pub fn candidates(
        &self,
        selector: &keel_core::labels::Selector,
    ) -> Option<Vec<(&NodeInfo, &Arc<PodInfo>)>> {
        use keel_core::labels::Operator;
        if selector.is_nothing() {
            return Some(Vec::new());
        }
        let narrowing = selector.requirements().iter().find(|r| {
            matches!(
                r.operator(),
                Operator::Equals | Operator::DoubleEquals | Operator::In
            )
        })?;
        let mut out = Vec::new();
        for value in narrowing.values() {
            if let Some(list) = self.by_label.get(narrowing.key(), value) {
                for (node, pod) in list {
                    if let Some(info) = self.get(node) {
                        out.push((info, pod));
                    }
                }
            }
        }
        Some(out)
    }

    /// Records a namespace's labels (for affinity terms with a namespace selector).
    pub fn set_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        self.namespaces.insert(name.to_owned(), labels);
    }

    /// The labels of namespace `name`.
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(name)
    }

    /// Adds or replaces a claim.
    pub fn set_claim(&mut self, claim: Arc<PersistentVolumeClaim>) {
        self.claims.insert(pod_key_of(&claim.metadata), claim);
    }

    /// Removes a claim.
    pub fn remove_claim(&mut self, namespace: &str, name: &str) {
        self.claims.remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// The claim `namespace/name`.
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&Arc<PersistentVolumeClaim>> {
        self.claims.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Adds or replaces a persistent volume.
    pub fn set_volume(&mut self, volume: Arc<PersistentVolume>) {
        self.volumes
            .insert(volume.metadata.name.clone().unwrap_or_default(), volume);
    }

    /// Removes a persistent volume.
    pub fn remove_volume(&mut self, name: &str) {
        self.volumes.remove(name);
    }

    /// The persistent volume `name`.
    pub fn volume(&self, name: &str) -> Option<&Arc<PersistentVolume>> {
        self.volumes.get(name)
    }

    /// Adds or replaces a storage class.
    pub fn set_class(&mut self, class: Arc<StorageClass>) {
        self.classes
            .insert(class.metadata.name.clone().unwrap_or_default(), class);
    }

    /// Removes a storage class.
    pub fn remove_class(&mut self, name: &str) {
        self.classes.remove(name);
    }

    /// The storage class `name`.
    pub fn class(&self, name: &str) -> Option<&Arc<StorageClass>> {
        self.classes.get(name)
    }

    /// Adds or replaces a disruption budget.
    pub fn set_budget(&mut self, budget: Arc<PodDisruptionBudget>) {
        let key = pod_key_of(&budget.metadata);
        self.budgets.retain(|b| pod_key_of(&b.metadata) != key);
        self.budgets.push(budget);
    }

    /// Removes a disruption budget.
    pub fn remove_budget(&mut self, namespace: &str, name: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        self.budgets.retain(|b| pod_key_of(&b.metadata) != key);
    }

    /// Every disruption budget.
    pub fn budgets(&self) -> &[Arc<PodDisruptionBudget>] {
        &self.budgets
    }
}

/// The pod controllers whose selectors Kubernetes' default spreading reads, by kind
/// (`apps/v1`).
pub const SPREAD_CONTROLLER_KINDS: [&str; 2] = ["ReplicaSet", "StatefulSet"];

impl Snapshot {
    /// Adds or replaces a Service (its selector is what the snapshot keeps; a Service
    /// without one selects no pods).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the shape of every snapshot setter, fed by watch events"
    )]
    pub fn set_service(&mut self, service: Arc<Service>) {
        let (namespace, name) = pod_key_of(&service.metadata);
        let selector = service.spec.selector.clone();
        let names = self.services.entry(namespace).or_default();
        if selector.is_empty() {
            names.remove(&name);
        } else {
            names.insert(name, selector);
        }
    }

    /// Removes a Service.
    pub fn remove_service(&mut self, namespace: &str, name: &str) {
        if let Some(names) = self.services.get_mut(namespace) {
            names.remove(name);
        }
    }

    /// Adds or replaces the selector of the pod controller `kind` (one of
    /// [`SPREAD_CONTROLLER_KINDS`]) `namespace/name`.
    pub fn set_controller_selector(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        selector: keel_core::labels::Selector,
    ) {
        self.controllers.insert(
            (kind.to_owned(), namespace.to_owned(), name.to_owned()),
            selector,
        );
    }

    /// Removes a pod controller's selector.
    pub fn remove_controller_selector(&mut self, kind: &str, namespace: &str, name: &str) {
        self.controllers
            .remove(&(kind.to_owned(), namespace.to_owned(), name.to_owned()));
    }

    /// Kubernetes' `DefaultSelector`: the labels of every Service in the pod's namespace
    /// that selects it, plus the selector of its controlling ReplicaSet or StatefulSet —
    /// the pods default spreading counts the pod among. Empty when none applies.
    pub fn default_selector(&self, pod: &Pod) -> keel_core::labels::Selector {
        use keel_core::labels::Selector;
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let owner = pod.metadata.controller_owner().filter(|o| {
            o.api_version == "apps/v1" && SPREAD_CONTROLLER_KINDS.contains(&o.kind.as_str())
        });
        if owner.is_none() && self.services.get(namespace).is_none_or(HashMap::is_empty) {
            // Nothing selects the pod (the common case for a bare pod): no allocation.
            return Selector::default();
        }
        let mut labels = BTreeMap::new();
        for selector in self
            .services
            .get(namespace)
            .into_iter()
            .flat_map(HashMap::values)
        {
            if selector
                .iter()
                .all(|(k, v)| pod.metadata.labels.get(k) == Some(v))
            {
                labels.extend(selector.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut selector = Selector::from_labels(&labels);
        if let Some(o) = owner
            && let Some(own) =
                self.controllers
                    .get(&(o.kind.clone(), namespace.to_owned(), o.name.clone()))
        {
            for r in own.requirements() {
                selector = selector.and(r.clone());
            }
        }
        selector
    }
}

fn pod_key_of(meta: &keel_core::meta::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use keel_core::api::Node;

    use super::Snapshot;

    fn node(name: &str, cpu: &str) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                "status": {"allocatable": {"cpu": cpu, "memory": "1Gi", "pods": "10"}}
            }))
            .expect("node"),
        )
    }

    #[test]
    fn a_snapshots_nodes_remember_and_nodes_taken_out_do_not() {
        let mut s = Snapshot::from_objects([node("a", "1")], Vec::new());
        s.set_node(node("b", "1"));
        s.set_node(node("a", "2"));
        let copy = s.clone();
        for n in s.nodes().iter().chain(copy.nodes()) {
            assert!(n.memo.is_shared(), "{} remembers", n.name());
        }
        assert!(
            !s.nodes()[0].clone().memo.is_shared(),
            "a clone is standalone"
        );
    }
}
