//! Leader election on a Lease, in virtual time.

use std::time::Duration;

use keel_controllers::runtime::{LeaderElector, LeaseConfig};
use keel_core::api::Lease;
use keel_core::client::{Api, Client};
use tokio::time::Instant;

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig::new("kube-system", "manager", identity)
}

async fn holder(client: &Client) -> Option<String> {
    Api::<Lease>::namespaced(client, "kube-system")
        .get("manager")
        .await
        .unwrap()
        .spec
        .holder_identity
        .clone()
}

#[tokio::test(start_paused = true)]
async fn defaults_are_client_gos() {
    let c = config("a");
    assert_eq!(c.lease_duration, Duration::from_secs(15));
    assert_eq!(c.renew_deadline, Duration::from_secs(10));
    assert_eq!(c.retry_period, Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn one_of_two_candidates_leads_and_the_other_takes_over_when_it_stops() {
    let client = Client::in_memory();
    let a = LeaderElector::new(&client, config("a")).start();
    a.wait_leading().await;
    let b = LeaderElector::new(&client, config("b")).start();
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(a.is_leader());
    assert!(!b.is_leader(), "a keeps renewing, so b never takes over");
    let lease = Api::<Lease>::namespaced(&client, "kube-system")
        .get("manager")
        .await
        .unwrap();
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(lease.spec.lease_duration_seconds, Some(15));
    assert_eq!(lease.spec.lease_transitions, Some(0));

    // a stops and releases: b takes over within one retry period.
    let stopped = Instant::now();
    a.stop().await;
    assert!(!a.is_leader());
    b.wait_leading().await;
    assert!(stopped.elapsed() <= Duration::from_secs(2));
    assert_eq!(holder(&client).await.as_deref(), Some("b"));
    b.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_crashed_leader_is_replaced_after_the_lease_duration() {
    let client = Client::in_memory();
    // "a" acquired once and then died without releasing.
    let mut a = LeaderElector::new(&client, config("a"));
    assert!(a.try_acquire_or_renew().await.unwrap());
    let start = Instant::now();
    let b = LeaderElector::new(&client, config("b")).start();
    b.wait_leading().await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(15) && waited <= Duration::from_secs(17),
        "took over after the lease duration, at a retry: {waited:?}"
    );
    let lease = Api::<Lease>::namespaced(&client, "kube-system")
        .get("manager")
        .await
        .unwrap();
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(lease.spec.lease_transitions, Some(1));
    assert!(
        !a.try_acquire_or_renew().await.unwrap(),
        "a sees b's fresh lease"
    );
    b.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_renew_steps_down() {
    let client = Client::in_memory();
    let a = LeaderElector::new(&client, config("a")).start();
    a.wait_leading().await;
    // Someone overwrites the lease (e.g. a partitioned leader's lease was stolen).
    let api: Api<Lease> = Api::namespaced(&client, "kube-system");
    let thief = tokio::spawn({
        let api = api.clone();
        async move {
            // Takes the lease back whenever someone else writes it.
            let changes =
                keel_core::client::watcher(api.clone(), keel_core::client::ListParams::default());
            futures::pin_mut!(changes);
            loop {
                let mut lease = (*api.get("manager").await.unwrap()).clone();
                if lease.spec.holder_identity.as_deref() != Some("thief") {
                    lease.spec.holder_identity = Some("thief".into());
                    lease.spec.renew_time = Some(keel_core::meta::MicroTime::from(
                        keel_core::meta::Time::epoch(),
                    ));
                    let _ = api.replace("manager", &lease).await;
                }
                futures::StreamExt::next(&mut changes).await;
            }
        }
    });
    let lost_from = Instant::now();
    a.wait_not_leading().await;
    let took = lost_from.elapsed();
    assert!(
        took <= Duration::from_secs(2),
        "stepped down at the first renewal that saw another holder: {took:?}"
    );
    thief.abort();
}
