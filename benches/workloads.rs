//! The workload controllers at scale, in virtual time (`tokio::time` paused, so only
//! the work itself takes wall time):
//!
//! - `workloads/replicasets`: 1,000 ReplicaSets of 100 replicas each — the ReplicaSet
//!   controller creates 100,000 pods; the floor bulk-creates the same 100,000 pods
//!   through the client with no controller.
//! - `workloads/rollout`: a 1,000-replica Deployment rolled from one image to another
//!   (25 % surge / 25 % unavailable) with a node that makes every new pod Running and
//!   Ready at once; the figure is the rollout from the template change until the
//!   Deployment reports every replica updated and available.
//!
//! `cargo bench --bench workloads` prints criterion's figures for a tenth of the scale,
//! then the full-scale summary: wall seconds, pods/s, virtual seconds, ratio to floor.

#![allow(clippy::cast_precision_loss, reason = "figures for printing")]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use keel::controllers::ControllerManager;
use keel::controllers::runtime::{Cache, Informers};
use keel::core::api::{
    Container, Deployment, DeploymentSpec, Pod, PodCondition, PodStatus, PodTemplateSpec,
    ReplicaSet, ReplicaSetSpec,
};
use keel::core::client::{Api, Client};
use keel::core::labels::LabelSelector;
use keel::core::meta::ObjectMeta;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn template(app: &str, image: &str) -> PodTemplateSpec {
    let mut t = PodTemplateSpec::default();
    t.metadata.labels.insert("app".into(), app.into());
    t.spec.containers.push(Container {
        name: "app".into(),
        image: Some(image.into()),
        ..Container::default()
    });
    t
}

fn selector(app: &str) -> LabelSelector {
    let mut s = LabelSelector::default();
    s.match_labels.insert("app".into(), app.into());
    s
}

/// Waits until `cache` holds `n` objects, re-checking after each change.
async fn until_len<K: keel::core::Resource>(cache: &Cache<K>, n: usize) {
    let mut changes = cache.subscribe();
    while cache.len() < n {
        if changes.recv().await.is_none() {
            return;
        }
    }
}

/// (wall, virtual) time for the ReplicaSet controller to create `sets × per_set` pods.
fn replica_sets(sets: usize, per_set: i32) -> (Duration, Duration) {
    rt().block_on(async {
        let client = Client::in_memory();
        let pods: Cache<Pod> = Informers::of(&client).cache();
        let manager = ControllerManager::new(client.clone())
            .with("replicaset")
            .expect("built in")
            .start();
        let objects = (0..sets)
            .map(|i| ReplicaSet {
                metadata: ObjectMeta::namespaced("default", format!("rs-{i}")),
                spec: ReplicaSetSpec {
                    replicas: Some(per_set),
                    selector: selector(&format!("rs-{i}")),
                    template: template(&format!("rs-{i}"), "app:v1"),
                    ..ReplicaSetSpec::default()
                },
                ..ReplicaSet::default()
            })
            .collect();
        let (wall, virt) = (Instant::now(), tokio::time::Instant::now());
        for r in Api::<ReplicaSet>::namespaced(&client, "default")
            .create_all(objects)
            .await
            .expect("bulk")
        {
            r.expect("created");
        }
        until_len(&pods, sets * usize::try_from(per_set).unwrap_or(0)).await;
        let figures = (wall.elapsed(), virt.elapsed());
        manager.shutdown().await;
        figures
    })
}

/// The floor: the same pods bulk-created through the client, no controller.
fn floor(sets: usize, per_set: i32) -> Duration {
    rt().block_on(async {
        let client = Client::in_memory();
        let pods: Vec<Pod> = (0..sets)
            .flat_map(|i| {
                let t = template(&format!("rs-{i}"), "app:v1");
                (0..per_set).map(move |j| Pod {
                    metadata: ObjectMeta {
                        name: Some(format!("rs-{i}-{j}")),
                        namespace: Some("default".into()),
                        labels: t.metadata.labels.clone(),
                        ..ObjectMeta::default()
                    },
                    spec: t.spec.clone(),
                    ..Pod::default()
                })
            })
            .collect();
        let wall = Instant::now();
        for r in Api::<Pod>::namespaced(&client, "default")
            .create_all(pods)
            .await
            .expect("bulk")
        {
            r.expect("created");
        }
        wall.elapsed()
    })
}

/// A node: every pod without a phase becomes Running and Ready.
fn node(client: &Client) -> tokio::task::JoinHandle<()> {
    let pods: Cache<Pod> = Informers::of(client).cache();
    let client = client.clone();
    tokio::spawn(async move {
        let mut changes = pods.subscribe();
        while let Some(change) = changes.recv().await {
            let Some(pod) = change.new else { continue };
            if pod.status.as_ref().is_some_and(|s| s.phase.is_some()) {
                continue;
            }
            let now = client.clock().now();
            let mut next = (*pod).clone();
            next.status = Some(PodStatus {
                phase: Some("Running".into()),
                conditions: vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(now),
                    ..PodCondition::default()
                }],
                ..PodStatus::default()
            });
            let api: Api<Pod> = Api::namespaced(&client, "default");
            let _ = api.replace_status(pod.metadata.name_str(), &next).await;
        }
    })
}

fn rolled_out(d: &Deployment, replicas: i32, revision: &str) -> bool {
    d.metadata
        .annotations
        .get("deployment.kubernetes.io/revision")
        .map(String::as_str)
        == Some(revision)
        && d.status.as_ref().is_some_and(|s| {
            s.observed_generation == d.metadata.generation
                && s.updated_replicas == Some(replicas)
                && s.replicas == Some(replicas)
                && s.available_replicas == Some(replicas)
        })
}

async fn until_rolled_out(cache: &Cache<Deployment>, replicas: i32, revision: &str) {
    let mut changes = cache.subscribe();
    loop {
        if cache
            .list()
            .iter()
            .any(|d| rolled_out(d, replicas, revision))
        {
            return;
        }
        if changes.recv().await.is_none() {
            return;
        }
    }
}

/// (wall, virtual) time of a rollout of a `replicas`-pod Deployment.
fn rollout(replicas: i32) -> (Duration, Duration) {
    rt().block_on(async {
        let client = Client::in_memory();
        let deployments: Cache<Deployment> = Informers::of(&client).cache();
        let manager = ControllerManager::new(client.clone()).with_all().start();
        let _node = node(&client);
        let api: Api<Deployment> = Api::namespaced(&client, "default");
        api.create(&Deployment {
            metadata: ObjectMeta::namespaced("default", "web"),
            spec: DeploymentSpec {
                replicas: Some(replicas),
                selector: selector("web"),
                template: template("web", "app:v1"),
                ..DeploymentSpec::default()
            },
            ..Deployment::default()
        })
        .await
        .expect("created");
        until_rolled_out(&deployments, replicas, "1").await;
        let mut next = (*api.get("web").await.expect("get")).clone();
        next.spec.template.spec.containers[0].image = Some("app:v2".into());
        let (wall, virt) = (Instant::now(), tokio::time::Instant::now());
        api.replace("web", &next).await.expect("update");
        until_rolled_out(&deployments, replicas, "2").await;
        let figures = (wall.elapsed(), virt.elapsed());
        manager.shutdown().await;
        figures
    })
}

fn all(c: &mut Criterion) {
    let mut g = c.benchmark_group("workloads");
    g.sample_size(10);
    g.bench_function("replicasets/100x100", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| replica_sets(100, 100).0).sum());
    });
    g.bench_function("replicasets/100x100/floor", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| floor(100, 100)).sum());
    });
    g.bench_function("rollout/100", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rollout(100).0).sum());
    });
    g.finish();

    let (wall, virt) = replica_sets(1_000, 100);
    let base = floor(1_000, 100);
    println!("\nworkloads summary (full scale, same run):");
    println!(
        "  workloads/replicasets: 100,000 pods across 1,000 ReplicaSets in {:.2} s wall ({:.0} pods/s), {:.1} s virtual; floor (bulk create, no controller) {:.2} s, ratio {:.2}x",
        wall.as_secs_f64(),
        100_000.0 / wall.as_secs_f64(),
        virt.as_secs_f64(),
        base.as_secs_f64(),
        wall.as_secs_f64() / base.as_secs_f64(),
    );
    let (wall, virt) = rollout(1_000);
    println!(
        "  workloads/rollout: 1,000-replica Deployment rolled out in {:.2} s wall, {:.1} s virtual",
        wall.as_secs_f64(),
        virt.as_secs_f64(),
    );
}

criterion_group!(benches, all);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
