//! DefaultBinder, and the writes the scheduler makes about a pod: the binding, the
//! `PodScheduled` condition, `nominatedNodeName`, and events.

use std::sync::Arc;

use keel_core::api::{Event, EventSource, ObjectReference, Pod, PodCondition, PodStatus};
use keel_core::client::{Api, Client, Patch};
use keel_core::meta::ObjectMeta;
use keel_core::{Error, Resource};

use crate::framework::{Bind, CycleState, Plugin, Status};

/// Binds a pod by writing `spec.nodeName` (what the `pods/binding` subresource does),
/// then marks it `PodScheduled=True`.
#[derive(Clone, Debug)]
pub struct DefaultBinder {
    client: Client,
}

impl DefaultBinder {
    /// A binder writing through `client`.
    pub fn new(client: &Client) -> DefaultBinder {
        DefaultBinder {
            client: client.clone(),
        }
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        "DefaultBinder"
    }
}

#[async_trait::async_trait]
impl Bind for DefaultBinder {
    async fn bind(&self, _: &CycleState, pod: &Pod, node: &str) -> Status {
        match bind(&self.client, pod, node).await {
            Ok(()) => Status::success(),
            Err(e) => Status::error(e.to_string()),
        }
    }
}

fn conflict(name: &str, reason: String) -> Error {
    Error::Conflict {
        resource: "pods".into(),
        name: name.to_owned(),
        reason,
    }
}

fn pods(client: &Client, pod: &Pod) -> Api<Pod> {
    Api::namespaced(
        client,
        pod.metadata.namespace.as_deref().unwrap_or("default"),
    )
}

/// Writes the binding: `spec.nodeName` (only if the pod is still unbound and the same
/// pod), then the `PodScheduled=True` condition.
pub async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<(), Error> {
    let api = pods(client, pod);
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let current = api.get(name).await?;
    if current.metadata.uid != pod.metadata.uid {
        return Err(conflict(name, "the pod was replaced".into()));
    }
    if let Some(bound) = current.node_name() {
        return Err(conflict(
            name,
            format!("pod {name} is already assigned to node \"{bound}\""),
        ));
    }
    // Checked against the version read: a concurrent binding makes this a conflict.
    let mut bound = (*current).clone();
    bound.spec.node_name = Some(node.to_owned());
    api.replace(name, &bound).await?;
    set_condition(client, pod, "True", None, None).await
}

/// Sets the pod's `PodScheduled` condition (a status write, retried on conflicts).
pub async fn set_condition(
    client: &Client,
    pod: &Pod,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> Result<(), Error> {
    let api = pods(client, pod);
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for _ in 0..5 {
        let current = api.get(name).await?;
        let mut updated = (*current).clone();
        let st = updated.status.get_or_insert_with(PodStatus::default);
        let now = client.clock().now();
        match st.conditions.iter_mut().find(|c| c.type_ == "PodScheduled") {
            Some(c) => {
                if c.status == status
                    && c.reason.as_deref() == reason
                    && c.message.as_deref() == message
                {
                    return Ok(());
                }
                if c.status != status {
                    c.last_transition_time = Some(now);
                }
                status.clone_into(&mut c.status);
                c.reason = reason.map(str::to_owned);
                c.message = message.map(str::to_owned);
            }
            None => st.conditions.push(PodCondition {
                type_: "PodScheduled".into(),
                status: status.to_owned(),
                reason: reason.map(str::to_owned),
                message: message.map(str::to_owned),
                last_transition_time: Some(now),
                ..PodCondition::default()
            }),
        }
        match api.replace_status(name, &updated).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Err(conflict(name, "the status kept changing".into()))
}

/// Records `status.nominatedNodeName` (preemption chose a node for the pod).
pub async fn nominate(client: &Client, pod: &Pod, node: &str) -> Result<(), Error> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    pods(client, pod)
        .patch_status(
            name,
            &Patch::Merge(serde_json::json!({"status": {"nominatedNodeName": node}})),
        )
        .await
        .map(|_| ())
}

/// Writes an event about `pod` from the scheduler.
pub async fn event(
    client: &Client,
    scheduler: &str,
    pod: &Pod,
    type_: &str,
    reason: &str,
    message: &str,
) -> Result<(), Error> {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let now = client.clock().now();
    let nanos = now.0.timestamp_nanos_opt().unwrap_or(0);
    let mut meta = ObjectMeta::namespaced(&ns, "");
    meta.name = None;
    meta.generate_name = Some(format!(
        "{}.{nanos:x}-",
        pod.metadata.name.as_deref().unwrap_or("pod")
    ));
    let e = Event {
        metadata: meta,
        involved_object: ObjectReference {
            kind: Some(Pod::KIND.into()),
            namespace: Some(ns.clone()),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            api_version: Some(Pod::API_VERSION.into()),
            resource_version: pod.metadata.resource_version.clone(),
            field_path: None,
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        source: Some(EventSource {
            component: Some(scheduler.into()),
            host: None,
        }),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        type_: Some(type_.into()),
        reporting_component: Some(scheduler.into()),
        ..Event::default()
    };
    Api::<Event>::namespaced(client, &ns)
        .create(&e)
        .await
        .map(|_| ())
}

/// Deletes a preemption victim (with its grace period, as Kubernetes does).
pub async fn evict(client: &Client, victim: &Arc<Pod>) -> Result<(), Error> {
    let name = victim.metadata.name.as_deref().unwrap_or_default();
    match pods(client, victim)
        .delete(name, &keel_core::client::DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
