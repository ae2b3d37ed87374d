//! The process runtime with real OS processes: the runtime conformance suite, logs and
//! exit codes, SIGTERM then SIGKILL, no orphans, and the node agent running a real
//! echo server on its own loopback address.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use keel_node::process::{ImageTable, ProcessRuntime, loopback_network};
use keel_runtime::conformance::{self, Fixtures};
use keel_runtime::{
    ContainerConfig, ContainerEventKind, ContainerRuntime, NetworkPlugin, SandboxConfig,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const ECHO: &str = env!("CARGO_BIN_EXE_keel-echo");

fn runtime() -> ProcessRuntime {
    ProcessRuntime::new(
        ImageTable::new()
            .with("keel.test/sleep", "/usr/bin/sleep")
            .with("keel.test/sh", "/usr/bin/sh")
            .with("keel.test/echo", ECHO),
    )
}

async fn run(rt: &ProcessRuntime, image: &str, command: &[&str], env: &[(&str, &str)]) -> String {
    rt.pull_image(image).await.unwrap();
    let sb = rt
        .run_pod_sandbox(&SandboxConfig {
            namespace: "default".into(),
            name: "p".into(),
            uid: "u".into(),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
    let id = rt
        .create_container(
            &sb,
            &ContainerConfig {
                name: "c".into(),
                image: image.into(),
                command: command.iter().map(|s| (*s).to_owned()).collect(),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..ContainerConfig::default()
            },
        )
        .await
        .unwrap();
    rt.start_container(&id).await.unwrap();
    id
}

/// Waits for container `id` to exit; its exit code.
async fn exit_code(rt: &ProcessRuntime, id: &str) -> i32 {
    let mut events = rt.events();
    loop {
        if let Some(code) = rt.container_status(id).await.unwrap().state.exit_code() {
            return code;
        }
        match tokio::time::timeout(Duration::from_secs(20), events.next()).await {
            Ok(Some(e))
                if e.container_id == id && matches!(e.kind, ContainerEventKind::Exited(_)) => {}
            Ok(Some(_)) => {}
            _ => panic!("container {id} did not exit"),
        }
    }
}

#[tokio::test]
async fn the_process_runtime_conforms() {
    conformance::runtime(
        runtime,
        &Fixtures::new("keel.test/sleep", &["sleep", "1000"]),
    )
    .await;
}

#[tokio::test]
async fn logs_and_exit_codes_are_reported() {
    let rt = runtime();
    let id = run(
        &rt,
        "keel.test/sh",
        &["sh", "-c", "echo hello $WHO; echo oops >&2; exit 3"],
        &[("WHO", "keel")],
    )
    .await;
    assert_eq!(exit_code(&rt, &id).await, 3);
    // The pipes may still be draining right after the exit.
    let logs = loop {
        let l = rt.logs(&id).await.unwrap();
        if l.contains("oops") {
            break l;
        }
        tokio::task::yield_now().await;
    };
    assert!(logs.contains("hello keel\n"), "{logs}");
}

#[tokio::test]
async fn sigterm_then_sigkill_after_the_grace_period() {
    let rt = runtime();
    let polite = run(&rt, "keel.test/sleep", &["sleep", "1000"], &[]).await;
    rt.stop_container(&polite, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(exit_code(&rt, &polite).await, 128 + 15, "SIGTERM ended it");
    let stubborn = run(
        &rt,
        "keel.test/sh",
        &[
            "sh",
            "-c",
            "trap '' TERM; echo ready; while true; do sleep 0.05; done",
        ],
        &[],
    )
    .await;
    while !rt.logs(&stubborn).await.unwrap().contains("ready") {
        tokio::task::yield_now().await;
    }
    let start = Instant::now();
    rt.stop_container(&stubborn, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        exit_code(&rt, &stubborn).await,
        128 + 9,
        "SIGKILL after the grace period"
    );
}

fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

#[tokio::test]
async fn no_process_outlives_the_runtime() {
    let dir = std::env::temp_dir().join(format!("keel-orphans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pids = dir.join("pids");
    let script = format!(
        "sleep 1000 & echo $! > {0}; echo $$ >> {0}; wait",
        pids.display()
    );
    let rt = runtime();
    run(&rt, "keel.test/sh", &["sh", "-c", &script], &[]).await;
    let written = loop {
        let s = std::fs::read_to_string(&pids).unwrap_or_default();
        if s.lines().count() == 2 {
            break s;
        }
        tokio::task::yield_now().await;
    };
    drop(rt);
    let ids: Vec<&str> = written.lines().collect();
    // The kill is synchronous; reaping by init is not: wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ids.iter().all(|p| gone(p)) && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert!(ids.iter().all(|p| gone(p)), "left behind: {ids:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn each_pod_gets_its_own_loopback_address_and_serves_on_it() {
    let rt = runtime();
    let net = loopback_network("127.77.0.0/16").unwrap();
    let mut served = Vec::new();
    for name in ["a", "b"] {
        let ip = net
            .setup("default", name, name)
            .await
            .unwrap()
            .ipv4
            .unwrap()
            .to_string();
        let id = run(
            &rt,
            "keel.test/echo",
            &[],
            &[
                ("POD_IP", ip.as_str()),
                ("POD_NAME", name),
                ("PORT", "18080"),
            ],
        )
        .await;
        // Both bind the same port, each on its own address.
        let stream = loop {
            if let Ok(s) = tokio::net::TcpStream::connect((ip.as_str(), 18080)).await {
                break s;
            }
            assert!(
                rt.container_status(&id).await.unwrap().state.is_running(),
                "{}",
                rt.logs(&id).await.unwrap()
            );
            tokio::task::yield_now().await;
        };
        let mut lines = BufReader::new(stream).lines();
        served.push(lines.next_line().await.unwrap().unwrap());
        assert!(
            rt.logs(&id)
                .await
                .unwrap()
                .contains(&format!("listening on {ip}:18080"))
        );
    }
    assert_eq!(served, ["a", "b"]);
    let _ = Arc::new(rt);
}

#[tokio::test]
async fn background_children_go_with_their_container() {
    let dir = std::env::temp_dir().join(format!("keel-bg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("bg");
    let script = format!("sleep 1000 & echo $! > {}; exit 0", pid_file.display());
    let rt = runtime();
    let id = run(&rt, "keel.test/sh", &["sh", "-c", &script], &[]).await;
    assert_eq!(exit_code(&rt, &id).await, 0);
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(&pid) && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert!(
        gone(&pid),
        "the background child of an exited container was left running"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_failed_start_is_retried_by_the_agent() {
    use keel_core::api::Pod;
    use keel_core::client::{Api, Client};
    let client = Client::in_memory();
    let rt = Arc::new(runtime());
    let net = Arc::new(loopback_network("127.89.0.0/16").unwrap());
    let mut config = keel_node::NodeConfig::new("node-1");
    config.backoff_base = Duration::from_millis(50);
    let agent = keel_node::NodeAgent::new(&client, config, rt, net)
        .start()
        .await
        .unwrap();
    let p: Pod = serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "keel.test/sh", "command": ["/nonexistent/binary"]}]}}))
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&p).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = pods.get("bad").await.unwrap();
        let restarts = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.first())
            .map_or(0, |c| c.restart_count);
        if restarts >= 2 {
            let reason = p.status.as_ref().unwrap().container_statuses[0]
                .state
                .clone()
                .unwrap()
                .waiting
                .unwrap()
                .reason;
            assert_eq!(reason.as_deref(), Some("RunContainerError"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failed start was not retried: {:?}",
            p.status
        );
        tokio::task::yield_now().await;
    }
    agent.shutdown().await;
}
