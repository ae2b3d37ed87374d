//! The shared cache against the in-memory store: initial list, watch updates, indexers,
//! re-list after `Expired`, and one cache per kind per client.

use std::sync::Arc;

use keel_controllers::runtime::cache::{BY_CONTROLLER_UID, BY_NODE_NAME};
use keel_controllers::runtime::{Cache, Change, Informers, ObjectRef};
use keel_core::api::{ConfigMap, Pod, ReplicaSet};
use keel_core::client::{Api, Client, DeleteParams};
use keel_core::labels::Selector;
use keel_core::meta::{ObjectMeta, OwnerReference};
use keel_core::store::{MemoryStore, MemoryStoreConfig};
use tokio::sync::mpsc::UnboundedReceiver;

fn cm(ns: &str, name: &str, app: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta::namespaced(ns, name).with_label("app", app),
        ..ConfigMap::default()
    }
}

fn pod(name: &str, node: Option<&str>, owner_uid: Option<&str>) -> Pod {
    let mut p: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    p.spec.node_name = node.map(str::to_owned);
    if let Some(uid) = owner_uid {
        p.metadata.owner_references.push(OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: None,
        });
    }
    p
}

fn names<K: keel_core::Resource>(objs: &[Arc<K>]) -> Vec<String> {
    objs.iter()
        .map(|o| o.meta().name.clone().unwrap())
        .collect()
}

/// Waits until the next change arrives (the reflector runs on the same runtime).
async fn next<K>(rx: &mut UnboundedReceiver<Change<K>>) -> Change<K> {
    rx.recv().await.expect("the cache is alive")
}

#[tokio::test(start_paused = true)]
async fn the_cache_lists_then_follows_the_store() {
    let client = Client::in_memory();
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    api.create(&cm("default", "a", "web")).await.unwrap();
    let cache: Cache<ConfigMap> = Informers::of(&client).cache();
    assert!(!cache.is_ready());
    cache.wait_until_ready().await;
    assert_eq!(names(&cache.list()), ["a"]);

    let mut changes = cache.subscribe();
    let first = next(&mut changes).await;
    assert!(
        first.old.is_none(),
        "a new subscriber is told about what is cached"
    );
    assert_eq!(first.new.unwrap().metadata.name.as_deref(), Some("a"));

    api.create(&cm("default", "b", "db")).await.unwrap();
    let added = next(&mut changes).await;
    assert!(added.old.is_none());
    let mut changed = (*api.get("a").await.unwrap()).clone();
    changed.data.insert("k".into(), "v".into());
    api.replace("a", &changed).await.unwrap();
    let modified = next(&mut changes).await;
    assert!(modified.old.unwrap().data.is_empty());
    assert_eq!(modified.new.unwrap().data["k"], "v");
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let deleted = next(&mut changes).await;
    assert!(deleted.new.is_none());
    assert_eq!(deleted.old.unwrap().metadata.name.as_deref(), Some("b"));
    assert_eq!(names(&cache.list()), ["a"]);
    assert_eq!(
        cache
            .get(&ObjectRef::new("a").within("default"))
            .unwrap()
            .data["k"],
        "v"
    );
}

#[tokio::test(start_paused = true)]
async fn one_cache_per_kind_is_shared_by_every_reader_of_a_client() {
    let client = Client::in_memory();
    let a: Cache<ConfigMap> = Informers::of(&client).cache();
    let b: Cache<ConfigMap> = Informers::of(&client.clone()).cache();
    a.wait_until_ready().await;
    Api::<ConfigMap>::namespaced(&client, "default")
        .create(&cm("default", "x", "web"))
        .await
        .unwrap();
    let mut rx = b.subscribe();
    next(&mut rx).await;
    assert_eq!(a.len(), 1, "the same cache");
    let other: Cache<ConfigMap> = Informers::of(&Client::in_memory()).cache();
    other.wait_until_ready().await;
    assert!(other.is_empty(), "another client has its own caches");
}

#[tokio::test(start_paused = true)]
async fn queries_by_namespace_selector_and_indexers() {
    let client = Client::in_memory();
    let api: Api<ConfigMap> = Api::all(&client);
    for (ns, name, app) in [
        ("default", "a", "web"),
        ("default", "b", "db"),
        ("kube-system", "c", "web"),
    ] {
        api.create(&cm(ns, name, app)).await.unwrap();
    }
    let cache: Cache<ConfigMap> = Informers::of(&client).cache();
    cache.wait_until_ready().await;
    let web: Selector = "app=web".parse().unwrap();
    assert_eq!(names(&cache.select(None, &web)), ["a", "c"]);
    assert_eq!(names(&cache.select(Some("default"), &web)), ["a"]);
    assert_eq!(names(&cache.list_in("kube-system")), ["c"]);

    cache.add_indexer("app", |c: &ConfigMap| {
        c.metadata.labels.get("app").cloned().into_iter().collect()
    });
    assert_eq!(names(&cache.by_index("app", "web")), ["a", "c"]);
    assert_eq!(cache.index_values("app"), ["db", "web"]);
    let mut rx = cache.subscribe();
    for _ in 0..3 {
        next(&mut rx).await;
    }
    let in_default: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut moved = (*in_default.get("b").await.unwrap()).clone();
    moved.metadata.labels.insert("app".into(), "web".into());
    in_default.replace("b", &moved).await.unwrap();
    next(&mut rx).await;
    assert_eq!(
        names(&cache.by_index("app", "web")),
        ["a", "b", "c"],
        "re-indexed"
    );
    assert!(cache.by_index("app", "db").is_empty());
    assert!(cache.by_index("no-such-index", "x").is_empty());
}

#[tokio::test(start_paused = true)]
async fn built_in_indexes_by_owner_and_node() {
    let client = Client::in_memory();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&pod("p1", Some("n1"), Some("uid-1")))
        .await
        .unwrap();
    pods.create(&pod("p2", Some("n2"), Some("uid-1")))
        .await
        .unwrap();
    pods.create(&pod("p3", None, None)).await.unwrap();
    let cache: Cache<Pod> = Informers::of(&client).cache();
    cache.wait_until_ready().await;
    assert_eq!(
        names(&cache.by_index(BY_CONTROLLER_UID, "uid-1")),
        ["p1", "p2"]
    );
    assert_eq!(names(&cache.by_index(BY_NODE_NAME, "n2")), ["p2"]);
    assert_eq!(
        cache.index_values(BY_NODE_NAME),
        ["n1", "n2"],
        "unscheduled pods are not indexed"
    );
    let rs: Cache<ReplicaSet> = Informers::of(&client).cache();
    rs.wait_until_ready().await;
    assert!(rs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_expired_watch_re_lists_and_reports_what_it_missed() {
    let store = MemoryStore::with_config(MemoryStoreConfig {
        history: 1_000,
        watcher_buffer: 4,
    });
    let client = Client::new(store);
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    api.create(&cm("default", "doomed", "x")).await.unwrap();
    let cache: Cache<ConfigMap> = Informers::of(&client).cache();
    cache.wait_until_ready().await;
    let mut rx = cache.subscribe();
    next(&mut rx).await;
    // The reflector does not run while this task writes: its watch overflows.
    api.delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    for i in 0..20 {
        api.create(&cm("default", &format!("n{i}"), "x"))
            .await
            .unwrap();
    }
    let mut deleted = Vec::new();
    let mut added = 0;
    while added < 20 || deleted.is_empty() {
        let change = next(&mut rx).await;
        match (&change.old, &change.new) {
            (Some(old), None) => deleted.push(old.metadata.name.clone().unwrap()),
            (None, Some(_)) => added += 1,
            _ => {}
        }
    }
    assert_eq!(
        deleted,
        ["doomed"],
        "the deletion missed by the watch is reported"
    );
    assert_eq!(cache.len(), 20);
    assert!(
        cache
            .get(&ObjectRef::new("doomed").within("default"))
            .is_none()
    );
}
