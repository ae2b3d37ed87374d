//! Store benchmarks, each beside its floor (the same work on a plain
//! `RwLock<HashMap<String, Arc<Pod>>>` plus a `tokio::sync::broadcast` channel):
//! `store/<operation>/keel` and `store/<operation>/floor`.
//!
//! `cargo bench --bench store` prints criterion's figures, then a summary with ops/s,
//! the ratio to the floor, and the memory per stored pod (RSS growth while storing
//! 100,000 pods). Targets (DESIGN.md): ≥ 1M gets/s, ≥ 200k creates/s with 3 watchers,
//! ≤ 5× the floor, < 4 KiB per stored pod.

#![allow(clippy::cast_precision_loss, reason = "figures for printing")]
#![allow(
    clippy::semicolon_if_nothing_returned,
    clippy::type_complexity,
    reason = "benchmark closures"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use futures::{FutureExt, StreamExt};
use keel::core::api::Pod;
use keel::core::client::{Api, Client, ListParams, WatchEvent};
use keel::core::labels::Selector;
use keel::core::store::{MemoryStore, MemoryStoreConfig};

const PODS: usize = 100_000;
const NODES: usize = 1_000;
const BATCH: usize = 1_000;

fn pod(i: usize) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i}"), "namespace": "default", "labels": {"app": format!("app-{}", i % 100)}},
        "spec": {"nodeName": format!("node-{}", i % NODES), "containers": [{
            "name": "app", "image": "registry.example/app:1.0",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}
    }))
    .expect("a valid pod")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The floor: a map and a broadcast channel.
struct Floor {
    map: RwLock<HashMap<String, Arc<Pod>>>,
    tx: tokio::sync::broadcast::Sender<Arc<Pod>>,
}

impl Floor {
    fn new() -> Floor {
        Floor {
            map: RwLock::new(HashMap::new()),
            tx: tokio::sync::broadcast::channel(BATCH * 2).0,
        }
    }
    fn create(&self, p: Pod) {
        let p = Arc::new(p);
        let name = p.metadata.name.clone().unwrap_or_default();
        self.map.write().unwrap().insert(name, p.clone());
        let _ = self.tx.send(p);
    }
    fn get(&self, name: &str) -> Option<Arc<Pod>> {
        self.map.read().unwrap().get(name).cloned()
    }
    fn list(&self, selector: &Selector) -> Vec<Arc<Pod>> {
        let mut out: Vec<Arc<Pod>> = self
            .map
            .read()
            .unwrap()
            .values()
            .filter(|p| selector.matches(&p.metadata.labels))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        out
    }
}

fn filled_keel(rt: &tokio::runtime::Runtime) -> (Client, usize) {
    let before = rss_bytes();
    let client = Client::new(MemoryStore::with_config(MemoryStoreConfig {
        history: 1_000,
        watcher_buffer: 100_000,
    }));
    let api: Api<Pod> = Api::namespaced(&client, "default");
    rt.block_on(async {
        for chunk in (0..PODS).collect::<Vec<_>>().chunks(10_000) {
            let pods: Vec<Pod> = chunk.iter().map(|i| pod(*i)).collect();
            for r in api.create_all(pods).await.expect("bulk") {
                r.expect("created");
            }
        }
    });
    (client, rss_bytes().saturating_sub(before))
}

fn filled_floor() -> (Floor, usize) {
    let before = rss_bytes();
    let floor = Floor::new();
    for i in 0..PODS {
        floor.create(pod(i));
    }
    (floor, rss_bytes().saturating_sub(before))
}

fn names() -> Vec<String> {
    (0..BATCH)
        .map(|i| format!("pod-{}", i * 97 % PODS))
        .collect()
}

fn bench_reads(c: &mut Criterion, rt: &tokio::runtime::Runtime, client: &Client, floor: &Floor) {
    let api: Api<Pod> = Api::namespaced(client, "default");
    let names = names();
    let mut g = c.benchmark_group("store/get");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("keel", |b| {
        b.iter(|| {
            rt.block_on(async {
                for n in &names {
                    black_box(api.get(n).await.expect("found"));
                }
            });
        });
    });
    g.bench_function("floor", |b| {
        b.iter(|| names.iter().for_each(|n| drop(black_box(floor.get(n)))))
    });
    g.finish();
    let mut g = c.benchmark_group("store/list_selector");
    g.throughput(Throughput::Elements(PODS as u64));
    g.sample_size(10);
    let lp = ListParams::default().labels("app=app-7");
    let selector = Selector::parse("app=app-7").expect("selector");
    g.bench_function("keel", |b| {
        b.iter(|| black_box(rt.block_on(api.list(&lp)).expect("list").items.len()))
    });
    g.bench_function("floor", |b| {
        b.iter(|| black_box(floor.list(&selector).len()))
    });
    g.finish();
}

async fn drain(
    watchers: &mut [futures::stream::BoxStream<
        'static,
        Result<WatchEvent<Pod>, keel::core::Error>,
    >],
    n: usize,
) {
    for w in watchers.iter_mut() {
        for _ in 0..n {
            black_box(w.next().await);
        }
    }
}

fn keel_create(
    rt: &tokio::runtime::Runtime,
    watchers: usize,
) -> (
    Api<Pod>,
    Vec<futures::stream::BoxStream<'static, Result<WatchEvent<Pod>, keel::core::Error>>>,
    Vec<Pod>,
) {
    let client = Client::in_memory();
    let api: Api<Pod> = Api::namespaced(&client, "default");
    let streams = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..watchers {
            v.push(
                api.watch(&ListParams::default(), "")
                    .await
                    .expect("watch")
                    .boxed(),
            );
        }
        v
    });
    (api, streams, (0..BATCH).map(pod).collect())
}

fn bench_creates(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    for watchers in [0, 3] {
        let mut g = c.benchmark_group(format!("store/create_{watchers}_watchers"));
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function("keel", |b| {
            b.iter_batched(
                || keel_create(rt, watchers),
                |(api, mut streams, pods)| {
                    rt.block_on(async {
                        for p in pods {
                            black_box(api.create_owned(p).await.expect("create"));
                        }
                        drain(&mut streams, BATCH).await;
                    });
                },
                BatchSize::PerIteration,
            );
        });
        g.bench_function("floor", |b| {
            b.iter_batched(
                || {
                    let floor = Floor::new();
                    let rx: Vec<_> = (0..watchers).map(|_| floor.tx.subscribe()).collect();
                    (floor, rx, (0..BATCH).map(pod).collect::<Vec<_>>())
                },
                |(floor, mut rx, pods)| {
                    for p in pods {
                        floor.create(p);
                    }
                    for r in &mut rx {
                        while let Ok(p) = r.try_recv() {
                            black_box(p);
                        }
                    }
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();
    }
}

type Watchers =
    Vec<futures::stream::BoxStream<'static, Result<WatchEvent<Pod>, keel::core::Error>>>;

fn bench_fanout(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("store/watch_fanout_1000");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    g.bench_function("keel", |b| {
        b.iter_batched(
            || {
                let client = Client::in_memory();
                let api: Api<Pod> = Api::namespaced(&client, "default");
                let watchers: Watchers = rt.block_on(async {
                    let mut v = Vec::new();
                    for n in 0..NODES {
                        let lp = ListParams::default().fields(&format!("spec.nodeName=node-{n}"));
                        v.push(api.watch(&lp, "").await.expect("watch").boxed());
                    }
                    v
                });
                (api, watchers, (0..BATCH).map(pod).collect::<Vec<_>>())
            },
            |(api, mut watchers, pods)| {
                rt.block_on(async {
                    api.create_all(pods).await.expect("bulk");
                    drain(&mut watchers, BATCH / NODES).await;
                });
            },
            BatchSize::PerIteration,
        );
    });
    g.bench_function("floor", |b| {
        b.iter_batched(
            || {
                let floor = Floor::new();
                let rx: Vec<_> = (0..NODES).map(|_| floor.tx.subscribe()).collect();
                (floor, rx, (0..BATCH).map(pod).collect::<Vec<_>>())
            },
            |(floor, mut rx, pods)| {
                for p in pods {
                    floor.create(p);
                }
                for (n, r) in rx.iter_mut().enumerate() {
                    let mine = format!("node-{n}");
                    while let Ok(p) = r.try_recv() {
                        if p.spec.node_name.as_deref() == Some(mine.as_str()) {
                            black_box(p);
                        }
                    }
                }
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

/// Ops per second of `f` (which does `n` ops), best of a few rounds.
fn rate(n: usize, mut f: impl FnMut()) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
    }
    n as f64 / best.as_secs_f64()
}

fn summary(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    floor: &Floor,
    keel_mem: usize,
    floor_mem: usize,
) {
    let api: Api<Pod> = Api::namespaced(client, "default");
    let names = names();
    let get_keel = rate(BATCH * 100, || {
        rt.block_on(async {
            for _ in 0..100 {
                for n in &names {
                    black_box(api.get(n).now_or_never());
                }
            }
        });
    });
    let get_floor = rate(BATCH * 100, || {
        (0..100).for_each(|_| names.iter().for_each(|n| drop(black_box(floor.get(n)))))
    });
    // Setup (a fresh store, watchers, the pods) is outside the timed part. Like the
    // floor, the store is handed the pods (`create_owned`); `copied` keeps them and has
    // `create(&pod)` copy each one.
    let create = |watchers, copied: bool| {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let (api, mut streams, pods) = keel_create(rt, watchers);
            let t = Instant::now();
            if copied {
                rt.block_on(async {
                    for p in &pods {
                        black_box(api.create(p).await.expect("create"));
                    }
                    drain(&mut streams, BATCH).await;
                });
            } else {
                rt.block_on(async {
                    for p in pods {
                        black_box(api.create_owned(p).await.expect("create"));
                    }
                    drain(&mut streams, BATCH).await;
                });
            }
            best = best.min(t.elapsed());
        }
        BATCH as f64 / best.as_secs_f64()
    };
    let create_floor = {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let f = Floor::new();
            let mut rx: Vec<_> = (0..3).map(|_| f.tx.subscribe()).collect();
            let pods: Vec<Pod> = (0..BATCH).map(pod).collect();
            let t = Instant::now();
            for p in pods {
                f.create(p);
            }
            for r in &mut rx {
                while r.try_recv().is_ok() {}
            }
            best = best.min(t.elapsed());
        }
        BATCH as f64 / best.as_secs_f64()
    };
    let (c0, c3, c3_copied) = (create(0, false), create(3, false), create(3, true));
    println!("\nstore summary (keel vs floor, same run):");
    println!(
        "  store/get: {get_keel:.0} gets/s (floor {get_floor:.0}/s, ratio {:.2}x; target >= 1,000,000/s, <= 5x)",
        get_floor / get_keel
    );
    println!("  store/create_0_watchers: {c0:.0} creates/s (includes defaulting + validation)");
    println!(
        "  store/create_3_watchers: {c3:.0} creates/s (floor {create_floor:.0}/s, ratio {:.2}x; target >= 200,000/s)",
        create_floor / c3
    );
    println!(
        "  store/create_3_watchers, create(&pod) copying each pod: {c3_copied:.0} creates/s (ratio {:.2}x)",
        create_floor / c3_copied
    );
    println!(
        "  memory per stored pod: {} B (floor {} B; target < 4096 B)",
        keel_mem / PODS,
        floor_mem / PODS
    );
}

fn all(c: &mut Criterion) {
    let rt = rt();
    let (client, keel_mem) = filled_keel(&rt);
    let (floor, floor_mem) = filled_floor();
    bench_reads(c, &rt, &client, &floor);
    bench_creates(c, &rt);
    bench_fanout(c, &rt);
    summary(&rt, &client, &floor, keel_mem, floor_mem);
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
