//! The reconciler framework's own overhead: 10,000 objects reconciled by a `Controller`
//! with a trivial reconcile (cache → work queue → worker → reconcile → done), beside a
//! floor (the same keys through a plain channel and a loop that looks each object up
//! and calls the same reconcile): `reconcile/10k/keel` and `reconcile/10k/floor`.
//!
//! `cargo bench --bench reconcile` prints criterion's figures, then a summary with
//! reconciles/s and the ratio to the floor. Target: ≥ 100,000 reconciles/s.

#![allow(clippy::cast_precision_loss, reason = "figures for printing")]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use keel::controllers::runtime::{Action, Cache, Config, Controller, Informers, ObjectRef};
use keel::core::api::ConfigMap;
use keel::core::client::{Api, Client};
use keel::core::meta::ObjectMeta;
use tokio::sync::Notify;

const OBJECTS: usize = 10_000;

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

struct Counter {
    done: AtomicUsize,
    all_done: Notify,
}

async fn trivial(cm: Arc<ConfigMap>, ctx: Arc<Counter>) -> Result<Action, Never> {
    black_box(&cm);
    if ctx.done.fetch_add(1, Ordering::Relaxed) + 1 == OBJECTS {
        ctx.all_done.notify_one();
    }
    Ok(Action::await_change())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A client holding `OBJECTS` config maps, with its shared cache loaded.
fn filled(rt: &tokio::runtime::Runtime) -> (Client, Cache<ConfigMap>) {
    rt.block_on(async {
        let client = Client::in_memory();
        let objects = (0..OBJECTS)
            .map(|i| ConfigMap {
                metadata: ObjectMeta::namespaced("default", format!("cm-{i}")),
                ..ConfigMap::default()
            })
            .collect();
        for r in Api::<ConfigMap>::namespaced(&client, "default")
            .create_all(objects)
            .await
            .expect("bulk")
        {
            r.expect("created");
        }
        let cache: Cache<ConfigMap> = Informers::of(&client).cache();
        cache.wait_until_ready().await;
        (client, cache)
    })
}

/// One controller start to `OBJECTS` reconciles and a clean shutdown.
fn keel_round(rt: &tokio::runtime::Runtime, client: &Client) -> Duration {
    rt.block_on(async {
        let ctx = Arc::new(Counter {
            done: AtomicUsize::new(0),
            all_done: Notify::new(),
        });
        let stop = ctx.clone();
        let start = Instant::now();
        Controller::new(Api::<ConfigMap>::all(client), Config::default())
            .graceful_shutdown_on(async move { stop.all_done.notified().await })
            .run(trivial, |_, _, _| Action::await_change(), ctx.clone())
            .await;
        assert_eq!(ctx.done.load(Ordering::Relaxed), OBJECTS);
        start.elapsed()
    })
}

/// The floor: the same keys through an unbounded channel to one loop that looks each
/// object up in a map and calls the same reconcile.
fn floor_round(
    rt: &tokio::runtime::Runtime,
    objects: &HashMap<ObjectRef, Arc<ConfigMap>>,
) -> Duration {
    rt.block_on(async {
        let ctx = Arc::new(Counter {
            done: AtomicUsize::new(0),
            all_done: Notify::new(),
        });
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ObjectRef>();
        for key in objects.keys() {
            tx.send(key.clone()).expect("open");
        }
        drop(tx);
        while let Some(key) = rx.recv().await {
            if let Some(obj) = objects.get(&key) {
                let _ = trivial(obj.clone(), ctx.clone()).await;
            }
        }
        assert_eq!(ctx.done.load(Ordering::Relaxed), OBJECTS);
        start.elapsed()
    })
}

fn best(mut f: impl FnMut() -> Duration) -> f64 {
    let fastest = (0..5).map(|_| f()).min().unwrap_or(Duration::MAX);
    OBJECTS as f64 / fastest.as_secs_f64()
}

fn all(c: &mut Criterion) {
    let rt = rt();
    let (client, cache) = filled(&rt);
    let objects: HashMap<ObjectRef, Arc<ConfigMap>> = cache
        .list()
        .into_iter()
        .map(|o| (ObjectRef::from_obj(&*o), o))
        .collect();
    let mut g = c.benchmark_group("reconcile/10k");
    g.throughput(Throughput::Elements(OBJECTS as u64));
    g.sample_size(10);
    g.bench_function("keel", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| keel_round(&rt, &client)).sum());
    });
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| floor_round(&rt, &objects)).sum());
    });
    g.finish();
    let keel = best(|| keel_round(&rt, &client));
    let floor = best(|| floor_round(&rt, &objects));
    println!("\nreconcile summary (keel vs floor, same run):");
    println!(
        "  reconcile/10k: {keel:.0} reconciles/s (floor {floor:.0}/s, ratio {:.2}x; target >= 100,000/s)",
        floor / keel
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = all
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
