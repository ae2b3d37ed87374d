//! The client beyond the conformance suite: admission hooks, custom and dynamic kinds,
//! manifests applied, the list+watch `watcher`, and watchers that fall behind.

use futures::StreamExt;
use keel_core::api::{ConfigMap, Pod};
use keel_core::client::watcher::{self, Event};
use keel_core::client::{Api, Client, DeleteParams, ListParams, Operation, WatchEvent, admission};
use keel_core::manifest::KindInfo;
use keel_core::meta::ObjectMeta;
use keel_core::store::{MemoryStore, MemoryStoreConfig};
use keel_core::{Error, resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta::named(name),
        ..ConfigMap::default()
    }
}

#[tokio::test]
async fn admission_hooks_mutate_then_validate_and_rejections_store_nothing() {
    let client = Client::builder(MemoryStore::new())
        .mutating(admission::mutate::<ConfigMap, _>(|op, c| {
            if op == Operation::Create {
                c.metadata.labels.insert("stamped".into(), "yes".into());
            }
            Ok(())
        }))
        .validating(admission::validate::<ConfigMap, _>(|_, c, _old| {
            if c.data.contains_key("password") {
                Err(admission::deny(
                    c,
                    "configmaps",
                    "passwords belong in Secrets",
                ))
            } else {
                Ok(())
            }
        }))
        .build();
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let made = api.create(&cm("a")).await.unwrap();
    assert_eq!(made.metadata.labels["stamped"], "yes");
    let mut bad = cm("b");
    bad.data.insert("password".into(), "hunter2".into());
    let err = api.create(&bad).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "configmaps \"default/b\" is forbidden: passwords belong in Secrets"
    );
    assert!(api.get_opt("b").await.unwrap().is_none());
    let mut edit = (*made).clone();
    edit.data.insert("password".into(), "x".into());
    assert!(matches!(
        api.replace("a", &edit).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        api.get("a").await.unwrap(),
        made,
        "a rejected update leaves the object"
    );
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
/// What to back up when.
pub struct BackupSpec {
    /// The schedule.
    #[serde(default)]
    pub schedule: String,
    /// Copies kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
/// What ran.
pub struct BackupStatus {
    /// The last run.
    #[serde(default)]
    pub last: Option<String>,
}

resource! {
    /// A user's kind.
    #[resource(api_version = "ops.example.com/v1", kind = "Backup", plural = "backups", namespaced = true)]
    pub struct Backup {
        /// Desired.
        pub spec: BackupSpec,
        /// Observed.
        pub status: BackupStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            self.spec.keep.get_or_insert(7);
        }
        fn validate_fields(&self) -> Vec<keel_core::validation::FieldError> {
            if self.spec.schedule.is_empty() {
                vec![keel_core::validation::FieldError::required(keel_core::validation::FieldPath::new("spec").child("schedule"), "")]
            } else {
                Vec::new()
            }
        }
    }
}

#[tokio::test]
async fn typed_custom_kinds_get_the_whole_machinery() {
    let client = Client::in_memory();
    let api: Api<Backup> = Api::namespaced(&client, "default");
    let mut watch = Box::pin(api.watch(&ListParams::default(), "").await.unwrap());
    let b = Backup {
        metadata: ObjectMeta::named("db"),
        spec: BackupSpec {
            schedule: "@daily".into(),
            keep: None,
        },
        status: None,
    };
    let made = api.create(&b).await.unwrap();
    assert_eq!(made.spec.keep, Some(7), "defaults");
    let mut bad = b.clone();
    bad.metadata.name = Some("other".into());
    bad.spec.schedule.clear();
    assert!(matches!(api.create(&bad).await, Err(Error::Invalid { .. })));
    let mut st = (*made).clone();
    st.status = Some(BackupStatus {
        last: Some("now".into()),
    });
    api.replace_status("db", &st).await.unwrap();
    assert!(matches!(watch.next().await, Some(Ok(WatchEvent::Added(_)))));
    assert!(
        matches!(watch.next().await, Some(Ok(WatchEvent::Modified(b))) if b.status.as_ref().and_then(|s| s.last.as_deref()) == Some("now"))
    );
    let yaml = "apiVersion: ops.example.com/v1\nkind: Backup\nmetadata: {name: logs}\nspec: {schedule: '@hourly'}\n";
    client.apply_yaml(yaml).await.unwrap();
    assert_eq!(
        api.get("logs").await.unwrap().spec.keep,
        Some(7),
        "manifests of typed custom kinds decode as the type"
    );
}

#[tokio::test]
async fn dynamic_kinds_are_checked_against_their_schema() {
    let client = Client::in_memory();
    let info = KindInfo::untyped("stable.example.com/v1", "CronTab", "crontabs", true);
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["cronSpec"],
        "properties": {"cronSpec": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}}}}});
    client.register_dynamic(&info, Some(schema));
    let yaml = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec: {cronSpec: '0 3 * * *', replicas: 2}\n";
    let applied = client.apply_yaml(yaml).await.unwrap();
    assert_eq!(applied[0].meta().namespace.as_deref(), Some("default"));
    let tabs = client.dynamic("crontabs", Some("default")).unwrap();
    assert_eq!(tabs.list(&ListParams::default()).await.unwrap().len(), 1);
    let err = tabs
        .create(json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "bad"}, "spec": {"replicas": 0}}))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("spec.cronSpec: Required value") && text.contains("spec.replicas"),
        "{text}"
    );
    assert!(
        client
            .dynamic("Nope", None)
            .unwrap_err()
            .to_string()
            .contains("known kinds: ")
    );
    assert!(
        tabs.delete("nightly", &DeleteParams::default())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn apply_creates_then_updates() {
    let client = Client::in_memory();
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/manifests/web.yaml"
    ))
    .unwrap();
    let first = client.apply_yaml(&yaml).await.unwrap();
    let second = client.apply_yaml(&yaml).await.unwrap();
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            a.meta().resource_version,
            b.meta().resource_version,
            "re-applying the same manifest changes nothing"
        );
    }
    let changed = yaml.replacen("replicas: 3", "replicas: 5", 1);
    let third = client.apply_yaml(&changed).await.unwrap();
    assert_eq!(third[0].meta().generation, Some(2));
}

#[tokio::test(start_paused = true)]
async fn watcher_lists_then_watches_and_relists_after_expiry() {
    let store = MemoryStore::with_config(MemoryStoreConfig {
        history: 2,
        watcher_buffer: 3,
    });
    let client = Client::new(store);
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    api.create(&cm("a")).await.unwrap();
    let mut events = Box::pin(watcher::watcher(api.clone(), ListParams::default()));
    assert!(matches!(events.next().await, Some(Ok(Event::Init))));
    assert!(
        matches!(events.next().await, Some(Ok(Event::InitApply(c))) if c.metadata.name.as_deref() == Some("a"))
    );
    assert!(matches!(events.next().await, Some(Ok(Event::InitDone))));
    api.create(&cm("b")).await.unwrap();
    assert!(
        matches!(events.next().await, Some(Ok(Event::Apply(c))) if c.metadata.name.as_deref() == Some("b"))
    );
    // Fall behind: more changes than the watcher's buffer while it is not polled.
    for i in 0..10 {
        api.create(&cm(&format!("c{i}"))).await.unwrap();
    }
    assert!(
        matches!(events.next().await, Some(Ok(Event::Init))),
        "an overflowing watcher re-lists"
    );
    let mut seen = 0;
    loop {
        match events.next().await {
            Some(Ok(Event::InitApply(_))) => seen += 1,
            Some(Ok(Event::InitDone)) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, 12, "the re-list has the whole state");
}

#[tokio::test]
async fn slow_watchers_do_not_block_writers_or_other_watchers() {
    let store = MemoryStore::with_config(MemoryStoreConfig {
        history: 100,
        watcher_buffer: 5,
    });
    let client = Client::new(store);
    let api: Api<Pod> = Api::namespaced(&client, "default");
    let mut slow = Box::pin(api.watch(&ListParams::default(), "").await.unwrap());
    let mut fast = Box::pin(api.watch(&ListParams::default(), "").await.unwrap());
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    )
    .unwrap();
    for i in 0..20 {
        let mut p = pod.clone();
        p.metadata.name = Some(format!("p{i}"));
        api.create(&p).await.unwrap();
        assert!(matches!(fast.next().await, Some(Ok(WatchEvent::Added(_)))));
    }
    let mut delivered = 0;
    let err = loop {
        match slow.next().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(e)) => break e,
            None => panic!("ended without an error"),
        }
    };
    assert!(err.is_expired(), "{err}");
    assert!(
        delivered <= 5,
        "never more than its buffer, then told: {delivered}"
    );
    assert!(slow.next().await.is_none());
}

#[tokio::test]
async fn jobs_get_a_generated_selector() {
    let client = Client::in_memory();
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/manifests/job.yaml"
    ))
    .unwrap();
    client.apply_yaml(&yaml).await.unwrap();
    let jobs: Api<keel_core::api::Job> = Api::namespaced(&client, "default");
    let job = jobs.get("pi").await.unwrap();
    let uid = job.metadata.uid.clone().unwrap();
    let selector = job.spec.selector.as_ref().unwrap();
    assert_eq!(
        selector.match_labels["batch.kubernetes.io/controller-uid"],
        uid
    );
    assert_eq!(job.spec.template.metadata.labels["job-name"], "pi");
    assert!(selector.matches(&job.spec.template.metadata.labels));
}

#[tokio::test]
async fn controller_revision_data_is_immutable_but_its_revision_may_change() {
    use keel_core::api::ControllerRevision;
    let client = Client::in_memory();
    let revs: Api<ControllerRevision> = Api::namespaced(&client, "default");
    let mut rev = ControllerRevision {
        metadata: ObjectMeta::named("web-abc"),
        data: json!({"spec": {"template": {"$patch": "replace"}}}),
        revision: 1,
    };
    let missing = ControllerRevision {
        data: serde_json::Value::Null,
        ..rev.clone()
    };
    let err = revs.create(&missing).await.unwrap_err();
    assert!(err.to_string().contains("data"), "{err}");
    let created = revs.create(&rev).await.unwrap();
    rev = (*created).clone();
    rev.revision = 4;
    let moved = revs.replace("web-abc", &rev).await.unwrap();
    assert_eq!(moved.revision, 4);
    let mut changed = (*moved).clone();
    changed.data = json!({"spec": {}});
    let err = revs.replace("web-abc", &changed).await.unwrap_err();
    assert!(
        err.to_string().contains("data") && err.to_string().contains("immutable"),
        "{err}"
    );
    assert_eq!(revs.get("web-abc").await.unwrap().data, created.data);
}

#[tokio::test]
async fn clones_of_a_client_share_one_value_per_type() {
    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicUsize);
    let client = Client::in_memory();
    let clone = client.clone();
    client
        .shared::<Counter>()
        .0
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        clone
            .shared::<Counter>()
            .0
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let other = Client::in_memory();
    assert_eq!(
        other
            .shared::<Counter>()
            .0
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "another client has its own"
    );
    let pods: Api<Pod> = Api::namespaced(&clone, "default");
    assert!(std::sync::Arc::ptr_eq(
        &pods.client().shared::<Counter>(),
        &client.shared::<Counter>()
    ));
}

#[tokio::test]
async fn loopback_endpoints_are_rejected_unless_the_cluster_runs_local_processes() {
    let slice: keel_core::api::EndpointSlice = serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "s", "namespace": "default"},
        "addressType": "IPv4", "endpoints": [{"addresses": ["127.1.0.2"]}], "ports": [{"port": 80}]
    }))
    .unwrap();
    let strict = Client::in_memory();
    let err = Api::<keel_core::api::EndpointSlice>::namespaced(&strict, "default")
        .create(&slice)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("may not be in the loopback range"),
        "{err}"
    );
    let local = Client::builder(MemoryStore::new())
        .allow_loopback_endpoints(true)
        .build();
    Api::<keel_core::api::EndpointSlice>::namespaced(&local, "default")
        .create(&slice)
        .await
        .unwrap();
    let mut bad = slice.clone();
    bad.endpoints[0].addresses = vec!["not-an-ip".into()];
    bad.metadata.name = Some("t".into());
    assert!(
        Api::<keel_core::api::EndpointSlice>::namespaced(&local, "default")
            .create(&bad)
            .await
            .is_err(),
        "other rules still hold"
    );
}
