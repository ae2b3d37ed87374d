//! Store invariants under random operations: no lost update, every watcher sees the
//! store's log in order, and list + watch from the list's version rebuilds the state.

use std::collections::BTreeMap;

use futures::StreamExt;
use keel_core::api::ConfigMap;
use keel_core::client::{Api, Client, DeleteParams, ListParams, WatchEvent};
use keel_core::meta::ObjectMeta;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One random operation on config maps `ns/name`.
#[derive(Debug, Clone)]
enum Op {
    Create(&'static str, u8),
    Update(&'static str, u8, u8),
    Delete(&'static str, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let ns = prop::sample::select(vec!["default", "kube-system"]);
    prop_oneof![
        (ns.clone(), 0u8..4).prop_map(|(n, i)| Op::Create(n, i)),
        (ns.clone(), 0u8..4, any::<u8>()).prop_map(|(n, i, v)| Op::Update(n, i, v)),
        (ns, 0u8..4).prop_map(|(n, i)| Op::Delete(n, i)),
    ]
}

/// Applies an op; returns the log entry `(event, ns/name, resourceVersion)` if it wrote.
async fn apply(client: &Client, op: &Op) -> Option<(String, String, String)> {
    let (ns, i) = match op {
        Op::Create(n, i) | Op::Update(n, i, _) | Op::Delete(n, i) => (*n, *i),
    };
    let api: Api<ConfigMap> = Api::namespaced(client, ns);
    let name = format!("cm{i}");
    let id = format!("{ns}/{name}");
    let entry = |kind: &str, o: &ConfigMap| {
        Some((
            kind.to_owned(),
            id.clone(),
            o.metadata.resource_version.clone().unwrap(),
        ))
    };
    match op {
        Op::Create(..) => {
            let cm = ConfigMap {
                metadata: ObjectMeta::named(&name),
                ..ConfigMap::default()
            };
            api.create(&cm).await.ok().and_then(|o| entry("Added", &o))
        }
        Op::Update(_, _, v) => {
            let mut cm = (*api.get_opt(&name).await.unwrap()?).clone();
            let before = cm.metadata.resource_version.clone();
            cm.data.insert("v".into(), v.to_string());
            let o = api.replace(&name, &cm).await.unwrap();
            (o.metadata.resource_version != before)
                .then(|| entry("Modified", &o))
                .flatten()
        }
        Op::Delete(..) => match api.delete(&name, &DeleteParams::default()).await {
            Ok(d) => entry("Deleted", d.object()),
            Err(_) => None,
        },
    }
}

fn label(e: WatchEvent<ConfigMap>) -> (String, String, String) {
    let (kind, o) = match e {
        WatchEvent::Added(o) => ("Added", o),
        WatchEvent::Modified(o) => ("Modified", o),
        WatchEvent::Deleted(o) => ("Deleted", o),
        WatchEvent::Bookmark { .. } => unreachable!("no bookmarks asked for"),
    };
    let id = format!(
        "{}/{}",
        o.metadata.namespace.clone().unwrap(),
        o.metadata.name.clone().unwrap()
    );
    (
        kind.to_owned(),
        id,
        o.metadata.resource_version.clone().unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_watcher_sees_the_store_log_in_order(ops in prop::collection::vec(op(), 1..60)) {
        runtime().block_on(async {
            let client = Client::in_memory();
            let all: Api<ConfigMap> = Api::all(&client);
            let start = all.list(&ListParams::default()).await.unwrap();
            let rv = start.resource_version().to_owned();
            let mut everything = Box::pin(all.watch(&ListParams::default(), &rv).await.unwrap());
            let system: Api<ConfigMap> = Api::namespaced(&client, "kube-system");
            let mut one_ns = Box::pin(system.watch(&ListParams::default(), &rv).await.unwrap());
            let mut log = Vec::new();
            for op in &ops {
                log.extend(apply(&client, op).await);
            }
            let mut seen = Vec::new();
            for _ in 0..log.len() {
                seen.push(label(everything.next().await.unwrap().unwrap()));
            }
            prop_assert_eq!(&seen, &log);
            let system_log: Vec<_> = log.iter().filter(|(_, id, _)| id.starts_with("kube-system/")).cloned().collect();
            let mut seen = Vec::new();
            for _ in 0..system_log.len() {
                seen.push(label(one_ns.next().await.unwrap().unwrap()));
            }
            prop_assert_eq!(seen, system_log);
            let versions: Vec<u64> = log.iter().map(|(_, _, v)| v.parse().unwrap()).collect();
            prop_assert!(versions.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {:?}", versions);
            Ok(())
        })?;
    }

    #[test]
    fn list_then_watch_rebuilds_the_state(before in prop::collection::vec(op(), 0..30), after in prop::collection::vec(op(), 0..30)) {
        runtime().block_on(async {
            let client = Client::in_memory();
            let all: Api<ConfigMap> = Api::all(&client);
            for op in &before {
                apply(&client, op).await;
            }
            let list = all.list(&ListParams::default()).await.unwrap();
            let mut state: BTreeMap<String, String> = list.items.iter().map(|o| {
                (format!("{}/{}", o.metadata.namespace.clone().unwrap(), o.metadata.name.clone().unwrap()), o.metadata.resource_version.clone().unwrap())
            }).collect();
            let mut watch = Box::pin(all.watch(&ListParams::default(), list.resource_version()).await.unwrap());
            let mut writes = 0;
            for op in &after {
                writes += usize::from(apply(&client, op).await.is_some());
            }
            for _ in 0..writes {
                let (kind, id, rv) = label(watch.next().await.unwrap().unwrap());
                if kind == "Deleted" { state.remove(&id); } else { state.insert(id, rv); }
            }
            let truth: BTreeMap<String, String> = all.list(&ListParams::default()).await.unwrap().items.iter().map(|o| {
                (format!("{}/{}", o.metadata.namespace.clone().unwrap(), o.metadata.name.clone().unwrap()), o.metadata.resource_version.clone().unwrap())
            }).collect();
            prop_assert_eq!(state, truth);
            Ok(())
        })?;
    }

    #[test]
    fn concurrent_read_modify_write_loses_no_update(writers in 2usize..6, increments in 1usize..20) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let client = Client::in_memory();
            let api: Api<ConfigMap> = Api::namespaced(&client, "default");
            api.create(&ConfigMap { metadata: ObjectMeta::named("counter"), ..ConfigMap::default() }).await.unwrap();
            let mut tasks = Vec::new();
            for _ in 0..writers {
                let api = api.clone();
                tasks.push(tokio::spawn(async move {
                    let mut conflicts = 0;
                    for _ in 0..increments {
                        loop {
                            let mut cm = (*api.get("counter").await.unwrap()).clone();
                            let n: usize = cm.data.get("n").map_or(0, |v| v.parse().unwrap());
                            cm.data.insert("n".into(), (n + 1).to_string());
                            tokio::task::yield_now().await;
                            match api.replace("counter", &cm).await {
                                Ok(_) => break,
                                Err(e) if e.is_conflict() => conflicts += 1,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    conflicts
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let n: usize = api.get("counter").await.unwrap().data["n"].parse().unwrap();
            prop_assert_eq!(n, writers * increments);
            Ok(())
        })?;
    }
}
