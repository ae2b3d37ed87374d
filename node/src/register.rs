//! Registering the Node and heart-beating through its Lease.

use keel_core::Error;
use keel_core::api::{Lease, LeaseSpec, Node};
use keel_core::client::{Api, Client};
use keel_core::meta::{MicroTime, ObjectMeta, OwnerReference};
use serde_json::json;

use crate::config::NodeConfig;

/// The namespace of node leases (Keel's core defines it, for node agents and the node
/// lifecycle controller alike).
pub use keel_core::api::lease::NODE_LEASE_NAMESPACE;

fn node_object(config: &NodeConfig, now: &keel_core::meta::Time) -> Result<Node, Error> {
    let resources =
        json!({"cpu": config.cpu, "memory": config.memory, "pods": config.max_pods.to_string()});
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let value = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": config.name, "labels": config.labels},
        "spec": {"podCIDR": config.pod_cidrs.first(), "podCIDRs": config.pod_cidrs, "taints": config.taints},
        "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": config.address}, {"type": "Hostname", "address": config.name}],
            "nodeInfo": {"machineID": config.name, "systemUUID": config.name, "bootID": config.name, "kernelVersion": "",
                "osImage": "keel", "containerRuntimeVersion": "keel://0.1.0", "kubeletVersion": "v0.1.0-keel",
                "kubeProxyVersion": "v0.1.0-keel", "operatingSystem": "linux", "architecture": std::env::consts::ARCH}
        }
    });
    serde_json::from_value(value)
        .map_err(|e| Error::BadRequest(format!("node {}: {e}", config.name)))
}

/// Creates the Node, or brings an existing one (a restarted agent's) up to date:
/// labels, taints, pod CIDRs, capacity and Ready.
pub async fn register(client: &Client, config: &NodeConfig) -> Result<Node, Error> {
    let nodes: Api<Node> = Api::all(client);
    let desired = node_object(config, &client.clock().now())?;
    match nodes.get_opt(&config.name).await? {
        None => Ok((*nodes.create(&desired).await?).clone()),
        Some(existing) => {
            let mut updated = (*existing).clone();
            updated
                .metadata
                .labels
                .extend(desired.metadata.labels.clone());
            updated.spec = desired.spec.clone();
            let written = nodes.replace(&config.name, &updated).await?;
            let mut with_status = (*written).clone();
            with_status.status.clone_from(&desired.status);
            Ok((*nodes.replace_status(&config.name, &with_status).await?).clone())
        }
    }
}

/// Renews (or creates) the node's Lease: `holderIdentity` the node, `renewTime` now.
pub async fn renew_lease(
    client: &Client,
    config: &NodeConfig,
    node_uid: Option<&str>,
) -> Result<(), Error> {
    let leases: Api<Lease> = Api::namespaced(client, NODE_LEASE_NAMESPACE);
    let now = MicroTime::from(client.clock().now());
    if let Some(existing) = leases.get_opt(&config.name).await? {
        let mut lease = (*existing).clone();
        lease.spec.renew_time = Some(now);
        leases.replace(&config.name, &lease).await?;
        return Ok(());
    }
    let mut meta = ObjectMeta::namespaced(NODE_LEASE_NAMESPACE, &config.name);
    if let Some(uid) = node_uid {
        meta.owner_references.push(OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: config.name.clone(),
            uid: uid.to_owned(),
            controller: None,
            block_owner_deletion: None,
        });
    }
    leases
        .create(&Lease {
            metadata: meta,
            spec: LeaseSpec {
                holder_identity: Some(config.name.clone()),
                lease_duration_seconds: Some(config.lease_duration_seconds),
                renew_time: Some(now),
                ..LeaseSpec::default()
            },
        })
        .await?;
    Ok(())
}

/// Refreshes the Node's conditions (`lastHeartbeatTime`; transitions kept).
pub async fn report_status(client: &Client, config: &NodeConfig) -> Result<(), Error> {
    let nodes: Api<Node> = Api::all(client);
    let now = client.clock().now();
    for _ in 0..3 {
        let current = nodes.get(&config.name).await?;
        let mut updated = (*current).clone();
        let status = updated.status.get_or_insert_with(Default::default);
        for c in &mut status.conditions {
            c.last_heartbeat_time = Some(now.clone());
        }
        match nodes.replace_status(&config.name, &updated).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
