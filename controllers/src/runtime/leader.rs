//! Leader election on a `Lease` (client-go's `leaderelection` with the `Lease` lock):
//! several copies of a controller manager run, one holds the lease and acts, the others
//! wait to take over when it stops renewing.

use std::time::Duration;

use keel_core::api::{Lease, LeaseSpec};
use keel_core::client::{Api, Client};
use keel_core::meta::{MicroTime, ObjectMeta};
use keel_core::{Clock, Error};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Which lease to hold, as whom, and the timings (client-go's defaults: lease 15 s,
/// renew deadline 10 s, retry every 2 s).
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// The lease's namespace.
    pub namespace: String,
    /// The lease's name.
    pub name: String,
    /// This candidate's identity (unique per copy, e.g. the host name).
    pub identity: String,
    /// How long others wait, after the last renewal they observed, before taking over.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leadership.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The lease `namespace/name` held as `identity`, with the default timings.
    pub fn new(namespace: &str, name: &str, identity: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What one attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// This candidate holds the lease.
    Held,
    /// Another candidate holds a valid lease.
    HeldByOther,
    /// The attempt failed (a conflict, an error, a timeout): try again.
    Lost,
}

/// One candidate for a lease. [`start`](Self::start) runs the election loop; the
/// single steps are public for those who drive it themselves.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    clock: Clock,
    config: LeaseConfig,
    /// The lease as last seen, and when (by the local clock) it was seen to change.
    observed: Option<(LeaseSpec, Instant)>,
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

impl LeaderElector {
    /// A candidate for the lease `config` names.
    pub fn new(client: &Client, config: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            clock: client.clock().clone(),
            config,
            observed: None,
        }
    }

    fn observe(&mut self, spec: &LeaseSpec) {
        if self.observed.as_ref().is_none_or(|(seen, _)| seen != spec) {
            self.observed = Some((spec.clone(), Instant::now()));
        }
    }

    /// One attempt to take or renew the lease: `Ok(true)` if this candidate holds it
    /// now. The lease of another holder counts as held until its duration has passed
    /// since this candidate last saw it change (local time, as client-go does, so
    /// clocks need not agree).
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, Error> {
        Ok(self.try_once().await? == Attempt::Held)
    }

    async fn try_once(&mut self) -> Result<Attempt, Error> {
        let now = MicroTime::from(self.clock.now());
        let me = self.config.identity.clone();
        let Some(current) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta::namespaced(&self.config.namespace, &self.config.name),
                spec: LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(seconds(self.config.lease_duration)),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                },
            };
            return match self.api.create(&lease).await {
                Ok(created) => {
                    self.observe(&created.spec);
                    Ok(Attempt::Held)
                }
                Err(e) if e.is_already_exists() => Ok(Attempt::Lost),
                Err(e) => Err(e),
            };
        };
        self.observe(&current.spec);
        let holder = current.spec.holder_identity.as_deref().unwrap_or("");
        let mine = holder == me;
        if !holder.is_empty() && !mine {
            let duration = current
                .spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.config.lease_duration, Duration::from_secs);
            let seen = self
                .observed
                .as_ref()
                .map_or_else(Instant::now, |(_, at)| *at);
            if seen + duration > Instant::now() {
                return Ok(Attempt::HeldByOther);
            }
        }
        let mut lease = (*current).clone();
        lease.spec.holder_identity = Some(me);
        lease.spec.lease_duration_seconds = Some(seconds(self.config.lease_duration));
        lease.spec.renew_time = Some(now.clone());
        if !mine {
            lease.spec.acquire_time = Some(now);
            lease.spec.lease_transitions = Some(current.spec.lease_transitions.unwrap_or(0) + 1);
        }
        match self.api.replace(&self.config.name, &lease).await {
            Ok(updated) => {
                self.observe(&updated.spec);
                Ok(Attempt::Held)
            }
            Err(e) if e.is_conflict() => Ok(Attempt::Lost),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up if this candidate holds it, so another can take it at once
    /// (client-go's `ReleaseOnCancel`).
    pub async fn release(&mut self) -> Result<(), Error> {
        let Some(current) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        if current.spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        let now = MicroTime::from(self.clock.now());
        let mut lease = (*current).clone();
        lease.spec.holder_identity = None;
        lease.spec.lease_duration_seconds = Some(1);
        lease.spec.renew_time = Some(now.clone());
        lease.spec.acquire_time = Some(now);
        self.api.replace(&self.config.name, &lease).await?;
        Ok(())
    }

    /// One attempt, given up at `deadline`.
    async fn attempt(&mut self, deadline: Option<Instant>) -> Attempt {
        let result = match deadline {
            Some(d) => match tokio::time::timeout_at(d, self.try_once()).await {
                Ok(r) => r,
                Err(_) => return Attempt::Lost,
            },
            None => self.try_once().await,
        };
        result.unwrap_or_else(|error| {
            tracing::warn!(lease = %self.config.name, %error, "leader election attempt failed");
            Attempt::Lost
        })
    }

    /// Runs the election until the handle is stopped: acquire (retrying every retry
    /// period), then renew every retry period; a leader that cannot renew within the
    /// renew deadline steps down and becomes a candidate again.
    pub fn start(mut self) -> LeaderHandle {
        let (tx, rx) = watch::channel(false);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let retry = self.config.retry_period;
            loop {
                // Acquire.
                loop {
                    if self.attempt(None).await == Attempt::Held {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        _ = stop_rx.changed() => return,
                    }
                }
                tracing::info!(lease = %self.config.name, identity = %self.config.identity, "became leader");
                let _ = tx.send(true);
                // Renew until a renewal misses its deadline.
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        _ = stop_rx.changed() => {
                            let _ = tx.send(false);
                            let _ = self.release().await;
                            return;
                        }
                    }
                    // Retry until the renew deadline; another holder ends it at once.
                    let deadline = Instant::now() + self.config.renew_deadline;
                    let mut renewed = false;
                    loop {
                        match self.attempt(Some(deadline)).await {
                            Attempt::Held => {
                                renewed = true;
                                break;
                            }
                            Attempt::HeldByOther => break,
                            Attempt::Lost => {}
                        }
                        if Instant::now() + retry > deadline {
                            break;
                        }
                        tokio::select! {
                            () = tokio::time::sleep(retry) => {}
                            _ = stop_rx.changed() => {
                                let _ = tx.send(false);
                                let _ = self.release().await;
                                return;
                            }
                        }
                    }
                    if !renewed {
                        tracing::warn!(lease = %self.config.name, identity = %self.config.identity, "lost the lease");
                        let _ = tx.send(false);
                        break;
                    }
                }
            }
        });
        LeaderHandle {
            leading: rx,
            stop: std::sync::Arc::new(stop_tx),
            task: std::sync::Arc::new(std::sync::Mutex::new(Some(task))),
        }
    }
}

/// Watches an election: whether this candidate leads now, and waiting for it to lead.
/// Clones share the election.
#[derive(Clone, Debug)]
pub struct LeaderHandle {
    leading: watch::Receiver<bool>,
    stop: std::sync::Arc<watch::Sender<bool>>,
    task: std::sync::Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl LeaderHandle {
    /// Whether this candidate holds the lease now.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until this candidate holds the lease.
    pub async fn wait_leading(&self) {
        let mut rx = self.leading.clone();
        if rx.wait_for(|l| *l).await.is_err() {
            // The election ended: never leading again.
            futures::future::pending::<()>().await;
        }
    }

    /// Waits until this candidate no longer holds the lease (at once if it does not).
    pub async fn wait_not_leading(&self) {
        let mut rx = self.leading.clone();
        let _ = rx.wait_for(|l| !*l).await;
    }

    /// Ends the election: a leader steps down and releases the lease.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
