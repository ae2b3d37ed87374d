//! The ControllerManager with leader election: of two managers on one cluster only the
//! lease holder runs its controllers; when it shuts down (releasing the lease) the
//! other takes over.

mod support;

use keel_controllers::ControllerManager;
use keel_controllers::runtime::LeaseConfig;
use keel_core::api::{Pod, ReplicaSet, ReplicaSetSpec};
use keel_core::client::{Api, Client};
use support::*;

fn manager(client: &Client, identity: &str) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("replicaset")
        .unwrap()
        .leader_election(LeaseConfig::new(
            "kube-system",
            "kube-controller-manager",
            identity,
        ))
        .start()
}

async fn scale(sets: &Api<ReplicaSet>, replicas: i32) {
    let mut rs = (*sets.get("web").await.unwrap()).clone();
    rs.spec.replicas = Some(replicas);
    sets.replace("web", &rs).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn only_the_lease_holder_runs_controllers_and_the_other_takes_over() {
    let client = Client::in_memory();
    let first = manager(&client, "first");
    first.leader().unwrap().wait_leading().await;
    let second = manager(&client, "second");
    assert!(first.is_leader());
    assert!(!second.is_leader());

    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    sets.create(&ReplicaSet {
        metadata: meta("web"),
        spec: ReplicaSetSpec {
            replicas: Some(2),
            selector: selector("web"),
            template: template("web", "app:v1"),
            ..ReplicaSetSpec::default()
        },
        ..ReplicaSet::default()
    })
    .await
    .unwrap();
    wait_for(&pods, "2 pods", |p| p.len() == 2).await;
    assert!(!second.is_leader(), "the second never led meanwhile");

    // The leader goes, releasing the lease: the other manager takes over at once.
    first.shutdown().await;
    second.leader().unwrap().wait_leading().await;
    scale(&sets, 3).await;
    wait_for(&pods, "3 pods", |p| p.len() == 3).await;
    second.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn without_an_election_controllers_run_at_once() {
    let client = Client::in_memory();
    let m = ControllerManager::new(client.clone())
        .with("replicaset")
        .unwrap()
        .start();
    assert!(m.is_leader());
    assert!(m.leader().is_none());
    m.shutdown().await;
}

/// A controller that fails on its first run and works on the next.
#[derive(Clone)]
struct Flaky {
    runs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    working: std::sync::Arc<tokio::sync::Notify>,
}

impl keel_controllers::ManagedController for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn run(
        self: Box<Self>,
        _client: Client,
        shutdown: keel_controllers::Shutdown,
    ) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let run = self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert!(run > 0, "the first run fails");
            self.working.notify_one();
            shutdown.wait().await;
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_controller_that_dies_is_restarted() {
    let client = Client::in_memory();
    let flaky = Flaky {
        runs: std::sync::Arc::default(),
        working: std::sync::Arc::default(),
    };
    let m = ControllerManager::new(client.clone())
        .with_controller(flaky.clone())
        .start();
    flaky.working.notified().await;
    assert_eq!(flaky.runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    m.shutdown().await;
}
