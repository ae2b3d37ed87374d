//! Builders for scheduler tests: nodes and pods from Kubernetes-shaped JSON.

#![allow(dead_code, clippy::needless_pass_by_value)]

use std::sync::Arc;

use keel_core::api::{Node, Pod};
use serde_json::{Value, json};

/// A ready node with `cpu` cores, `mem_gi` GiB and room for 110 pods.
pub fn node(name: &str, cpu: &str, mem: &str) -> Node {
    node_with(name, cpu, mem, json!({}))
}

/// A node whose JSON is patched with `extra` (merged at the top level of metadata/spec).
pub fn node_with(name: &str, cpu: &str, mem: &str, extra: Value) -> Node {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
                   "capacity": {"cpu": cpu, "memory": mem, "pods": "110"}}
    });
    merge(&mut v, &extra);
    serde_json::from_value(v).expect("a valid node")
}

/// A pod requesting `cpu` and `mem` (empty strings: no request).
pub fn pod(name: &str, cpu: &str, mem: &str) -> Pod {
    pod_with(name, cpu, mem, json!({}))
}

/// A pod whose JSON is patched with `extra`.
pub fn pod_with(name: &str, cpu: &str, mem: &str, extra: Value) -> Pod {
    let mut requests = serde_json::Map::new();
    if !cpu.is_empty() {
        requests.insert("cpu".into(), json!(cpu));
    }
    if !mem.is_empty() {
        requests.insert("memory".into(), json!(mem));
    }
    let mut v = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"containers": [{"name": "c", "image": "app:1", "resources": {"requests": requests}}]}
    });
    merge(&mut v, &extra);
    serde_json::from_value(v).expect("a valid pod")
}

/// The same pod bound to `node`.
pub fn on(mut pod: Pod, node: &str) -> Arc<Pod> {
    pod.spec.node_name = Some(node.to_owned());
    Arc::new(pod)
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}
