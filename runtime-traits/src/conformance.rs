//! The conformance suites: the behaviour every [`ContainerRuntime`] and
//! [`NetworkPlugin`] must show, run against ours (`sim`, and the process runtime in
//! `keel-node`) and against any user's backend.
//!
//! ```ignore
//! #[tokio::test]
//! async fn my_runtime_conforms() {
//!     keel_runtime::conformance::runtime(|| MyRuntime::new(), &Fixtures::sleep("my/sleep-image")).await;
//! }
//! ```
//!
//! Each check panics with what went wrong.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;

use crate::{
    ContainerConfig, ContainerEventKind, ContainerFilter, ContainerRuntime, ContainerState,
    NetworkPlugin, SandboxConfig, SandboxState, VolumePlugin, VolumeRequest,
};

/// The containers the suite runs on a backend.
#[derive(Clone, Debug)]
pub struct Fixtures {
    /// A container that runs until stopped and exits promptly on SIGTERM.
    pub long_running: ContainerConfig,
}

impl Fixtures {
    /// `image` (with `command`, if the backend needs one) runs until stopped.
    pub fn new(image: &str, command: &[&str]) -> Fixtures {
        Fixtures {
            long_running: ContainerConfig {
                name: "main".into(),
                image: image.into(),
                command: command.iter().map(|s| (*s).to_owned()).collect(),
                ..ContainerConfig::default()
            },
        }
    }
}

fn sandbox(name: &str) -> SandboxConfig {
    SandboxConfig {
        namespace: "conformance".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        ..SandboxConfig::default()
    }
}

/// Runs every runtime check, each on a fresh backend from `make`.
pub async fn runtime<R: ContainerRuntime>(make: impl Fn() -> R, fixtures: &Fixtures) {
    sandbox_lifecycle(&make()).await;
    container_lifecycle(&make(), fixtures).await;
    events_are_pushed_in_order(&make(), fixtures).await;
    misuse_is_an_error(&make(), fixtures).await;
    stopping_a_sandbox_stops_its_containers(&make(), fixtures).await;
    exec_runs_in_a_running_container(&make(), fixtures).await;
}

/// Sandboxes are listed while they exist, become not ready when stopped, and go.
pub async fn sandbox_lifecycle<R: ContainerRuntime>(rt: &R) {
    let id = rt
        .run_pod_sandbox(&sandbox("a"))
        .await
        .expect("run sandbox");
    let list = rt.list_pod_sandboxes().await.unwrap();
    let s = list
        .iter()
        .find(|s| s.id == id)
        .expect("the sandbox is listed");
    assert_eq!(s.state, SandboxState::Ready);
    assert_eq!(s.config.name, "a");
    rt.stop_pod_sandbox(&id).await.expect("stop sandbox");
    let list = rt.list_pod_sandboxes().await.unwrap();
    assert_eq!(
        list.iter().find(|s| s.id == id).map(|s| s.state),
        Some(SandboxState::NotReady)
    );
    rt.remove_pod_sandbox(&id).await.expect("remove sandbox");
    assert!(
        rt.list_pod_sandboxes()
            .await
            .unwrap()
            .iter()
            .all(|s| s.id != id)
    );
    assert!(
        rt.stop_pod_sandbox(&id)
            .await
            .is_err_and(|e| e.is_not_found())
    );
}

/// Pull, create, start, stop, remove — with the statuses in between.
pub async fn container_lifecycle<R: ContainerRuntime>(rt: &R, f: &Fixtures) {
    let image = rt.pull_image(&f.long_running.image).await.expect("pull");
    assert_eq!(image.name, f.long_running.image);
    assert!(
        rt.list_images()
            .await
            .unwrap()
            .iter()
            .any(|i| i.name == f.long_running.image)
    );
    let sb = rt.run_pod_sandbox(&sandbox("b")).await.unwrap();
    let id = rt
        .create_container(&sb, &f.long_running)
        .await
        .expect("create");
    let st = rt.container_status(&id).await.unwrap();
    assert_eq!(
        (st.state.clone(), st.name.as_str(), st.sandbox_id.as_str()),
        (ContainerState::Created, "main", sb.as_str())
    );
    rt.start_container(&id).await.expect("start");
    assert!(rt.container_status(&id).await.unwrap().state.is_running());
    let listed = rt
        .list_containers(&ContainerFilter {
            sandbox_id: Some(sb.clone()),
            running_only: true,
        })
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );
    rt.stop_container(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    let st = rt.container_status(&id).await.unwrap();
    assert!(
        st.state.exit_code().is_some(),
        "exited after stop: {:?}",
        st.state
    );
    rt.stop_container(&id, Duration::from_secs(10))
        .await
        .expect("stopping twice is fine");
    rt.remove_container(&id).await.expect("remove");
    assert!(
        rt.container_status(&id)
            .await
            .is_err_and(|e| e.is_not_found())
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
}

/// The event stream reports created, started and exited, in order.
pub async fn events_are_pushed_in_order<R: ContainerRuntime>(rt: &R, f: &Fixtures) {
    let mut events = rt.events();
    rt.pull_image(&f.long_running.image).await.unwrap();
    let sb = rt.run_pod_sandbox(&sandbox("c")).await.unwrap();
    let id = rt.create_container(&sb, &f.long_running).await.unwrap();
    rt.start_container(&id).await.unwrap();
    rt.stop_container(&id, Duration::from_secs(10))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let e = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("events arrive")
            .expect("the stream stays open");
        if e.container_id == id {
            kinds.push(e.kind);
        }
    }
    assert_eq!(kinds[0], ContainerEventKind::Created);
    assert_eq!(kinds[1], ContainerEventKind::Started);
    assert!(
        matches!(kinds[2], ContainerEventKind::Exited(_)),
        "{kinds:?}"
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
}

/// Unknown ids, double starts and removing a running container are errors.
pub async fn misuse_is_an_error<R: ContainerRuntime>(rt: &R, f: &Fixtures) {
    assert!(
        rt.create_container("no-such-sandbox", &f.long_running)
            .await
            .is_err_and(|e| e.is_not_found())
    );
    assert!(
        rt.start_container("no-such-container")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    assert!(
        rt.logs("no-such-container")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    rt.pull_image(&f.long_running.image).await.unwrap();
    let sb = rt.run_pod_sandbox(&sandbox("d")).await.unwrap();
    let id = rt.create_container(&sb, &f.long_running).await.unwrap();
    rt.start_container(&id).await.unwrap();
    assert!(rt.start_container(&id).await.is_err(), "starting twice");
    assert!(
        rt.remove_container(&id).await.is_err(),
        "removing a running container"
    );
    rt.stop_pod_sandbox(&sb).await.unwrap();
    assert!(
        rt.create_container(&sb, &f.long_running).await.is_err(),
        "creating in a stopped sandbox"
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
}

/// Stopping a sandbox stops what runs in it; removing it removes its containers.
pub async fn stopping_a_sandbox_stops_its_containers<R: ContainerRuntime>(rt: &R, f: &Fixtures) {
    rt.pull_image(&f.long_running.image).await.unwrap();
    let sb = rt.run_pod_sandbox(&sandbox("e")).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..2 {
        let mut c = f.long_running.clone();
        c.name = format!("c{i}");
        let id = rt.create_container(&sb, &c).await.unwrap();
        rt.start_container(&id).await.unwrap();
        ids.push(id);
    }
    rt.stop_pod_sandbox(&sb).await.unwrap();
    for id in &ids {
        assert!(
            !rt.container_status(id).await.unwrap().state.is_running(),
            "{id} still runs"
        );
    }
    rt.remove_pod_sandbox(&sb).await.unwrap();
    for id in &ids {
        assert!(
            rt.container_status(id)
                .await
                .is_err_and(|e| e.is_not_found())
        );
    }
}

/// Exec runs in running containers only.
pub async fn exec_runs_in_a_running_container<R: ContainerRuntime>(rt: &R, f: &Fixtures) {
    rt.pull_image(&f.long_running.image).await.unwrap();
    let sb = rt.run_pod_sandbox(&sandbox("f")).await.unwrap();
    let id = rt.create_container(&sb, &f.long_running).await.unwrap();
    assert!(
        rt.exec(&id, &["true".into()], Duration::from_secs(5))
            .await
            .is_err(),
        "not started yet"
    );
    rt.start_container(&id).await.unwrap();
    let r = rt
        .exec(&id, &["true".into()], Duration::from_secs(5))
        .await
        .expect("exec");
    assert_eq!(r.exit_code, 0);
    rt.remove_pod_sandbox(&sb).await.unwrap();
}

/// Runs every network check, each on a fresh backend from `make`. `dual_stack` says
/// whether the backend is configured with both families.
pub async fn network<N: NetworkPlugin>(make: impl Fn() -> N, dual_stack: bool) {
    let net = make();
    let a = net.setup("ns", "a", "sb-a").await.expect("setup");
    assert!(a.ipv4.is_some(), "an IPv4 address");
    assert_eq!(
        a.ipv6.is_some(),
        dual_stack,
        "an IPv6 address exactly when dual-stack"
    );
    assert_eq!(
        net.setup("ns", "a", "sb-a").await.unwrap(),
        a,
        "setup is idempotent"
    );
    assert_eq!(net.status("sb-a").await.unwrap(), Some(a));
    let mut seen = BTreeSet::new();
    seen.insert(a.ips());
    for i in 0..50 {
        let n = net
            .setup("ns", &format!("p{i}"), &format!("sb-{i}"))
            .await
            .unwrap();
        assert!(seen.insert(n.ips()), "address handed out twice: {n:?}");
    }
    net.teardown("sb-a").await.expect("teardown");
    assert_eq!(net.status("sb-a").await.unwrap(), None);
    net.teardown("sb-a").await.expect("teardown is idempotent");
    net.teardown("never-set-up")
        .await
        .expect("unknown sandboxes are fine");
    let fresh = make();
    for i in 0..20 {
        let n = fresh
            .setup("ns", &format!("q{i}"), &format!("q{i}"))
            .await
            .unwrap();
        fresh.teardown(&format!("q{i}")).await.unwrap();
        assert!(n.ipv4.is_some());
    }
}

/// Runs every volume check on a backend from `make`, provisioning volumes of
/// `size` bytes (the backend must hold at least three).
pub async fn volumes<V: VolumePlugin>(make: impl Fn() -> V, size: i64) {
    let v = make();
    let request = |name: &str| VolumeRequest {
        name: name.into(),
        capacity_bytes: size,
        ..VolumeRequest::default()
    };
    let a = v.provision(&request("a")).await.expect("provision");
    assert!(a.capacity_bytes >= size, "at least the size asked for");
    assert_eq!(
        v.provision(&request("a")).await.unwrap(),
        a,
        "provisioning is idempotent"
    );
    let b = v.provision(&request("b")).await.unwrap();
    assert_ne!(a.handle, b.handle);
    v.attach(&a.handle, "node-1").await.expect("attach");
    let path = v.mount(&a.handle, "pod-1").await.expect("mount");
    assert!(!path.is_empty());
    assert!(
        v.delete(&a.handle).await.is_err(),
        "a mounted volume cannot be deleted"
    );
    v.unmount(&a.handle, "pod-1").await.expect("unmount");
    v.detach(&a.handle, "node-1").await.expect("detach");
    v.delete(&a.handle).await.expect("delete");
    assert!(
        v.mount(&a.handle, "pod-1")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    assert!(v.delete(&a.handle).await.is_err_and(|e| e.is_not_found()));
    v.delete(&b.handle).await.unwrap();
}
