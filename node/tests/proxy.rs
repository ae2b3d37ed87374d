//! Real load balancing: three echo-server pods run by the node agent as OS processes on
//! their own loopback addresses, behind a Service (its cluster IP allocated from a
//! loopback service range) whose EndpointSlices the EndpointSlice controller keeps;
//! connections through the Service address spread across all three, and none fails
//! once a deleted pod's endpoint is removed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_controllers::ControllerManager;
use keel_core::api::{Pod, Service};
use keel_core::client::{Api, Client, DeleteParams, ServiceCidr, ServiceNetwork};
use keel_node::probe::NetworkProber;
use keel_node::process::{ImageTable, ProcessRuntime, loopback_network};
use keel_node::proxy::ServiceProxy;
use keel_node::{NodeAgent, NodeConfig};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const ECHO: &str = env!("CARGO_BIN_EXE_keel-echo");

/// Waits (bounded, real time) for an async condition.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
    }
}

async fn who_answers(service: &str) -> Option<String> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(service).await.ok()?;
    // Speaking first spares the server's wait for HTTP clients.
    stream.write_all(b"hello\n").await.ok()?;
    let mut lines = BufReader::new(stream).lines();
    lines.next_line().await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_balances_real_tcp_connections_across_its_pods() {
    // Pods here are local processes on loopback addresses.
    let client = Client::builder(keel_core::store::MemoryStore::new())
        .allow_loopback_endpoints(true)
        .service_network(ServiceNetwork {
            cidrs: vec![ServiceCidr::parse("127.96.0.0/16").unwrap()],
            node_ports: 30000..=32767,
        })
        .build();
    let controllers = ControllerManager::new(client.clone())
        .with("endpointslice")
        .unwrap()
        .start();
    let runtime = Arc::new(ProcessRuntime::new(
        ImageTable::new().with("keel.test/echo", ECHO),
    ));
    let network = Arc::new(loopback_network("127.88.0.0/16").unwrap());
    let prober = Arc::new(NetworkProber::new(runtime.clone()));
    let agent = NodeAgent::new(&client, NodeConfig::new("node-1"), runtime, network)
        .with_prober(prober)
        .start()
        .await
        .unwrap();
    let proxy = ServiceProxy::new(&client, Some("127.0.0.1".parse().unwrap())).start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for i in 0..3 {
        let p: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("echo-{i}"), "namespace": "default", "labels": {"app": "echo"}},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 1, "containers": [{"name": "echo", "image": "keel.test/echo",
                "env": [{"name": "PORT", "value": "18090"}],
                "readinessProbe": {"tcpSocket": {"port": 18090}, "periodSeconds": 1}}]}}))
        .unwrap();
        pods.create(&p).await.unwrap();
    }
    for i in 0..3 {
        let name = format!("echo-{i}");
        eventually("the pod to be ready", || {
            let pods = pods.clone();
            let name = name.clone();
            async move { pods.get(&name).await.is_ok_and(|p| p.is_ready()) }
        })
        .await;
    }
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "echo"},
            "ports": [{"name": "tcp", "port": 8000, "targetPort": 18090, "nodePort": 30999}]}}))
    .unwrap();
    let svc = Api::<Service>::namespaced(&client, "default")
        .create(&svc)
        .await
        .unwrap();
    let ip = svc
        .spec
        .cluster_ip
        .clone()
        .expect("a cluster IP is allocated");
    assert!(ip.starts_with("127.96."), "{ip}");
    let service = format!("{ip}:8000");
    eventually("the service to answer", || async {
        who_answers(&service).await.is_some()
    })
    .await;

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..300 {
        let who = who_answers(&service)
            .await
            .expect("every connection is served");
        *counts.entry(who).or_default() += 1;
    }
    assert_eq!(counts.len(), 3, "{counts:?}");
    for (pod, n) in &counts {
        assert!(
            (60..=135).contains(n),
            "{pod} got {n} of 300 (20–45 % each)"
        );
    }

    // One pod goes; once its endpoint is removed, no new connection fails.
    pods.delete("echo-1", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the proxy to drop the endpoint", || async {
        proxy.endpoints("default", "echo", "tcp").len() == 2
    })
    .await;
    for _ in 0..100 {
        let who = who_answers(&service)
            .await
            .expect("no connection fails after the endpoint is gone");
        assert_ne!(who, "echo-1");
    }
    proxy.shutdown().await;
    agent.shutdown().await;
    controllers.shutdown().await;
}
