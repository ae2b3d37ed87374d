//! The node agent with the sim runtime and network, in virtual time: registration and
//! heartbeats, the pod lifecycle, init containers, restart policies with
//! CrashLoopBackOff, admission, graceful deletion, and recovery after an agent restart.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use keel_core::api::{Lease, Node, Pod};
use keel_core::client::{Api, Client, DeleteParams, ListParams, watcher};
use keel_node::{NodeAgent, NodeAgentHandle, NodeConfig};
use keel_runtime::sim::{Behavior, ClusterCidrs, SimNetwork, SimRuntime};
use keel_runtime::{ContainerFilter, ContainerRuntime};
use serde_json::json;

fn network() -> Arc<SimNetwork> {
    Arc::new(SimNetwork::new(
        &ClusterCidrs::default().node_cidrs(1).unwrap(),
    ))
}

async fn agent_with(
    client: &Client,
    runtime: &SimRuntime,
    network: Arc<SimNetwork>,
) -> NodeAgentHandle {
    let cidrs = ClusterCidrs::default().node_cidrs(1).unwrap();
    let mut config = NodeConfig::new("node-1").capacity("4", "8Gi", 110);
    config.pod_cidrs = cidrs.iter().map(ToString::to_string).collect();
    NodeAgent::new(client, config, Arc::new(runtime.clone()), network)
        .start()
        .await
        .unwrap()
}

async fn agent(client: &Client, runtime: &SimRuntime) -> NodeAgentHandle {
    agent_with(client, runtime, network()).await
}

fn pod(name: &str, spec: serde_json::Value) -> Pod {
    let mut v = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1"}]}});
    if let serde_json::Value::Object(extra) = spec {
        for (k, val) in extra {
            v["spec"][k] = val;
        }
    }
    serde_json::from_value(v).unwrap()
}

async fn until(
    client: &Client,
    name: &str,
    cond: impl Fn(Option<&Pod>) -> bool,
) -> Option<Arc<Pod>> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let changes = watcher::watcher(pods.clone(), ListParams::default());
    futures::pin_mut!(changes);
    loop {
        let p = pods.get_opt(name).await.unwrap();
        if cond(p.as_deref()) {
            return p;
        }
        changes.next().await;
    }
}

/// Waits until pod `name` reports its first container, which must be waiting; why.
async fn first_waiting(client: &Client, name: &str) -> keel_core::api::ContainerStateWaiting {
    let p = until(client, name, |p| {
        p.and_then(|p| p.status.as_ref())
            .is_some_and(|s| !s.container_statuses.is_empty())
    })
    .await
    .unwrap();
    let state = p.status.as_ref().unwrap().container_statuses[0]
        .state
        .clone()
        .unwrap();
    state.waiting.expect("the container waits")
}

fn phase(p: Option<&Pod>) -> &str {
    p.and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn restarts(p: &Pod) -> i32 {
    p.status.as_ref().map_or(0, |s| {
        s.container_statuses.first().map_or(0, |c| c.restart_count)
    })
}

#[tokio::test(start_paused = true)]
async fn the_node_registers_and_heartbeats() {
    let client = Client::in_memory();
    let handle = agent(&client, &SimRuntime::new()).await;
    let node = Api::<Node>::all(&client).get("node-1").await.unwrap();
    let status = node.status.as_ref().unwrap();
    assert_eq!(status.allocatable["cpu"].to_string(), "4");
    assert_eq!(status.allocatable["pods"].to_string(), "110");
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    );
    assert_eq!(node.spec.pod_cidrs, ["10.244.1.0/24", "fd00:10:244:1::/64"]);
    let leases: Api<Lease> = Api::namespaced(&client, "kube-node-lease");
    let first = leases
        .get("node-1")
        .await
        .unwrap()
        .spec
        .renew_time
        .clone()
        .unwrap();
    let start = tokio::time::Instant::now();
    let changes = watcher::watcher(leases.clone(), ListParams::default());
    futures::pin_mut!(changes);
    loop {
        let now = leases
            .get("node-1")
            .await
            .unwrap()
            .spec
            .renew_time
            .clone()
            .unwrap();
        if now.0 > first.0 {
            break;
        }
        changes.next().await;
    }
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(10),
        "renewed every 10 s"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_bound_pod_runs_and_reports_its_status() {
    let client = Client::in_memory();
    let handle = agent(&client, &SimRuntime::new()).await;
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("web", json!({})))
        .await
        .unwrap();
    let p = until(&client, "web", |p| {
        phase(p) == "Running" && p.is_some_and(Pod::is_ready)
    })
    .await
    .unwrap();
    let st = p.status.as_ref().unwrap();
    assert_eq!(
        st.pod_ips.iter().map(|i| i.ip.as_str()).collect::<Vec<_>>(),
        ["10.244.1.2", "fd00:10:244:1::2"]
    );
    assert_eq!(st.pod_ip.as_deref(), Some("10.244.1.2"));
    for c in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert_eq!(p.condition(c), Some("True"), "{c}");
    }
    let cs = &st.container_statuses[0];
    assert!(cs.ready && cs.state.as_ref().unwrap().running.is_some());
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn init_containers_run_first_in_order() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("setup:1", Behavior::exit_after(Duration::from_secs(5), 0));
    let handle = agent(&client, &rt).await;
    let spec = json!({"initContainers": [{"name": "one", "image": "setup:1"}, {"name": "two", "image": "setup:1"}]});
    let start = tokio::time::Instant::now();
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("inits", spec))
        .await
        .unwrap();
    let p = until(&client, "inits", |p| {
        p.is_some_and(|p| p.condition("Initialized") == Some("False"))
    })
    .await
    .unwrap();
    assert_eq!(phase(Some(&p)), "Pending");
    let p = until(&client, "inits", |p| phase(p) == "Running")
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(10),
        "both init containers ran, one after the other"
    );
    let inits = &p.status.as_ref().unwrap().init_container_statuses;
    assert!(inits.iter().all(|c| {
        c.state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .is_some_and(|t| t.exit_code == 0)
    }));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_always_backs_off_in_a_crash_loop() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("crashy:1", Behavior::crash_after(Duration::from_secs(1)));
    let handle = agent(&client, &rt).await;
    let mut p = pod("crashy", json!({}));
    p.spec.containers[0].image = Some("crashy:1".into());
    Api::<Pod>::namespaced(&client, "default")
        .create(&p)
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    let mut seen = Vec::new();
    for n in 1..=4 {
        let p = until(&client, "crashy", |p| p.is_some_and(|p| restarts(p) >= n))
            .await
            .unwrap();
        seen.push(start.elapsed().as_secs());
        assert_eq!(phase(Some(&p)), "Running");
    }
    // Crashes 1 s after each start; restarts after 0, 10, 20, 40 s of backoff.
    assert_eq!(seen, [1, 12, 33, 74]);
    let p = until(&client, "crashy", |p| {
        p.is_some_and(|p| {
            p.status.as_ref().unwrap().container_statuses[0]
                .state
                .as_ref()
                .unwrap()
                .waiting
                .is_some()
        })
    })
    .await
    .unwrap();
    let waiting = p.status.as_ref().unwrap().container_statuses[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn never_and_on_failure_end_the_pod() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("fails:1", Behavior::exit_after(Duration::from_secs(2), 3));
    rt.set_image_behavior("works:1", Behavior::exit_after(Duration::from_secs(2), 0));
    let handle = agent(&client, &rt).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut failed = pod("failed", json!({"restartPolicy": "Never"}));
    failed.spec.containers[0].image = Some("fails:1".into());
    let mut done = pod("done", json!({"restartPolicy": "OnFailure"}));
    done.spec.containers[0].image = Some("works:1".into());
    pods.create(&failed).await.unwrap();
    pods.create(&done).await.unwrap();
    let p = until(&client, "failed", |p| phase(p) == "Failed")
        .await
        .unwrap();
    let t = p.status.as_ref().unwrap().container_statuses[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")));
    let p = until(&client, "done", |p| phase(p) == "Succeeded")
        .await
        .unwrap();
    assert_eq!(restarts(&p), 0);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pods_that_do_not_fit_are_rejected() {
    let client = Client::in_memory();
    let handle = agent(&client, &SimRuntime::new()).await;
    let mut big = pod("big", json!({}));
    big.spec.containers[0].resources =
        serde_json::from_value(json!({"requests": {"cpu": "8"}})).unwrap();
    Api::<Pod>::namespaced(&client, "default")
        .create(&big)
        .await
        .unwrap();
    let p = until(&client, "big", |p| phase(p) == "Failed")
        .await
        .unwrap();
    let st = p.status.as_ref().unwrap();
    assert_eq!(st.reason.as_deref(), Some("OutOfcpu"));
    assert_eq!(
        st.message.as_deref(),
        Some(
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 8000, used: 0, capacity: 4000"
        )
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn deletion_stops_containers_within_the_grace_period_then_removes_the_pod() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("stubborn:1", Behavior::run_forever().ignoring_sigterm());
    let handle = agent(&client, &rt).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut p = pod("stubborn", json!({"terminationGracePeriodSeconds": 20}));
    p.spec.containers[0].image = Some("stubborn:1".into());
    pods.create(&p).await.unwrap();
    until(&client, "stubborn", |p| phase(p) == "Running").await;
    let start = tokio::time::Instant::now();
    pods.delete("stubborn", &DeleteParams::default())
        .await
        .unwrap();
    until(&client, "stubborn", |p| p.is_none()).await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(20),
        "killed when the grace period ended"
    );
    assert!(
        rt.list_pod_sandboxes().await.unwrap().is_empty(),
        "nothing left in the runtime"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_restarted_agent_adopts_what_runs() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    let net = network();
    let handle = agent_with(&client, &rt, net.clone()).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for name in ["a", "b"] {
        pods.create(&pod(name, json!({}))).await.unwrap();
        until(&client, name, |p| phase(p) == "Running").await;
    }
    handle.shutdown().await;
    let again = agent_with(&client, &rt, net).await;
    pods.create(&pod("c", json!({}))).await.unwrap();
    until(&client, "c", |p| phase(p) == "Running").await;
    let all = rt
        .list_containers(&ContainerFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "no duplicates: {all:?}");
    assert_eq!(rt.list_pod_sandboxes().await.unwrap().len(), 3);
    let mut ips = std::collections::BTreeSet::new();
    for n in ["a", "b", "c"] {
        ips.insert(
            pods.get(n)
                .await
                .unwrap()
                .status
                .as_ref()
                .unwrap()
                .pod_ip
                .clone()
                .unwrap(),
        );
    }
    assert_eq!(
        ips.len(),
        3,
        "no address handed out twice across the restart"
    );
    again.shutdown().await;
}

fn container_id(p: &Pod) -> String {
    p.status.as_ref().unwrap().container_statuses[0]
        .container_id
        .clone()
        .unwrap()
        .trim_start_matches("keel://")
        .to_owned()
}

#[tokio::test(start_paused = true)]
async fn readiness_probes_drive_the_ready_condition() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("app:1", Behavior::run_forever().failing_probes());
    let handle = agent(&client, &rt).await;
    let spec = json!({"containers": [{"name": "app", "image": "app:1",
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5, "failureThreshold": 1}}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("probed", spec))
        .await
        .unwrap();
    let p = until(&client, "probed", |p| phase(p) == "Running")
        .await
        .unwrap();
    assert_eq!(
        p.condition("Ready"),
        Some("False"),
        "the readiness probe fails"
    );
    assert!(!p.status.as_ref().unwrap().container_statuses[0].ready);
    rt.set_exec_result(&container_id(&p), Some(0));
    let start = tokio::time::Instant::now();
    until(&client, "probed", |p| p.is_some_and(Pod::is_ready)).await;
    assert!(
        start.elapsed() <= Duration::from_secs(5),
        "at the next period"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_liveness_probe_restarts_the_container() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    let handle = agent(&client, &rt).await;
    let spec = json!({"containers": [{"name": "app", "image": "app:1",
        "livenessProbe": {"exec": {"command": ["check"]}, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3}}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("live", spec))
        .await
        .unwrap();
    let p = until(&client, "live", |p| phase(p) == "Running")
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    rt.set_exec_result(&container_id(&p), Some(1));
    let p = until(&client, "live", |p| p.is_some_and(|p| restarts(p) >= 1))
        .await
        .unwrap();
    // Probed at 5, 15 and 25 s: the third failure kills it; it restarts at once.
    assert_eq!(start.elapsed(), Duration::from_secs(25));
    let last = p.status.as_ref().unwrap().container_statuses[0]
        .last_state
        .clone()
        .unwrap();
    assert!(
        last.terminated.is_some(),
        "the killed instance is the last state"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_startup_probe_holds_back_liveness_until_it_passes() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("slow:1", Behavior::run_forever().failing_probes());
    let handle = agent(&client, &rt).await;
    let spec = json!({"containers": [{"name": "app", "image": "slow:1",
        "startupProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 10, "failureThreshold": 30},
        "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 10, "failureThreshold": 1}}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("slow", spec))
        .await
        .unwrap();
    let p = until(&client, "slow", |p| phase(p) == "Running")
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let p2 = Api::<Pod>::namespaced(&client, "default")
        .get("slow")
        .await
        .unwrap();
    assert_eq!(
        restarts(&p2),
        0,
        "liveness does not run before startup passes"
    );
    assert_eq!(p2.condition("Ready"), Some("False"));
    rt.set_exec_result(&container_id(&p), Some(0));
    until(&client, "slow", |p| p.is_some_and(Pod::is_ready)).await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn containers_get_downward_values_service_links_and_referenced_config() {
    use keel_core::api::{ConfigMap, Service};
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    let handle = agent(&client, &rt).await;
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 5432}]}}))
    .unwrap();
    Api::<Service>::namespaced(&client, "default")
        .create(&svc)
        .await
        .unwrap();
    let cm: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "fast"}}))
    .unwrap();
    Api::<ConfigMap>::namespaced(&client, "default")
        .create(&cm)
        .await
        .unwrap();
    let spec = json!({"containers": [{"name": "app", "image": "app:1", "env": [
        {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
        {"name": "PLAIN", "value": "x"}]}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("envy", spec))
        .await
        .unwrap();
    let p = until(&client, "envy", |p| phase(p) == "Running")
        .await
        .unwrap();
    let env: std::collections::BTreeMap<String, String> = rt
        .container_config(&container_id(&p))
        .unwrap()
        .env
        .into_iter()
        .collect();
    assert_eq!(env["MY_IP"], "10.244.1.2");
    assert_eq!(env["POD_NAME"], "envy");
    assert_eq!(env["MODE"], "fast");
    assert_eq!(env["PLAIN"], "x");
    assert_eq!(env["DB_SERVICE_HOST"], "10.96.0.20");
    assert_eq!(env["DB_PORT_5432_TCP"], "tcp://10.96.0.20:5432");

    let broken = json!({"containers": [{"name": "app", "image": "app:1", "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "k"}}}]}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("broken", broken))
        .await
        .unwrap();
    let waiting = first_waiting(&client, "broken").await;
    assert_eq!(
        waiting.reason.as_deref(),
        Some("CreateContainerConfigError")
    );
    assert_eq!(
        waiting.message.as_deref(),
        Some("couldn't find key k in ConfigMap default/missing")
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn volumes_are_materialised_and_mounted() {
    use keel_core::api::{ConfigMap, Secret};
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    let root = std::env::temp_dir().join(format!("keel-agent-volumes-{}", std::process::id()));
    let cidrs = ClusterCidrs::default().node_cidrs(1).unwrap();
    let mut config = NodeConfig::new("node-1");
    config.root_dir = Some(root.clone());
    let handle = NodeAgent::new(
        &client,
        config,
        Arc::new(rt.clone()),
        Arc::new(SimNetwork::new(&cidrs)),
    )
    .start()
    .await
    .unwrap();
    let cm: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "default"}, "data": {"index.html": "<h1>hi</h1>"}}))
    .unwrap();
    Api::<ConfigMap>::namespaced(&client, "default")
        .create(&cm)
        .await
        .unwrap();
    let spec = json!({
        "volumes": [{"name": "content", "configMap": {"name": "web-config"}}, {"name": "scratch", "emptyDir": {}},
                    {"name": "token", "secret": {"secretName": "missing-yet"}}],
        "containers": [{"name": "app", "image": "app:1", "volumeMounts": [
            {"name": "content", "mountPath": "/usr/share/nginx/html", "readOnly": true},
            {"name": "scratch", "mountPath": "/tmp"}, {"name": "token", "mountPath": "/var/run/token"}]}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("vols", spec))
        .await
        .unwrap();
    let waiting = first_waiting(&client, "vols").await;
    assert_eq!(waiting.reason.as_deref(), Some("ContainerCreating"));
    assert!(
        waiting
            .message
            .unwrap()
            .contains("secret \"missing-yet\" not found")
    );
    let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "missing-yet", "namespace": "default"}, "data": {"token": "czNjcjN0"}}))
    .unwrap();
    Api::<Secret>::namespaced(&client, "default")
        .create(&secret)
        .await
        .unwrap();
    let p = until(&client, "vols", |p| phase(p) == "Running")
        .await
        .unwrap();
    let mounts = rt.container_config(&container_id(&p)).unwrap().mounts;
    let by_name: std::collections::BTreeMap<&str, &keel_runtime::Mount> =
        mounts.iter().map(|m| (m.name.as_str(), m)).collect();
    assert_eq!(by_name["content"].container_path, "/usr/share/nginx/html");
    assert!(by_name["content"].read_only);
    let html =
        std::fs::read_to_string(format!("{}/index.html", by_name["content"].host_path)).unwrap();
    assert_eq!(html, "<h1>hi</h1>");
    assert_eq!(
        std::fs::read_to_string(format!("{}/token", by_name["token"].host_path)).unwrap(),
        "s3cr3t"
    );
    assert!(std::path::Path::new(&by_name["scratch"].host_path).is_dir());
    handle.shutdown().await;
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test(start_paused = true)]
async fn a_second_pod_wanting_a_taken_host_port_is_rejected() {
    let client = Client::in_memory();
    let handle = agent(&client, &SimRuntime::new()).await;
    let with_port = json!({"containers": [{"name": "app", "image": "app:1", "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&pod("first", with_port.clone())).await.unwrap();
    until(&client, "first", |p| phase(p) == "Running").await;
    pods.create(&pod("second", with_port)).await.unwrap();
    let p = until(&client, "second", |p| phase(p) == "Failed")
        .await
        .unwrap();
    assert_eq!(
        p.status.as_ref().unwrap().reason.as_deref(),
        Some("NodePorts")
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn node_conditions_are_kept_current() {
    let client = Client::in_memory();
    let handle = agent(&client, &SimRuntime::new()).await;
    let nodes: Api<Node> = Api::all(&client);
    let beat = |n: &Node| {
        n.status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap()
            .last_heartbeat_time
            .clone()
            .unwrap()
    };
    let first = beat(&nodes.get("node-1").await.unwrap());
    // Six lease renewals (60 s of virtual time) later the conditions are reported again.
    let start = tokio::time::Instant::now();
    let changes = watcher::watcher(nodes.clone(), ListParams::default());
    futures::pin_mut!(changes);
    while beat(&nodes.get("node-1").await.unwrap()).0 <= first.0 {
        changes.next().await;
    }
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn finished_pods_do_not_count_at_admission() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("once:1", Behavior::exit_after(Duration::from_secs(1), 0));
    let cidrs = ClusterCidrs::default().node_cidrs(1).unwrap();
    let config = NodeConfig::new("node-1").capacity("4", "8Gi", 1);
    let handle = NodeAgent::new(
        &client,
        config,
        Arc::new(rt.clone()),
        Arc::new(SimNetwork::new(&cidrs)),
    )
    .start()
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut once = pod("once", json!({"restartPolicy": "Never"}));
    once.spec.containers[0].image = Some("once:1".into());
    pods.create(&once).await.unwrap();
    until(&client, "once", |p| phase(p) == "Succeeded").await;
    pods.create(&pod("next", json!({}))).await.unwrap();
    until(&client, "next", |p| phase(p) == "Running").await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn containers_of_a_deleted_pod_share_one_grace_period() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("stubborn:1", Behavior::run_forever().ignoring_sigterm());
    let handle = agent(&client, &rt).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let spec = json!({"terminationGracePeriodSeconds": 20, "containers": [
        {"name": "a", "image": "stubborn:1"}, {"name": "b", "image": "stubborn:1"}, {"name": "c", "image": "stubborn:1"}]});
    pods.create(&pod("trio", spec)).await.unwrap();
    until(&client, "trio", |p| phase(p) == "Running").await;
    let start = tokio::time::Instant::now();
    pods.delete("trio", &DeleteParams::default()).await.unwrap();
    until(&client, "trio", |p| p.is_none()).await;
    assert_eq!(start.elapsed(), Duration::from_secs(20), "not 3 × 20 s");
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_pod_does_not_hold_up_the_others() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior(
        "slow:1",
        Behavior::run_forever().starting_in(Duration::from_secs(30)),
    );
    let handle = agent(&client, &rt).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut slow = pod("slow", json!({}));
    slow.spec.containers[0].image = Some("slow:1".into());
    pods.create(&slow).await.unwrap();
    let start = tokio::time::Instant::now();
    pods.create(&pod("fast", json!({}))).await.unwrap();
    until(&client, "fast", |p| phase(p) == "Running").await;
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "synced beside the slow start: {:?}",
        start.elapsed()
    );
    until(&client, "slow", |p| phase(p) == "Running").await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn sidecars_start_first_keep_running_and_restart() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior("setup:1", Behavior::exit_after(Duration::from_secs(2), 0));
    let handle = agent(&client, &rt).await;
    let spec = json!({"restartPolicy": "Never", "initContainers": [
            {"name": "proxy", "image": "app:1", "restartPolicy": "Always"},
            {"name": "setup", "image": "setup:1"}],
        "containers": [{"name": "main", "image": "app:1"}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("sc", spec))
        .await
        .unwrap();
    let p = until(&client, "sc", |p| {
        phase(p) == "Running" && p.is_some_and(Pod::is_ready)
    })
    .await
    .unwrap();
    let st = p.status.as_ref().unwrap();
    let sidecar = st
        .init_container_statuses
        .iter()
        .find(|c| c.name == "proxy")
        .unwrap();
    assert!(
        sidecar.state.as_ref().unwrap().running.is_some(),
        "the sidecar keeps running"
    );
    // The sidecar crashes: it is restarted although the pod's policy is Never, and the
    // main container is unaffected.
    let id = sidecar
        .container_id
        .clone()
        .unwrap()
        .trim_start_matches("keel://")
        .to_owned();
    rt.crash(&id, 1);
    let p = until(&client, "sc", |p| {
        p.is_some_and(|p| {
            p.status
                .as_ref()
                .unwrap()
                .init_container_statuses
                .iter()
                .any(|c| c.name == "proxy" && c.restart_count >= 1)
        })
    })
    .await
    .unwrap();
    let main = &p.status.as_ref().unwrap().container_statuses[0];
    assert!(main.state.as_ref().unwrap().running.is_some(), "{main:?}");
    assert_eq!(phase(Some(&p)), "Running");
    handle.shutdown().await;
}

/// The waiting reason of pod `name`'s first container, if it waits.
fn waiting_reason(p: Option<&Pod>) -> Option<String> {
    p?.status
        .as_ref()?
        .container_statuses
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

#[tokio::test(start_paused = true)]
async fn failing_image_pulls_back_off_doubling_and_recover() {
    let client = Client::in_memory();
    let runtime = SimRuntime::new();
    runtime.fail_pulls("app:1");
    let handle = agent(&client, &runtime).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let version = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version;
    pods.create(&pod("web", json!({}))).await.unwrap();
    let start = tokio::time::Instant::now();
    // Every status the agent writes, in order: each failed attempt shows ErrImagePull,
    // and the wait until the next shows ImagePullBackOff.
    let mut events = pods
        .watch(&ListParams::default(), version.as_deref().unwrap_or("0"))
        .await
        .unwrap();
    let mut attempts: Vec<u64> = Vec::new();
    let mut backing_off = false;
    while attempts.len() < 5 {
        let Some(Ok(keel_core::client::WatchEvent::Modified(p))) = events.next().await else {
            continue;
        };
        match waiting_reason(Some(&p)).as_deref() {
            Some("ErrImagePull") if attempts.last() != Some(&start.elapsed().as_secs()) => {
                attempts.push(start.elapsed().as_secs());
            }
            Some("ImagePullBackOff") => {
                let w = p.status.as_ref().unwrap().container_statuses[0]
                    .state
                    .clone()
                    .unwrap()
                    .waiting
                    .unwrap();
                assert_eq!(
                    w.message.as_deref(),
                    Some("Back-off pulling image \"app:1\"")
                );
                backing_off = true;
            }
            _ => {}
        }
    }
    assert!(backing_off);
    assert_eq!(
        attempts,
        [0, 10, 30, 70, 150],
        "10 s doubling between attempts"
    );
    // Once the image can be pulled, the next attempt starts the container.
    runtime.allow_pulls("app:1");
    until(&client, "web", |p| phase(p) == "Running").await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_container_killed_by_its_liveness_probe_gets_its_grace_period() {
    let client = Client::in_memory();
    let rt = SimRuntime::new();
    rt.set_image_behavior(
        "slow:1",
        Behavior::run_forever().ignoring_sigterm().failing_probes(),
    );
    let handle = agent(&client, &rt).await;
    let spec = json!({"terminationGracePeriodSeconds": 30, "containers": [{"name": "app", "image": "slow:1",
        "livenessProbe": {"exec": {"command": ["check"]}, "initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 1}}]});
    Api::<Pod>::namespaced(&client, "default")
        .create(&pod("slow", spec))
        .await
        .unwrap();
    let p = until(&client, "slow", |p| phase(p) == "Running")
        .await
        .unwrap();
    let id = container_id(&p);
    let start = tokio::time::Instant::now();
    until(&client, "slow", |p| p.is_some_and(|p| restarts(p) >= 1)).await;
    // Killed at the first failed probe (1 s); it ignores SIGTERM, so it dies when the
    // pod's 30 s grace period ends, and restarts at once.
    assert_eq!(start.elapsed(), Duration::from_secs(31));
    let old = rt.container_status(&id).await;
    assert!(
        old.is_err()
            || matches!(
                old.unwrap().state,
                keel_runtime::ContainerState::Exited { .. }
            )
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_whose_image_pull_fails_backs_off_as_an_image_pull() {
    let client = Client::in_memory();
    let runtime = SimRuntime::new();
    runtime.set_image_behavior("app:1", Behavior::exit_after(Duration::from_secs(5), 1));
    let handle = agent(&client, &runtime).await;
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&pod("web", json!({}))).await.unwrap();
    until(&client, "web", |p| phase(p) == "Running").await;
    let version = pods
        .get("web")
        .await
        .unwrap()
        .metadata
        .resource_version
        .clone()
        .unwrap();
    let start = tokio::time::Instant::now();
    // The image is gone from the registry by the time the container exits (at 5 s).
    runtime.fail_pulls("app:1");
    let mut events = pods.watch(&ListParams::default(), &version).await.unwrap();
    let mut attempts: Vec<u64> = Vec::new();
    let mut reasons = std::collections::BTreeSet::new();
    while attempts.len() < 3 {
        let Some(Ok(keel_core::client::WatchEvent::Modified(p))) = events.next().await else {
            continue;
        };
        if let Some(reason) = waiting_reason(Some(&p)) {
            if reason == "ErrImagePull" && attempts.last() != Some(&start.elapsed().as_secs()) {
                attempts.push(start.elapsed().as_secs());
            }
            reasons.insert(reason);
        }
    }
    assert_eq!(attempts, [5, 15, 35], "the pull backoff paces the restarts");
    assert!(reasons.contains("ImagePullBackOff"), "{reasons:?}");
    assert!(!reasons.contains("CrashLoopBackOff"), "{reasons:?}");
    handle.shutdown().await;
}
