//! The Controller against the in-memory store, in virtual time: what queues a key
//! (own changes, owned children, watched objects, predicates), requeue, error backoff,
//! panics, exclusivity per key, leader gating, metrics and shutdown.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_controllers::runtime::{
    Action, Config, Controller, LeaderElector, LeaseConfig, Metrics, ObjectRef, predicate,
};
use keel_core::api::{ConfigMap, Secret};
use keel_core::client::{Api, Client};
use keel_core::meta::{ObjectMeta, OwnerReference};
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

/// What the reconciles saw: (key, when) in order.
struct Log {
    start: Instant,
    calls: Mutex<Vec<(String, Duration)>>,
    in_flight: Mutex<HashSet<String>>,
    overlaps: Mutex<usize>,
    changed: Notify,
}

impl Log {
    fn new() -> Arc<Log> {
        Arc::new(Log {
            start: Instant::now(),
            calls: Mutex::new(Vec::new()),
            in_flight: Mutex::new(HashSet::new()),
            overlaps: Mutex::new(0),
            changed: Notify::new(),
        })
    }

    fn record(&self, cm: &ConfigMap) -> usize {
        let key = cm.metadata.name.clone().unwrap();
        let mut calls = self.calls.lock().unwrap();
        calls.push((key.clone(), self.start.elapsed()));
        let n = calls.iter().filter(|(k, _)| *k == key).count();
        drop(calls);
        self.changed.notify_waiters();
        n
    }

    fn count(&self, key: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }

    fn times(&self, key: &str) -> Vec<Duration> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, t)| *t)
            .collect()
    }

    /// The time between consecutive reconciles of `key`.
    fn gaps(&self, key: &str) -> Vec<Duration> {
        self.times(key)
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect()
    }

    /// Waits (in virtual time) until `key` was reconciled `n` times.
    async fn wait_for(&self, key: &str, n: usize) {
        loop {
            let changed = self.changed.notified();
            if self.count(key) >= n {
                return;
            }
            changed.await;
        }
    }
}

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta::namespaced("default", name),
        ..ConfigMap::default()
    }
}

fn owned_secret(name: &str, owner: &ConfigMap) -> Secret {
    let mut s = Secret {
        metadata: ObjectMeta::namespaced("default", name),
        ..Secret::default()
    };
    s.metadata.owner_references.push(OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: owner.metadata.name.clone().unwrap(),
        uid: owner.metadata.uid.clone().unwrap(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    });
    s
}

fn never_fails(_: Arc<ConfigMap>, _: &Failed, _: Arc<Log>) -> Action {
    Action::requeue(Duration::ZERO)
}

async fn counting(cm: Arc<ConfigMap>, log: Arc<Log>) -> Result<Action, Failed> {
    log.record(&cm);
    Ok(Action::await_change())
}

#[tokio::test(start_paused = true)]
async fn own_changes_and_owned_children_queue_the_owner() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    let secrets: Api<Secret> = Api::namespaced(&client, "default");
    let owner = cms.create(&cm("owner")).await.unwrap();
    let log = Log::new();
    let ctl = Controller::new(cms.clone(), Config::default()).owns::<Secret>();
    tokio::spawn(ctl.run(counting, never_fails, log.clone()));
    log.wait_for("owner", 1).await;

    secrets
        .create(&owned_secret("child", &owner))
        .await
        .unwrap();
    log.wait_for("owner", 2).await;
    secrets
        .delete("child", &keel_core::client::DeleteParams::default())
        .await
        .unwrap();
    log.wait_for("owner", 3).await;

    // A secret owned by something else, or by nothing, queues nothing.
    let mut stranger = owned_secret("stranger", &owner);
    stranger.metadata.owner_references[0].kind = "Deployment".into();
    stranger.metadata.owner_references[0].api_version = "apps/v1".into();
    secrets.create(&stranger).await.unwrap();
    cms.create(&cm("other")).await.unwrap();
    log.wait_for("other", 1).await;
    assert_eq!(log.count("owner"), 3);
}

#[tokio::test(start_paused = true)]
async fn watches_map_other_kinds_to_keys() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("target")).await.unwrap();
    let log = Log::new();
    let ctl = Controller::new(cms.clone(), Config::default()).watches::<Secret, _>(|s| {
        s.metadata
            .labels
            .get("for")
            .map(|name| ObjectRef::new(name.clone()).within("default"))
    });
    tokio::spawn(ctl.run(counting, never_fails, log.clone()));
    log.wait_for("target", 1).await;
    let secret = Secret {
        metadata: ObjectMeta::namespaced("default", "s").with_label("for", "target"),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(&client, "default")
        .create(&secret)
        .await
        .unwrap();
    log.wait_for("target", 2).await;
}

#[tokio::test(start_paused = true)]
async fn requeue_reconciles_again_after_the_delay() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("periodic")).await.unwrap();
    let log = Log::new();
    tokio::spawn(Controller::new(cms, Config::default()).run(
        |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
            log.record(&cm);
            Ok::<_, Failed>(Action::requeue(Duration::from_secs(30)))
        },
        never_fails,
        log.clone(),
    ));
    log.wait_for("periodic", 3).await;
    assert_eq!(log.gaps("periodic"), [Duration::from_secs(30); 2]);
}

#[tokio::test(start_paused = true)]
async fn errors_back_off_exponentially_and_success_resets() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("flaky")).await.unwrap();
    let log = Log::new();
    tokio::spawn(Controller::new(cms, Config::default()).run(
        |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
            match log.record(&cm) {
                1..=4 => Err(Failed("not yet".into())),
                5 => Ok(Action::requeue(Duration::from_secs(1))),
                _ => Err(Failed("again".into())),
            }
        },
        never_fails,
        log.clone(),
    ));
    log.wait_for("flaky", 7).await;
    assert_eq!(
        log.gaps("flaky"),
        [5, 10, 20, 40, 1000, 5].map(Duration::from_millis),
        "5 ms doubling; the success resets the backoff"
    );
}

#[tokio::test(start_paused = true)]
async fn the_error_policy_can_wait_longer_or_stop_retrying() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("slow")).await.unwrap();
    cms.create(&cm("give-up")).await.unwrap();
    let log = Log::new();
    tokio::spawn(Controller::new(cms.clone(), Config::default()).run(
        |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
            log.record(&cm);
            Err::<Action, _>(Failed("always".into()))
        },
        |cm: Arc<ConfigMap>, _: &Failed, _: Arc<Log>| {
            if cm.metadata.name.as_deref() == Some("give-up") {
                Action::await_change()
            } else {
                Action::requeue(Duration::from_secs(60))
            }
        },
        log.clone(),
    ));
    log.wait_for("slow", 3).await;
    assert_eq!(
        log.gaps("slow")[0],
        Duration::from_secs(60),
        "at least the policy's delay"
    );
    assert_eq!(
        log.count("give-up"),
        1,
        "await_change: no retry until a change"
    );
    let mut changed = (*cms.get("give-up").await.unwrap()).clone();
    changed.data.insert("k".into(), "v".into());
    cms.replace("give-up", &changed).await.unwrap();
    log.wait_for("give-up", 2).await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_reconcile_is_caught_and_retried() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("boom")).await.unwrap();
    cms.create(&cm("fine")).await.unwrap();
    let log = Log::new();
    let handle = tokio::spawn(Controller::new(cms, Config::default()).run(
        |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
            let n = log.record(&cm);
            assert!(
                cm.metadata.name.as_deref() != Some("boom") || n > 1,
                "first try panics"
            );
            Ok::<_, Failed>(Action::await_change())
        },
        never_fails,
        log.clone(),
    ));
    log.wait_for("boom", 2).await;
    log.wait_for("fine", 1).await;
    assert_eq!(
        log.gaps("boom"),
        [Duration::from_millis(5)],
        "re-queued with backoff"
    );
    assert!(!handle.is_finished(), "the controller survives");
}

#[tokio::test(start_paused = true)]
async fn the_generation_predicate_skips_metadata_only_writes() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    let created = cms.create(&cm("p")).await.unwrap();
    let log = Log::new();
    tokio::spawn(
        Controller::new(cms.clone(), Config::default())
            .with_predicate(predicate::labels)
            .run(counting, never_fails, log.clone()),
    );
    log.wait_for("p", 1).await;
    let mut annotated = (*created).clone();
    annotated
        .metadata
        .annotations
        .insert("a".into(), "1".into());
    let annotated = cms.replace("p", &annotated).await.unwrap();
    let mut labelled = (*annotated).clone();
    labelled.metadata.labels.insert("l".into(), "1".into());
    cms.replace("p", &labelled).await.unwrap();
    log.wait_for("p", 2).await;
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(log.count("p"), 2, "the annotation change was filtered");
}

#[tokio::test(start_paused = true)]
async fn workers_never_share_a_key_and_run_different_keys_at_once() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    for i in 0..4 {
        cms.create(&cm(&format!("k{i}"))).await.unwrap();
    }
    let log = Log::new();
    let peak = Arc::new(Mutex::new(0_usize));
    // Reconciles hold their key until the test opens the gate.
    let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
    let ctl = Controller::new(cms.clone(), Config::default().concurrency(4));
    tokio::spawn(ctl.run(
        {
            let peak = peak.clone();
            move |cm: Arc<ConfigMap>, log: Arc<Log>| {
                let peak = peak.clone();
                let mut gate = gate_rx.clone();
                async move {
                    let key = cm.metadata.name.clone().unwrap();
                    let fresh = log.in_flight.lock().unwrap().insert(key.clone());
                    if !fresh {
                        *log.overlaps.lock().unwrap() += 1;
                    }
                    let now = log.in_flight.lock().unwrap().len();
                    {
                        let mut p = peak.lock().unwrap();
                        *p = (*p).max(now);
                    }
                    log.changed.notify_waiters();
                    let _ = gate.wait_for(|open| *open).await;
                    log.in_flight.lock().unwrap().remove(&key);
                    log.record(&cm);
                    Ok::<_, Failed>(Action::await_change())
                }
            }
        },
        never_fails,
        log.clone(),
    ));
    // All four keys are held at once.
    loop {
        let changed = log.changed.notified();
        if *peak.lock().unwrap() == 4 {
            break;
        }
        changed.await;
    }
    // Change k0 repeatedly while it is being reconciled, then let everything finish.
    for i in 0..5 {
        let mut c = (*cms.get("k0").await.unwrap()).clone();
        c.data.insert("i".into(), i.to_string());
        cms.replace("k0", &c).await.unwrap();
    }
    gate_tx.send(true).unwrap();
    log.wait_for("k3", 1).await;
    log.wait_for("k0", 2).await;
    assert_eq!(*log.overlaps.lock().unwrap(), 0, "one worker per key");
    assert_eq!(*peak.lock().unwrap(), 4, "different keys in parallel");
}

#[tokio::test(start_paused = true)]
async fn only_the_leader_reconciles() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("x")).await.unwrap();
    // Someone else holds the lease.
    let mut other = LeaderElector::new(&client, LeaseConfig::new("kube-system", "ctl", "other"));
    assert!(other.try_acquire_or_renew().await.unwrap());
    let me = LeaderElector::new(&client, LeaseConfig::new("kube-system", "ctl", "me")).start();
    let log = Log::new();
    tokio::spawn(
        Controller::new(cms, Config::default().leader(me.clone())).run(
            counting,
            never_fails,
            log.clone(),
        ),
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(log.count("x"), 0, "not leading: no reconcile");
    // The other copy stopped renewing: 15 s after its last renewal was seen, we lead.
    me.wait_leading().await;
    log.wait_for("x", 1).await;
}

#[tokio::test(start_paused = true)]
async fn metrics_count_reconciles_by_result() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("ok")).await.unwrap();
    cms.create(&cm("bad")).await.unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut registry);
    let log = Log::new();
    tokio::spawn(
        Controller::new(cms, Config::default().name("demo").metrics(metrics)).run(
            |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
                log.record(&cm);
                if cm.metadata.name.as_deref() == Some("bad") {
                    Err(Failed("bad".into()))
                } else {
                    Ok(Action::await_change())
                }
            },
            |_, _: &Failed, _| Action::await_change(),
            log.clone(),
        ),
    );
    log.wait_for("ok", 1).await;
    log.wait_for("bad", 1).await;
    tokio::task::yield_now().await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        "controller_runtime_reconcile_total{controller=\"demo\",result=\"success\"} 1",
        "controller_runtime_reconcile_total{controller=\"demo\",result=\"error\"} 1",
        "controller_runtime_reconcile_errors_total{controller=\"demo\"} 1",
        "workqueue_adds_total{name=\"demo\"} 2",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_lets_running_reconciles_finish() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("long")).await.unwrap();
    let log = Log::new();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let run = tokio::spawn(
        Controller::new(cms, Config::default())
            .graceful_shutdown_on(async move {
                let _ = stop_rx.await;
            })
            .run(
                {
                    let started = started.clone();
                    let release = release.clone();
                    move |cm: Arc<ConfigMap>, log: Arc<Log>| {
                        let started = started.clone();
                        let release = release.clone();
                        async move {
                            started.notify_one();
                            release.notified().await;
                            log.record(&cm);
                            Ok::<_, Failed>(Action::await_change())
                        }
                    }
                },
                never_fails,
                log.clone(),
            ),
    );
    started.notified().await;
    stop_tx.send(()).unwrap();
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(
        !run.is_finished(),
        "run waits for the reconcile in progress"
    );
    release.notify_one();
    run.await.unwrap();
    assert_eq!(
        log.count("long"),
        1,
        "the running reconcile finished before run returned"
    );
}

#[tokio::test(start_paused = true)]
async fn a_namespaced_controller_leaves_other_namespaces_alone() {
    let client = Client::in_memory();
    let all: Api<ConfigMap> = Api::all(&client);
    let mut elsewhere = cm("elsewhere");
    elsewhere.metadata.namespace = Some("kube-system".into());
    let elsewhere = all.create(&elsewhere).await.unwrap();
    all.create(&cm("here")).await.unwrap();
    let log = Log::new();
    tokio::spawn(
        Controller::new(Api::namespaced(&client, "default"), Config::default())
            .owns::<Secret>()
            .run(counting, never_fails, log.clone()),
    );
    log.wait_for("here", 1).await;
    let mut child = owned_secret("child", &elsewhere);
    child.metadata.namespace = Some("kube-system".into());
    Api::<Secret>::namespaced(&client, "kube-system")
        .create(&child)
        .await
        .unwrap();
    let here: Api<ConfigMap> = Api::namespaced(&client, "default");
    let mut touched = (*here.get("here").await.unwrap()).clone();
    touched.data.insert("k".into(), "v".into());
    here.replace("here", &touched).await.unwrap();
    log.wait_for("here", 2).await;
    assert_eq!(log.count("elsewhere"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_change_seen_while_not_leading_is_reconciled_after_regaining_the_lease() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("x")).await.unwrap();
    let me = LeaderElector::new(&client, LeaseConfig::new("kube-system", "ctl", "me")).start();
    me.wait_leading().await;
    let log = Log::new();
    tokio::spawn(
        Controller::new(cms.clone(), Config::default().leader(me.clone())).run(
            counting,
            never_fails,
            log.clone(),
        ),
    );
    log.wait_for("x", 1).await;
    // Another copy takes the lease over (it renews once, then stops).
    let leases: Api<keel_core::api::Lease> = Api::namespaced(&client, "kube-system");
    let mut lease = (*leases.get("ctl").await.unwrap()).clone();
    lease.spec.holder_identity = Some("other".into());
    leases.replace("ctl", &lease).await.unwrap();
    me.wait_not_leading().await;
    let mut changed = (*cms.get("x").await.unwrap()).clone();
    changed.data.insert("k".into(), "v".into());
    cms.replace("x", &changed).await.unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(log.count("x"), 1, "not leading: not reconciled yet");
    me.wait_leading().await;
    log.wait_for("x", 2).await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_error_policy_does_not_wedge_the_key() {
    let client = Client::in_memory();
    let cms: Api<ConfigMap> = Api::namespaced(&client, "default");
    cms.create(&cm("x")).await.unwrap();
    let log = Log::new();
    tokio::spawn(Controller::new(cms.clone(), Config::default()).run(
        |cm: Arc<ConfigMap>, log: Arc<Log>| async move {
            if log.record(&cm) == 1 {
                Err(Failed("first".into()))
            } else {
                Ok(Action::await_change())
            }
        },
        |_: Arc<ConfigMap>, _: &Failed, _: Arc<Log>| -> Action { panic!("policy bug") },
        log.clone(),
    ));
    log.wait_for("x", 2).await;
    let mut changed = (*cms.get("x").await.unwrap()).clone();
    changed.data.insert("k".into(), "v".into());
    cms.replace("x", &changed).await.unwrap();
    log.wait_for("x", 3).await;
}
