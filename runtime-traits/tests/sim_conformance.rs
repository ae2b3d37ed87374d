//! The conformance suites on the sim backends.

use keel_runtime::VolumePlugin;
use keel_runtime::conformance::{self, Fixtures};
use keel_runtime::sim::{Cidr, ClusterCidrs, SimNetwork, SimRuntime, SimVolumes};

#[tokio::test(start_paused = true)]
async fn sim_runtime_conforms() {
    conformance::runtime(
        SimRuntime::new,
        &Fixtures::new("registry.example/app:1", &[]),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn sim_network_conforms_dual_stack_and_single_stack() {
    let dual = ClusterCidrs::default().node_cidrs(0).unwrap();
    conformance::network(|| SimNetwork::new(&dual), true).await;
    let v4: Vec<Cidr> = vec!["10.1.0.0/24".parse().unwrap()];
    conformance::network(|| SimNetwork::new(&v4), false).await;
}

#[tokio::test(start_paused = true)]
async fn sim_volumes_conform_and_respect_their_capacity() {
    conformance::volumes(|| SimVolumes::new(10 << 30), 1 << 30).await;
    let small = SimVolumes::new(3 << 30);
    let req = |name: &str| keel_runtime::VolumeRequest {
        name: name.into(),
        capacity_bytes: 2 << 30,
        ..keel_runtime::VolumeRequest::default()
    };
    small.provision(&req("x")).await.unwrap();
    assert!(matches!(
        small.provision(&req("y")).await,
        Err(keel_runtime::RuntimeError::Exhausted(_))
    ));
    assert_eq!(small.used(), 2 << 30);
}
