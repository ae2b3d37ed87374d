//! What the workload controllers' integration tests share: waiting on conditions
//! through watches (never on wall-clock time), playing the node's part (pod status),
//! and building workload objects.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use keel_core::Resource;
use keel_core::api::{Container, Pod, PodCondition, PodTemplateSpec};
use keel_core::client::{Api, Client, DeleteParams, ListParams, WatchEvent};
use keel_core::labels::LabelSelector;
use keel_core::meta::{ObjectMeta, Time};
use tokio::task::JoinHandle;

/// How long (virtual time) a wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(3600);

/// Waits until `done` holds for the listed objects of `api`, re-checking after each
/// change; fails the test after [`PATIENCE`] of virtual time. Returns the objects.
pub async fn wait_for<K, F>(api: &Api<K>, what: &str, done: F) -> Vec<Arc<K>>
where
    K: Resource,
    F: Fn(&[Arc<K>]) -> bool,
{
    let wait = async {
        loop {
            let list = api.list(&ListParams::default()).await.expect("list");
            if done(&list.items) {
                return list.items;
            }
            let mut events = api
                .watch(&ListParams::default(), list.resource_version())
                .await
                .expect("watch");
            // Any change, then look again.
            let _ = events.next().await;
        }
    };
    if let Ok(items) = tokio::time::timeout(PATIENCE, wait).await {
        return items;
    }
    let now: Vec<String> = api
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|o| serde_json::to_string(&**o).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    panic!(
        "timed out waiting for {what}; objects now:\n{}",
        now.join("\n")
    )
}

/// Waits until the object `name` of `api` satisfies `done`.
pub async fn wait_for_object<K, F>(api: &Api<K>, name: &str, what: &str, done: F) -> Arc<K>
where
    K: Resource,
    F: Fn(&K) -> bool,
{
    let items = wait_for(api, what, |items| {
        items.iter().any(|o| o.meta().name_str() == name && done(o))
    })
    .await;
    items
        .into_iter()
        .find(|o| o.meta().name_str() == name)
        .unwrap()
}

/// Runs `f` on every event of `api` until the returned future is dropped: for
/// invariant checks at every observed moment.
pub fn on_every_change<K, F, Fut>(api: Api<K>, f: F) -> JoinHandle<()>
where
    K: Resource,
    F: Fn(Vec<Arc<K>>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            let list = api.list(&ListParams::default()).await.expect("list");
            let version = list.resource_version().to_owned();
            f(list.items).await;
            let mut events = api
                .watch(&ListParams::default(), &version)
                .await
                .expect("watch");
            let _ = events.next().await;
        }
    })
}

/// A container that does nothing in particular.
pub fn container(image: &str) -> Container {
    Container {
        name: "app".into(),
        image: Some(image.into()),
        ..Container::default()
    }
}

/// A pod template labelled `app=<app>` running `image`.
pub fn template(app: &str, image: &str) -> PodTemplateSpec {
    let mut t = PodTemplateSpec::default();
    t.metadata.labels.insert("app".into(), app.into());
    t.spec.containers.push(container(image));
    t
}

/// `matchLabels: {app: <app>}`.
pub fn selector(app: &str) -> LabelSelector {
    let mut s = LabelSelector::default();
    s.match_labels.insert("app".into(), app.into());
    s
}

/// Metadata in `default`.
pub fn meta(name: &str) -> ObjectMeta {
    ObjectMeta::namespaced("default", name)
}

/// Plays the node: writes `phase`, and `Ready` (with the current time as its last
/// transition) when `ready`.
pub async fn set_pod_status(client: &Client, pod: &Pod, phase: &str, ready: bool) -> Arc<Pod> {
    let api: Api<Pod> = Api::namespaced(client, pod.metadata.namespace_str().unwrap());
    let now = client.clock().now();
    let Ok(current) = api.get(pod.metadata.name_str()).await else {
        return Arc::new(pod.clone());
    };
    let mut next = (*current).clone();
    let mut status = next.status.clone().unwrap_or_default();
    status.phase = Some(phase.into());
    status.start_time.get_or_insert(now.clone());
    let was_ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    status.conditions.retain(|c| c.type_ != "Ready");
    status.conditions.push(PodCondition {
        type_: "Ready".into(),
        status: if ready { "True" } else { "False" }.into(),
        last_transition_time: Some(if was_ready == ready {
            current
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or(now)
        } else {
            now
        }),
        ..PodCondition::default()
    });
    next.status = Some(status);
    api.replace_status(pod.metadata.name_str(), &next)
        .await
        .unwrap_or(current)
}

/// Plays every node: each new pod becomes Running and Ready, and a pod being deleted
/// is removed at once. Stops when the handle is dropped or aborted.
pub fn kubelet(client: Client) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::all(&client);
        let list = api.list(&ListParams::default()).await.expect("list");
        let mut version = list.resource_version().to_owned();
        for pod in list.items {
            settle(&client, &pod).await;
        }
        loop {
            let mut events = api
                .watch(&ListParams::default(), &version)
                .await
                .expect("watch");
            while let Some(event) = events.next().await {
                match event {
                    Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => {
                        version = pod.metadata.resource_version.clone().unwrap_or_default();
                        settle(&client, &pod).await;
                    }
                    Ok(WatchEvent::Deleted(pod)) => {
                        version = pod.metadata.resource_version.clone().unwrap_or_default();
                    }
                    Ok(WatchEvent::Bookmark { resource_version }) => version = resource_version,
                    Err(_) => break,
                }
            }
        }
    })
}

async fn settle(client: &Client, pod: &Pod) {
    let api: Api<Pod> = Api::namespaced(client, pod.metadata.namespace_str().unwrap());
    if pod.metadata.deletion_timestamp.is_some() {
        let _ = api
            .delete(pod.metadata.name_str(), &DeleteParams::immediate())
            .await;
    } else if pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_none()
    {
        set_pod_status(client, pod, "Running", true).await;
    }
}

/// The pods of `api` that are not being deleted.
pub fn live(pods: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect()
}

/// A timestamp `secs` after the Unix epoch (for fixtures).
pub fn at(secs: u64) -> Time {
    Time::epoch().saturating_add(Duration::from_secs(secs))
}

/// A node named `name` with these labels.
pub fn node(name: &str, labels: &[(&str, &str)]) -> keel_core::api::Node {
    let mut metadata = ObjectMeta::named(name);
    for (k, v) in labels {
        metadata = metadata.with_label(*k, *v);
    }
    keel_core::api::Node {
        metadata,
        ..keel_core::api::Node::default()
    }
}

/// The node a pod is pinned to by a `metadata.name In [node]` `matchFields`
/// requirement of its required node affinity (how the DaemonSet controller places
/// pods).
pub fn pinned_node(pod: &Pod) -> Option<String> {
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
        .find(|r| r.key == "metadata.name" && r.operator == "In" && r.values.len() == 1)
        .map(|r| r.values[0].clone())
}

/// Plays the scheduler for daemon pods: binds every unbound pod pinned to a node
/// ([`pinned_node`]) by setting `spec.nodeName` (re-reading it on a conflict). Stops
/// when the handle is dropped or aborted.
pub fn bind_pinned_pods(client: Client) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::all(&client);
        loop {
            let list = api.list(&ListParams::default()).await.expect("list");
            for pod in &list.items {
                bind(&client, pod).await;
            }
            let mut events = api
                .watch(&ListParams::default(), list.resource_version())
                .await
                .expect("watch");
            while let Some(Ok(event)) = events.next().await {
                if let WatchEvent::Added(pod) | WatchEvent::Modified(pod) = event {
                    bind(&client, &pod).await;
                }
            }
        }
    })
}

async fn bind(client: &Client, pod: &Pod) {
    if pod.spec.node_name.is_some() || pod.metadata.deletion_timestamp.is_some() {
        return;
    }
    let Some(node) = pinned_node(pod) else { return };
    let api: Api<Pod> = Api::namespaced(client, pod.metadata.namespace_str().unwrap());
    for _ in 0..5 {
        let Ok(Some(current)) = api.get_opt(pod.metadata.name_str()).await else {
            return;
        };
        if current.spec.node_name.is_some() || current.metadata.deletion_timestamp.is_some() {
            return;
        }
        let mut bound = (*current).clone();
        bound.spec.node_name = Some(node.clone());
        match api.replace(pod.metadata.name_str(), &bound).await {
            Err(e) if e.is_conflict() => {}
            _ => return,
        }
    }
}
