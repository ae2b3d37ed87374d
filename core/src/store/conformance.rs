//! The store conformance suite: every rule of the [`Store`](super::Store) contract and
//! of the client semantics above it, as async checks that panic on a violation.
//!
//! A backend runs it from a test (feature `conformance`):
//!
//! ```ignore
//! #[tokio::test(start_paused = true)]
//! async fn memory_store_conforms() {
//!     keel_core::store::conformance::run(MemoryStore::new, |h| MemoryStore::with_config(..)).await;
//! }
//! ```
//!
//! `make` gives a fresh, empty store; `make_small` a fresh store that keeps only `n`
//! changes of history (for the `Expired` rules). Run it under a paused `tokio` clock.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use super::Store;
use crate::api::{ConfigMap, Namespace, Node, Pod, PodStatus};
use crate::client::{
    Api, Client, DeleteParams, Deleted, ListParams, Patch, Preconditions, WatchEvent,
};
use crate::error::Error;
use crate::meta::ObjectMeta;

/// Runs every check, each on a fresh store.
pub async fn run<S: Store, F: Fn() -> S, G: Fn(usize) -> S>(make: F, make_small: G) {
    create_sets_server_fields(Client::new(make())).await;
    versions_increase_across_kinds(Client::new(make())).await;
    generate_name_makes_unique_names(Client::new(make())).await;
    bad_creates_are_errors(Client::new(make())).await;
    owned_creates_match_copied_ones(Client::new(make())).await;
    replace_is_compare_and_swap(Client::new(make())).await;
    generation_tracks_spec_only(Client::new(make())).await;
    status_is_a_subresource(Client::new(make())).await;
    selectors_filter_lists(Client::new(make())).await;
    patches_apply(Client::new(make())).await;
    finalizers_hold_deletion(Client::new(make())).await;
    delete_preconditions_and_propagation(Client::new(make())).await;
    pods_terminate_gracefully(Client::new(make())).await;
    namespaces_cascade(Client::new(make())).await;
    watches_deliver_every_change_in_order(Client::new(make())).await;
    watches_filter_with_transitions(Client::new(make())).await;
    watch_versions_are_checked(Client::new(make_small(4))).await;
    bookmarks_follow_silence(Client::new(make())).await;
    bulk_creates(Client::new(make())).await;
}

fn cm(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta::named(name),
        data: data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..ConfigMap::default()
    }
}

fn pod(name: &str, node: Option<&str>) -> Pod {
    let mut p: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .expect("a valid pod");
    p.spec.node_name = node.map(str::to_owned);
    p
}

fn rv(meta: &ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a numeric resourceVersion")
}

/// uid, resourceVersion, generation, creationTimestamp set; reads return what was made.
pub async fn create_sets_server_fields(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut input = cm("a", &[("k", "v")]);
    input.metadata.uid = Some("client-chosen".into());
    input.metadata.resource_version = Some("999".into());
    let made = api.create(&input).await.expect("create");
    let m = &made.metadata;
    assert_ne!(
        m.uid.as_deref(),
        Some("client-chosen"),
        "the server sets uid"
    );
    assert_eq!(m.uid.as_deref().map(str::len), Some(36));
    assert!(rv(m) > 0 && rv(m) != 999);
    assert_eq!(m.generation, Some(1));
    assert!(m.creation_timestamp.is_some());
    assert_eq!(m.namespace.as_deref(), Some("default"));
    assert_eq!(api.get("a").await.expect("get"), made);
    assert_eq!(api.get_opt("missing").await.expect("get_opt"), None);
    api.create(&cm("b", &[])).await.expect("create b");
    let list = api.list(&ListParams::default()).await.expect("list");
    let names: Vec<_> = list
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        list.resource_version().parse::<u64>().expect("numeric") >= rv(&list.items[1].metadata)
    );
    let nodes: Api<Node> = Api::all(&client);
    let node = nodes
        .create(&Node {
            metadata: ObjectMeta::named("n1"),
            ..Node::default()
        })
        .await
        .expect("node");
    assert_eq!(
        node.metadata.namespace, None,
        "cluster-scoped objects have no namespace"
    );
}

/// One counter for every kind, strictly increasing.
pub async fn versions_increase_across_kinds(client: Client) {
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut last = 0;
    for i in 0..5 {
        let a = cms.create(&cm(&format!("c{i}"), &[])).await.expect("cm");
        let b = pods
            .create(&pod(&format!("p{i}"), None))
            .await
            .expect("pod");
        assert!(rv(&a.metadata) > last && rv(&b.metadata) > rv(&a.metadata));
        last = rv(&b.metadata);
    }
}

/// `generateName` gives distinct valid names.
pub async fn generate_name_makes_unique_names(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let mut c = cm("", &[]);
        c.metadata.name = None;
        c.metadata.generate_name = Some("web-".into());
        let made = api.create(&c).await.expect("create");
        let name = made.metadata.name.clone().expect("named");
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert!(names.insert(name));
    }
}

/// Duplicates, bad names, bad fields, missing namespaces and mismatched namespaces fail
/// and store nothing.
pub async fn bad_creates_are_errors(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    api.create(&cm("a", &[])).await.expect("create");
    let err = api.create(&cm("a", &[])).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert_eq!(err.to_string(), "configmaps \"default/a\" already exists");
    let err = api.create(&cm("Not_A_Name", &[])).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "metadata.name"),
        "{err}"
    );
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut p = pod("p", None);
    p.spec.containers[0].image = None;
    let err = pods.create(&p).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "spec.containers[0].image"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("Pod \"default/p\" is invalid: spec.containers[0].image: Required value"),
        "{err}"
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(&client, "nowhere");
    let err = elsewhere.create(&cm("x", &[])).await.unwrap_err();
    assert_eq!(err.to_string(), "namespaces \"nowhere\" not found");
    let mut wrong = cm("y", &[]);
    wrong.metadata.namespace = Some("kube-system".into());
    assert!(matches!(
        api.create(&wrong).await,
        Err(Error::BadRequest(_))
    ));
    assert_eq!(
        api.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1,
        "nothing half-written"
    );
    assert!(api.get("x").await.unwrap_err().is_not_found());
}

/// `create_owned` (the object moved in) stores, names, places and rejects exactly as
/// `create` (the object copied): named and generated names, cluster-scoped kinds,
/// duplicates, bad names, missing and terminating namespaces.
pub async fn owned_creates_match_copied_ones(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let made = api
        .create_owned(cm("a", &[("k", "v")]))
        .await
        .expect("create");
    assert_eq!(made.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(made.metadata.generation, Some(1));
    assert_eq!(made.metadata.uid.as_deref().map(str::len), Some(36));
    assert_eq!(api.get("a").await.expect("get"), made);
    let copied = api.create(&cm("b", &[("k", "v")])).await.expect("create b");
    assert_eq!(copied.data, made.data);
    assert!(rv(&copied.metadata) > rv(&made.metadata));

    let mut generated = cm("", &[]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let g = api.create_owned(generated).await.expect("generated");
    let name = g.metadata.name.clone().expect("named");
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    let nodes: Api<Node> = Api::all(&client);
    let node = nodes
        .create_owned(Node {
            metadata: ObjectMeta::named("default"),
            ..Node::default()
        })
        .await
        .expect("a node may share a namespace's name");
    assert_eq!(node.metadata.namespace, None);
    assert_eq!(nodes.get("default").await.expect("node"), node);
    let nss: Api<Namespace> = Api::all(&client);
    assert!(nss.get("default").await.is_ok(), "the namespace is apart");

    let err = api.create_owned(cm("a", &[])).await.unwrap_err();
    assert_eq!(err.to_string(), "configmaps \"default/a\" already exists");
    let err = api.create_owned(cm("Not_A_Name", &[])).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "metadata.name"),
        "{err}"
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(&client, "nowhere");
    let err = elsewhere.create_owned(cm("x", &[])).await.unwrap_err();
    assert_eq!(err.to_string(), "namespaces \"nowhere\" not found");
    nss.create_owned(Namespace {
        metadata: ObjectMeta::named("closing"),
        ..Namespace::default()
    })
    .await
    .expect("ns");
    let closing: Api<ConfigMap> = Api::namespaced(&client, "closing");
    Api::<Pod>::namespaced(&client, "closing")
        .create_owned(pod("bound", Some("n1")))
        .await
        .expect("a bound pod holds the namespace while it terminates");
    nss.delete("closing", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(matches!(
        closing.create_owned(cm("late", &[])).await,
        Err(Error::Forbidden { .. })
    ));
    let names: Vec<_> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(names, ["a", "b", name.as_str()], "nothing half-written");
}

/// A stale version conflicts; an empty one overwrites.
pub async fn replace_is_compare_and_swap(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let v1 = api.create(&cm("a", &[("n", "1")])).await.expect("create");
    let mut edit = (*v1).clone();
    edit.data.insert("n".into(), "2".into());
    let v2 = api.replace("a", &edit).await.expect("replace");
    assert!(rv(&v2.metadata) > rv(&v1.metadata));
    assert_eq!(v2.metadata.uid, v1.metadata.uid);
    assert_eq!(
        v2.metadata.creation_timestamp,
        v1.metadata.creation_timestamp
    );
    let err = api.replace("a", &edit).await.unwrap_err();
    assert!(err.is_conflict(), "a stale version conflicts: {err}");
    assert!(
        err.to_string().contains("the object has been modified"),
        "{err}"
    );
    edit.metadata.resource_version = None;
    edit.data.insert("n".into(), "3".into());
    assert_eq!(
        api.replace("a", &edit).await.expect("unconditional").data["n"],
        "3"
    );
    let same = api.get("a").await.expect("get");
    let again = api.replace("a", &same).await.expect("no-op");
    assert_eq!(
        again.metadata.resource_version, same.metadata.resource_version,
        "a no-op writes nothing"
    );
    assert!(
        api.replace("b", &edit).await.is_err(),
        "the name must match"
    );
    let mut ghost = cm("ghost", &[]);
    ghost.metadata.namespace = Some("default".into());
    assert!(
        api.replace("ghost", &ghost)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// `generation` moves with the spec, not with metadata or status.
pub async fn generation_tracks_spec_only(client: Client) {
    let api: Api<Pod> = Api::namespaced(&client, "default");
    let p = api.create(&pod("p", None)).await.expect("create");
    let mut labelled = (*p).clone();
    labelled.metadata.labels.insert("x".into(), "y".into());
    let p2 = api.replace("p", &labelled).await.expect("labels");
    assert_eq!(p2.metadata.generation, Some(1));
    let mut status = (*p2).clone();
    status.status = Some(PodStatus {
        phase: Some("Running".into()),
        ..PodStatus::default()
    });
    let p3 = api.replace_status("p", &status).await.expect("status");
    assert_eq!(p3.metadata.generation, Some(1));
    let mut spec = (*p3).clone();
    spec.spec.containers[0].image = Some("nginx:2".into());
    let p4 = api.replace("p", &spec).await.expect("spec");
    assert_eq!(p4.metadata.generation, Some(2));
}

/// `replace` ignores status; `replace_status` changes only status.
pub async fn status_is_a_subresource(client: Client) {
    let api: Api<Pod> = Api::namespaced(&client, "default");
    let p = api.create(&pod("p", None)).await.expect("create");
    let mut both = (*p).clone();
    both.status = Some(PodStatus {
        phase: Some("Running".into()),
        ..PodStatus::default()
    });
    both.spec.containers[0].image = Some("nginx:2".into());
    let after = api.replace("p", &both).await.expect("replace");
    assert_eq!(after.phase(), "Pending", "replace ignores status");
    assert_eq!(after.spec.containers[0].image.as_deref(), Some("nginx:2"));
    let mut st = (*after).clone();
    st.status = Some(PodStatus {
        phase: Some("Running".into()),
        ..PodStatus::default()
    });
    st.spec.containers[0].image = Some("nginx:3".into());
    st.metadata.labels.insert("ignored".into(), "yes".into());
    let after = api.replace_status("p", &st).await.expect("status");
    assert_eq!(after.phase(), "Running");
    assert_eq!(
        after.spec.containers[0].image.as_deref(),
        Some("nginx:2"),
        "status writes ignore spec"
    );
    assert!(!after.metadata.labels.contains_key("ignored"));
}

/// Label and field selectors, namespaces, and unsupported fields.
pub async fn selectors_filter_lists(client: Client) {
    let ns: Api<Namespace> = Api::all(&client);
    ns.create(&Namespace {
        metadata: ObjectMeta::named("other"),
        ..Namespace::default()
    })
    .await
    .expect("ns");
    let default: Api<Pod> = Api::namespaced(&client, "default");
    let other: Api<Pod> = Api::namespaced(&client, "other");
    default.create(&pod("a", Some("n1"))).await.expect("a");
    let mut b = pod("b", None);
    b.metadata.labels.insert("app".into(), "db".into());
    default.create(&b).await.expect("b");
    other.create(&pod("c", Some("n1"))).await.expect("c");
    let all: Api<Pod> = Api::all(&client);
    let names = |l: crate::client::ObjectList<Pod>| {
        l.items
            .iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(all.list(&ListParams::default()).await.expect("all")),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(default.list(&ListParams::default()).await.expect("ns")),
        ["a", "b"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().labels("app=web"))
                .await
                .expect("labels")
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().labels("app in (db),!missing"))
                .await
                .expect("set")
        ),
        ["b"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("spec.nodeName=n1"))
                .await
                .expect("node")
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("spec.nodeName="))
                .await
                .expect("unbound")
        ),
        ["b"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("metadata.namespace=other"))
                .await
                .expect("ns")
        ),
        ["c"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("metadata.name!=a,status.phase!=Running"))
                .await
                .expect("neg")
        ),
        ["b", "c"]
    );
    assert!(matches!(
        all.list(&ListParams::default().fields("spec.bogus=1"))
            .await,
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        all.list(&ListParams::default().labels("a in (")).await,
        Err(Error::BadRequest(_))
    ));
}

/// Merge, strategic and JSON patches; bad patches change nothing.
pub async fn patches_apply(client: Client) {
    let api: Api<Pod> = Api::namespaced(&client, "default");
    api.create(&pod("p", None)).await.expect("create");
    let p = api
        .patch(
            "p",
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "front", "app": null}}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        p.metadata.labels,
        BTreeMap::from([("tier".to_owned(), "front".to_owned())])
    );
    let p = api
        .patch("p", &Patch::Strategic(json!({"spec": {"containers": [{"name": "c", "image": "nginx:9"}, {"name": "d", "image": "redis"}]}})))
        .await
        .expect("strategic");
    assert_eq!(p.spec.containers.len(), 2);
    assert_eq!(p.spec.containers[0].image.as_deref(), Some("nginx:9"));
    let p = api
        .patch(
            "p",
            &Patch::Json(json!([{"op": "remove", "path": "/spec/containers/1"}])),
        )
        .await
        .expect("json");
    assert_eq!(p.spec.containers.len(), 1);
    let p = api
        .patch_status("p", &Patch::Merge(json!({"status": {"phase": "Running"}})))
        .await
        .expect("status");
    assert_eq!(p.phase(), "Running");
    let before = api.get("p").await.expect("get");
    for bad in [
        Patch::Merge(json!(["not an object"])),
        Patch::Merge(json!({"spec": {"bogusField": 1}})),
        Patch::Merge(json!({"spec": {"containers": null}})),
        Patch::Json(json!([{"op": "remove", "path": "/nope"}])),
    ] {
        assert!(api.patch("p", &bad).await.is_err(), "{bad:?}");
    }
    let stale = Patch::Merge(json!({"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}}));
    assert!(api.patch("p", &stale).await.unwrap_err().is_conflict());
    assert_eq!(
        api.get("p").await.expect("get"),
        before,
        "failed patches change nothing"
    );
}

/// Finalizers keep a deleted object, with `deletionTimestamp`, until they are removed.
pub async fn finalizers_hold_deletion(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut c = cm("a", &[]);
    c.metadata.finalizers = vec!["example.com/cleanup".into()];
    api.create(&c).await.expect("create");
    let d = api
        .delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(!d.is_gone());
    let held = api.get("a").await.expect("still there");
    assert!(held.metadata.deletion_timestamp.is_some());
    assert_eq!(held.metadata.generation, Some(2));
    let mut more = (*held).clone();
    more.metadata.finalizers.push("example.com/late".into());
    assert!(
        matches!(api.replace("a", &more).await, Err(Error::Forbidden { .. })),
        "no new finalizers while deleting"
    );
    let again = api
        .delete("a", &DeleteParams::default())
        .await
        .expect("delete again");
    assert!(!again.is_gone());
    let mut done = (*held).clone();
    done.metadata.finalizers.clear();
    api.replace("a", &done).await.expect("remove finalizer");
    assert!(
        api.get("a").await.unwrap_err().is_not_found(),
        "gone once its finalizers are"
    );
    api.create(&cm("b", &[])).await.expect("b");
    assert!(
        api.delete("b", &DeleteParams::default())
            .await
            .expect("delete b")
            .is_gone()
    );
    assert!(
        api.delete("b", &DeleteParams::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// uid / resourceVersion preconditions; foreground and orphan policies add finalizers.
pub async fn delete_preconditions_and_propagation(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let a = api.create(&cm("a", &[])).await.expect("create");
    let wrong_uid = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("nope".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    assert!(api.delete("a", &wrong_uid).await.unwrap_err().is_conflict());
    let wrong_rv = DeleteParams {
        preconditions: Some(Preconditions {
            uid: None,
            resource_version: Some("1".into()),
        }),
        ..DeleteParams::default()
    };
    assert!(api.delete("a", &wrong_rv).await.unwrap_err().is_conflict());
    let right = DeleteParams {
        preconditions: Some(Preconditions {
            uid: a.metadata.uid.clone(),
            resource_version: a.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    assert!(api.delete("a", &right).await.expect("delete").is_gone());
    api.create(&cm("f", &[])).await.expect("f");
    let f = api
        .delete("f", &DeleteParams::foreground())
        .await
        .expect("foreground");
    assert_eq!(f.object().metadata.finalizers, ["foregroundDeletion"]);
    api.create(&cm("o", &[])).await.expect("o");
    let o = api
        .delete("o", &DeleteParams::orphan())
        .await
        .expect("orphan");
    assert_eq!(o.object().metadata.finalizers, ["orphan"]);
}

/// Bound pods get their grace period; unbound ones and `grace 0` go at once.
pub async fn pods_terminate_gracefully(client: Client) {
    let api: Api<Pod> = Api::namespaced(&client, "default");
    api.create(&pod("bound", Some("n1"))).await.expect("bound");
    api.create(&pod("unbound", None)).await.expect("unbound");
    let start = client.clock().now();
    let d = api
        .delete("bound", &DeleteParams::default())
        .await
        .expect("delete");
    let Deleted::Terminating(p) = d else {
        panic!("a bound pod terminates gracefully")
    };
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(30));
    assert_eq!(
        p.metadata
            .deletion_timestamp
            .as_ref()
            .map(|t| t.duration_since(&start)),
        Some(Duration::from_secs(30))
    );
    let shorter = DeleteParams {
        grace_period_seconds: Some(5),
        ..DeleteParams::default()
    };
    let d = api.delete("bound", &shorter).await.expect("shorten");
    assert_eq!(d.object().metadata.deletion_grace_period_seconds, Some(5));
    assert!(
        api.delete("bound", &DeleteParams::immediate())
            .await
            .expect("force")
            .is_gone()
    );
    assert!(
        api.delete("unbound", &DeleteParams::default())
            .await
            .expect("unbound")
            .is_gone()
    );
}

/// Deleting a namespace deletes what is in it, then the namespace; a terminating
/// namespace takes no new objects.
pub async fn namespaces_cascade(client: Client) {
    let nss: Api<Namespace> = Api::all(&client);
    nss.create(&Namespace {
        metadata: ObjectMeta::named("team"),
        ..Namespace::default()
    })
    .await
    .expect("ns");
    let cms: Api<ConfigMap> = Api::namespaced(&client, "team");
    let pods: Api<Pod> = Api::namespaced(&client, "team");
    cms.create(&cm("a", &[])).await.expect("a");
    pods.create(&pod("p", Some("n1"))).await.expect("p");
    assert!(
        !nss.delete("team", &DeleteParams::default())
            .await
            .expect("delete")
            .is_gone()
    );
    let ns = nss.get("team").await.expect("terminating");
    assert_eq!(
        ns.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Terminating")
    );
    assert!(cms.get("a").await.unwrap_err().is_not_found());
    assert!(matches!(
        cms.create(&cm("b", &[])).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(
        pods.get("p")
            .await
            .expect("terminating pod")
            .metadata
            .deletion_timestamp
            .is_some()
    );
    pods.delete("p", &DeleteParams::immediate())
        .await
        .expect("node agent confirms");
    assert!(
        nss.get("team").await.unwrap_err().is_not_found(),
        "the empty namespace goes"
    );
    for name in crate::client::DEFAULT_NAMESPACES {
        assert!(nss.get(name).await.is_ok(), "{name} exists from the start");
    }
    // A namespace whose content goes at once goes with the same delete.
    nss.create(&Namespace {
        metadata: ObjectMeta::named("brief"),
        ..Namespace::default()
    })
    .await
    .expect("ns");
    Api::<ConfigMap>::namespaced(&client, "brief")
        .create(&cm("a", &[]))
        .await
        .expect("a");
    let deleted = nss
        .delete("brief", &DeleteParams::default())
        .await
        .expect("deleting a namespace is not an error");
    assert!(deleted.is_gone(), "nothing held it");
    assert!(nss.get("brief").await.unwrap_err().is_not_found());
}

async fn collect<K: crate::Resource>(
    stream: &mut (impl futures::Stream<Item = Result<WatchEvent<K>, Error>> + Unpin),
    n: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event in time");
        let label = match event.expect("stream open").expect("no error") {
            WatchEvent::Added(o) => format!("Added {}", o.meta().name.clone().unwrap_or_default()),
            WatchEvent::Modified(o) => {
                format!("Modified {}", o.meta().name.clone().unwrap_or_default())
            }
            WatchEvent::Deleted(o) => {
                format!("Deleted {}", o.meta().name.clone().unwrap_or_default())
            }
            WatchEvent::Bookmark { .. } => continue,
        };
        out.push(label);
    }
    out
}

/// From a version: every later change, in order, once; `""`: the state first.
pub async fn watches_deliver_every_change_in_order(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let a = api.create(&cm("a", &[])).await.expect("a");
    let from = a.metadata.resource_version.clone().expect("rv");
    let mut from_a = Box::pin(
        api.watch(&ListParams::default(), &from)
            .await
            .expect("watch"),
    );
    let mut from_start = Box::pin(api.watch(&ListParams::default(), "").await.expect("watch"));
    api.create(&cm("b", &[])).await.expect("b");
    let mut edit = (*api.get("a").await.expect("a")).clone();
    edit.data.insert("k".into(), "v".into());
    api.replace("a", &edit).await.expect("edit");
    api.delete("b", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(
        collect(&mut from_a, 3).await,
        ["Added b", "Modified a", "Deleted b"]
    );
    assert_eq!(
        collect(&mut from_start, 4).await,
        ["Added a", "Added b", "Modified a", "Deleted b"]
    );
    let mut later = Box::pin(
        api.watch(&ListParams::default(), &from)
            .await
            .expect("replay"),
    );
    assert_eq!(
        collect(&mut later, 3).await,
        ["Added b", "Modified a", "Deleted b"],
        "history replays the same"
    );
}

/// Server-side filters, with objects moving in and out of them.
pub async fn watches_filter_with_transitions(client: Client) {
    let pods: Api<Pod> = Api::all(&client);
    let mine = ListParams::default().fields("spec.nodeName=n1");
    let mut node = Box::pin(pods.watch(&mine, "").await.expect("watch"));
    let mut web = Box::pin(
        pods.watch(&ListParams::default().labels("app=web"), "")
            .await
            .expect("watch"),
    );
    let default: Api<Pod> = Api::namespaced(&client, "default");
    default.create(&pod("a", None)).await.expect("a");
    let mut bound = (*default.get("a").await.expect("a")).clone();
    bound.spec.node_name = Some("n1".into());
    default.replace("a", &bound).await.expect("bind");
    let mut relabelled = (*default.get("a").await.expect("a")).clone();
    relabelled.metadata.labels.insert("app".into(), "db".into());
    default.replace("a", &relabelled).await.expect("relabel");
    default.create(&pod("b", Some("n2"))).await.expect("b");
    default
        .delete("a", &DeleteParams::immediate())
        .await
        .expect("delete");
    assert_eq!(
        collect(&mut node, 3).await,
        ["Added a", "Modified a", "Deleted a"]
    );
    assert_eq!(
        collect(&mut web, 4).await,
        ["Added a", "Modified a", "Deleted a", "Added b"]
    );
}

/// Too old: `Expired`; in the future: `TooLargeResourceVersion`; not a number: bad.
pub async fn watch_versions_are_checked(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let first = api.create(&cm("first", &[])).await.expect("first");
    for i in 0..10 {
        api.create(&cm(&format!("c{i}"), &[]))
            .await
            .expect("create");
    }
    let old = first.metadata.resource_version.clone().expect("rv");
    assert!(matches!(
        api.watch(&ListParams::default(), &old).await,
        Err(Error::Expired { .. })
    ));
    assert!(matches!(
        api.watch(&ListParams::default(), "999999").await,
        Err(Error::TooLargeResourceVersion { .. })
    ));
    assert!(matches!(
        api.watch(&ListParams::default(), "abc").await,
        Err(Error::BadRequest(_))
    ));
    let list = api.list(&ListParams::default()).await.expect("list");
    let mut w = Box::pin(
        api.watch(&ListParams::default(), list.resource_version())
            .await
            .expect("from the list"),
    );
    api.create(&cm("next", &[])).await.expect("next");
    assert_eq!(collect(&mut w, 1).await, ["Added next"]);
}

/// A bookmarking watch that sees nothing gets a bookmark at the current version.
pub async fn bookmarks_follow_silence(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let lp = ListParams::default().labels("app=none").bookmarks();
    let mut w = Box::pin(api.watch(&lp, "").await.expect("watch"));
    let made = api.create(&cm("a", &[])).await.expect("a");
    let event = tokio::time::timeout(Duration::from_secs(120), w.next())
        .await
        .expect("a bookmark in time");
    match event.expect("open").expect("ok") {
        WatchEvent::Bookmark { resource_version } => {
            assert_eq!(Some(resource_version), made.metadata.resource_version);
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

/// Many creates in one call, each judged alone.
pub async fn bulk_creates(client: Client) {
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut batch: Vec<ConfigMap> = (0..100).map(|i| cm(&format!("c{i}"), &[])).collect();
    batch.push(cm("c0", &[]));
    batch.push(cm("Bad_Name", &[]));
    let results = api.create_many(&batch).await.expect("bulk");
    assert_eq!(results.len(), 102);
    assert!(results[..100].iter().all(Result::is_ok));
    assert!(results[100].as_ref().unwrap_err().is_already_exists());
    assert!(matches!(results[101], Err(Error::Invalid { .. })));
    assert_eq!(
        api.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        100
    );
}
