//! Simulated load: the proxy's `resolve` sends requests to a Service's pods, and the sim
//! runtime's CPU use follows the load each pod receives.

use std::sync::Arc;

use futures::StreamExt;
use keel_core::api::{EndpointSlice, Pod, Service};
use keel_core::client::{Api, Client, ListParams, watcher};
use keel_node::proxy::ServiceProxy;
use keel_node::{NodeAgent, NodeConfig};
use keel_runtime::MetricsSource;
use keel_runtime::sim::{Behavior, ClusterCidrs, LoadMeter, SimNetwork, SimRuntime};
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn cpu_follows_the_load_a_service_sends() {
    let client = Client::in_memory();
    let meter = LoadMeter::default();
    let rt = SimRuntime::new();
    rt.set_load_meter(meter.clone());
    rt.set_image_behavior(
        "web:1",
        Behavior::run_forever().using(10, 0).load_proportional(20),
    );
    let net = Arc::new(SimNetwork::new(
        &ClusterCidrs::default().node_cidrs(0).unwrap(),
    ));
    let agent = NodeAgent::new(&client, NodeConfig::new("n0"), Arc::new(rt.clone()), net)
        .start()
        .await
        .unwrap();
    let proxy = ServiceProxy::new(&client, None)
        .with_load_meter(meter)
        .start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for name in ["w0", "w1"] {
        let p: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n0", "containers": [{"name": "web", "image": "web:1"}]}}))
        .unwrap();
        pods.create(&p).await.unwrap();
    }
    let changes = watcher::watcher(pods.clone(), ListParams::default());
    futures::pin_mut!(changes);
    let mut ips = Vec::new();
    for name in ["w0", "w1"] {
        loop {
            let p = pods.get(name).await.unwrap();
            if let Some(ip) = p.status.as_ref().and_then(|s| s.pod_ip.clone()) {
                ips.push((name, ip));
                break;
            }
            changes.next().await;
        }
    }
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}))
    .unwrap();
    Api::<Service>::namespaced(&client, "default")
        .create(&svc)
        .await
        .unwrap();
    let endpoints: Vec<_> = ips
        .iter()
        .map(|(name, ip)| {
            json!({"addresses": [ip], "conditions": {"ready": true},
            "targetRef": {"kind": "Pod", "namespace": "default", "name": name}})
        })
        .collect();
    let slice: EndpointSlice = serde_json::from_value(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "endpoints": endpoints, "ports": [{"name": "http", "port": 8080}]}))
    .unwrap();
    Api::<EndpointSlice>::namespaced(&client, "default")
        .create(&slice)
        .await
        .unwrap();
    while proxy.endpoints("default", "web", "http").len() < 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        rt.pod_usage("default", "w0")
            .await
            .unwrap()
            .unwrap()
            .cpu_milli,
        10,
        "idle"
    );
    // 100 requests within the 10 s window: 5 requests a second to each pod.
    for _ in 0..100 {
        proxy.resolve("default", "web", "http", None).unwrap();
    }
    for name in ["w0", "w1"] {
        assert_eq!(
            rt.pod_usage("default", name)
                .await
                .unwrap()
                .unwrap()
                .cpu_milli,
            10 + 5 * 20,
            "{name}"
        );
    }
    tokio::time::advance(std::time::Duration::from_secs(11)).await;
    assert_eq!(
        rt.pod_usage("default", "w0")
            .await
            .unwrap()
            .unwrap()
            .cpu_milli,
        10,
        "the load has passed"
    );
    proxy.shutdown().await;
    agent.shutdown().await;
}
