//! Property: over random rollouts (replicas, maxSurge, maxUnavailable, pods becoming
//! ready in a random order), at every observed moment the pods number at most
//! `replicas + maxSurge`, at least `replicas − maxUnavailable` are available, and the
//! rollout completes.

mod support;

use std::sync::{Arc, Mutex};

use keel_controllers::ControllerManager;
use keel_core::api::{
    Deployment, DeploymentSpec, DeploymentStrategy, Pod, RollingUpdateDeployment,
};
use keel_core::client::{Api, Client, ListParams};
use keel_core::intstr::IntOrString;
use proptest::prelude::*;
use support::*;

/// A deterministic generator for the node's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % bound as u64).unwrap()
    }
}

fn bound(v: &IntOrString, replicas: i32, up: bool) -> i32 {
    v.scaled_value(replicas, up).unwrap()
}

fn int_or_percent() -> impl Strategy<Value = IntOrString> {
    prop_oneof![
        (0..4i32).prop_map(IntOrString::from),
        prop::sample::select(vec!["0%", "10%", "25%", "50%", "100%"]).prop_map(IntOrString::from),
    ]
}

async fn rollout(
    replicas: i32,
    surge: IntOrString,
    unavailable: IntOrString,
    seed: u64,
) -> Result<(), String> {
    let client = Client::in_memory();
    let manager = ControllerManager::new(client.clone())
        .with("replicaset")
        .and_then(|m| m.with("deployment"))
        .unwrap()
        .start();
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let d = Deployment {
        metadata: meta("web"),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: selector("web"),
            template: template("web", "app:v1"),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge.clone()),
                    max_unavailable: Some(unavailable.clone()),
                }),
            }),
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    };
    deployments.create(&d).await.map_err(|e| e.to_string())?;
    let node = kubelet(client.clone());
    let done = |rev: &'static str| {
        move |d: &Deployment| {
            d.metadata
                .annotations
                .get("deployment.kubernetes.io/revision")
                .map(String::as_str)
                == Some(rev)
                && d.status.as_ref().is_some_and(|s| {
                    s.observed_generation == d.metadata.generation
                        && s.updated_replicas == Some(replicas)
                        && s.replicas == Some(replicas)
                        && s.available_replicas == Some(replicas)
                })
        }
    };
    wait_for_object(&deployments, "web", "first rollout", done("1")).await;
    node.abort();

    // Kubernetes' fenceposts: surge rounds up, unavailability down, never both zero.
    let max_surge = bound(&surge, replicas, true);
    let mut max_unavailable = bound(&unavailable, replicas, false);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let max_pods = usize::try_from(replicas + max_surge).unwrap();
    let min_ready = usize::try_from((replicas - max_unavailable).max(0)).unwrap();
    let violations = Arc::new(Mutex::new(Vec::new()));
    let v2 = violations.clone();
    let checker = on_every_change(Api::<Pod>::default_namespaced(&client), move |pods| {
        let v = v2.clone();
        async move {
            let live = live(&pods);
            let ready = live.iter().filter(|p| p.is_ready()).count();
            if live.len() > max_pods || ready < min_ready {
                v.lock()
                    .unwrap()
                    .push(format!("{} pods, {ready} ready", live.len()));
            }
        }
    });
    // The node: makes one pending pod ready at a time, chosen at random, letting the
    // controllers run a random number of steps in between.
    let node_client = client.clone();
    let node = tokio::spawn(async move {
        let api: Api<Pod> = Api::default_namespaced(&node_client);
        let mut rng = Rng(seed | 1);
        loop {
            let list = api.list(&ListParams::default()).await.unwrap();
            let pending: Vec<Arc<Pod>> = live(&list.items)
                .into_iter()
                .filter(|p| !p.is_ready())
                .collect();
            if pending.is_empty() {
                let mut events = api
                    .watch(&ListParams::default(), list.resource_version())
                    .await
                    .unwrap();
                let _ = futures::StreamExt::next(&mut events).await;
                continue;
            }
            let pick = &pending[rng.next(pending.len())];
            set_pod_status(&node_client, pick, "Running", true).await;
            for _ in 0..rng.next(20) {
                tokio::task::yield_now().await;
            }
        }
    });

    let mut next = (*deployments.get("web").await.unwrap()).clone();
    next.spec.template.spec.containers[0].image = Some("app:v2".into());
    deployments
        .replace("web", &next)
        .await
        .map_err(|e| e.to_string())?;
    wait_for_object(&deployments, "web", "second rollout", done("2")).await;
    node.abort();
    checker.abort();
    manager.shutdown().await;
    let pods = Api::<Pod>::default_namespaced(&client)
        .list(&ListParams::default())
        .await
        .unwrap();
    let on_v2 = pods
        .items
        .iter()
        .filter(|p| p.spec.containers[0].image.as_deref() == Some("app:v2"))
        .count();
    if on_v2 != usize::try_from(replicas).unwrap() || pods.items.len() != on_v2 {
        return Err(format!(
            "after the rollout: {} pods, {on_v2} on v2",
            pods.items.len()
        ));
    }
    let v = violations.lock().unwrap();
    if v.is_empty() {
        Ok(())
    } else {
        Err(format!("bounds violated: {:?}", &v[..v.len().min(5)]))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn rollouts_respect_surge_and_unavailability(
        replicas in 1..9i32,
        surge in int_or_percent(),
        unavailable in int_or_percent(),
        seed in any::<u64>(),
    ) {
        let zero = |v: &IntOrString| v.scaled_value(100, false) == Ok(0);
        // Admission rejects both being zero.
        prop_assume!(!(zero(&surge) && zero(&unavailable)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let outcome = rt.block_on(rollout(replicas, surge, unavailable, seed));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
