//! The conformance suites on the sim backends.

use keel_runtime::conformance::{self, Fixtures};
use keel_runtime::sim::{Cidr, ClusterCidrs, SimNetwork, SimRuntime};

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
