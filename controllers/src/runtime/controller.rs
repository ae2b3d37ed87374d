//! [`Controller`]: turns changes of a kind — and of the kinds it owns or watches — into
//! keys on a [`WorkQueue`], and reconciles each key with at most one worker at a time.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use keel_core::Resource;
use keel_core::client::Api;
use keel_core::meta::OwnerReference;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::action::Action;
use super::cache::{Cache, Change};
use super::informers::Informers;
use super::leader::LeaderHandle;
use super::metrics::Metrics;
use super::predicate::Predicate;
use super::queue::WorkQueue;
use super::rate_limit::{
    DEFAULT_BACKOFF, DEFAULT_BUCKET, ExponentialBackoff, MaxOf, RateLimiter, TokenBucket,
};
use super::reference::ObjectRef;

/// How a controller runs. `Config::default()` gives one worker and client-go's default
/// rate limits.
#[derive(Clone, Debug)]
pub struct Config {
    name: Option<String>,
    concurrency: usize,
    backoff: (Duration, Duration),
    bucket: (f64, u32),
    metrics: Option<Metrics>,
    informers: Option<Informers>,
    leader: Option<LeaderHandle>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: None,
            concurrency: 1,
            backoff: DEFAULT_BACKOFF,
            bucket: DEFAULT_BUCKET,
            metrics: None,
            informers: None,
            leader: None,
        }
    }
}

impl Config {
    /// The controller's name in logs and metrics (default: the kind, lower-case).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How many keys are reconciled at once (at least 1; different keys only).
    #[must_use]
    pub fn concurrency(mut self, workers: usize) -> Self {
        self.concurrency = workers.max(1);
        self
    }

    /// The per-key backoff after errors: `base` doubling up to `max`.
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = (base, max);
        self
    }

    /// The overall bucket for re-queues after errors: `qps` a second, bursts of `burst`.
    #[must_use]
    pub fn bucket(mut self, qps: f64, burst: u32) -> Self {
        self.bucket = (qps, burst);
        self
    }

    /// Reports reconcile and queue metrics into `metrics`.
    #[must_use]
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Reads from these caches instead of the client's shared factory.
    #[must_use]
    pub fn informers(mut self, informers: Informers) -> Self {
        self.informers = Some(informers);
        self
    }

    /// Reconciles only while `leader` holds its lease.
    #[must_use]
    pub fn leader(mut self, leader: LeaderHandle) -> Self {
        self.leader = Some(leader);
        self
    }
}

type Trigger = Box<dyn FnOnce(&Informers, WorkQueue<ObjectRef>) -> TriggerTask + Send>;

/// A started trigger: what to wait for before reconciling, and the loop feeding keys.
struct TriggerTask {
    ready: BoxFuture<'static, ()>,
    feed: BoxFuture<'static, ()>,
}

fn trigger<S: Resource>(
    informers: &Informers,
    queue: WorkQueue<ObjectRef>,
    map: impl Fn(&Change<S>, &WorkQueue<ObjectRef>) + Send + 'static,
) -> TriggerTask {
    let cache: Cache<S> = informers.cache::<S>();
    let mut changes = cache.subscribe();
    TriggerTask {
        ready: async move { cache.wait_until_ready().await }.boxed(),
        feed: async move {
            while let Some(change) = changes.recv().await {
                let mapped = std::panic::catch_unwind(AssertUnwindSafe(|| map(&change, &queue)));
                if mapped.is_err() {
                    tracing::error!(
                        kind = S::KIND,
                        "a predicate or mapper panicked; the change is skipped"
                    );
                }
            }
        }
        .boxed(),
    }
}

/// Whether `owner` names an object of kind `K` (same group and kind; any version).
pub fn is_owner_kind<K: Resource>(owner: &OwnerReference) -> bool {
    let group = owner.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    owner.kind == K::KIND && group == K::group()
}

/// A controller of kind `K`, built with [`new`](Self::new), [`owns`](Self::owns) and
/// [`watches`](Self::watches), started with [`run`](Self::run).
pub struct Controller<K: Resource> {
    api: Api<K>,
    name: String,
    concurrency: usize,
    informers: Informers,
    queue: WorkQueue<ObjectRef>,
    metrics: Option<Metrics>,
    leader: Option<LeaderHandle>,
    predicates: Vec<Predicate<K>>,
    triggers: Vec<Trigger>,
    shutdown: Option<BoxFuture<'static, ()>>,
}

impl<K: Resource> std::fmt::Debug for Controller<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.name)
            .field("namespace", &self.api.namespace())
            .field("concurrency", &self.concurrency)
            .field("triggers", &self.triggers.len())
            .finish_non_exhaustive()
    }
}

impl<K: Resource> Controller<K> {
    /// A controller of the objects `api` covers (one namespace, or all).
    pub fn new(api: Api<K>, config: Config) -> Controller<K> {
        let name = config.name.unwrap_or_else(|| K::KIND.to_ascii_lowercase());
        let limiter: Box<dyn RateLimiter<ObjectRef>> = Box::new(MaxOf::new(vec![
            Box::new(ExponentialBackoff::new(config.backoff.0, config.backoff.1)),
            Box::new(TokenBucket::new(config.bucket.0, config.bucket.1)),
        ]));
        let queue = WorkQueue::build(limiter, config.metrics.as_ref().map(|m| m.queue(&name)));
        let informers = config
            .informers
            .unwrap_or_else(|| Informers::of(api.client()));
        Controller {
            api,
            name,
            concurrency: config.concurrency,
            informers,
            queue,
            metrics: config.metrics,
            leader: config.leader,
            predicates: Vec::new(),
            triggers: Vec::new(),
            shutdown: None,
        }
    }

    /// Only changes of `K` that pass `predicate` queue the object (see
    /// [`predicate`](super::predicate)); several predicates must all pass.
    #[must_use]
    pub fn with_predicate(
        mut self,
        predicate: impl Fn(Option<&K>, &K) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Reconciles the controller owner of every `C` that changes: the object of kind
    /// `K` named by the child's ownerReference with `controller: true`, in the child's
    /// namespace (before and after the change, so an adopted or released child queues
    /// both owners).
    #[must_use]
    pub fn owns<C: Resource>(mut self) -> Self {
        self.triggers.push(Box::new(|informers, queue| {
            trigger::<C>(informers, queue, |change, queue| {
                for obj in [&change.old, &change.new].into_iter().flatten() {
                    if let Some(owner) = obj.meta().controller_owner()
                        && is_owner_kind::<K>(owner)
                    {
                        let key = ObjectRef::new(owner.name.clone());
                        queue.add(match obj.meta().namespace_str() {
                            Some(ns) if K::NAMESPACED => key.within(ns),
                            _ => key,
                        });
                    }
                }
            })
        }));
        self
    }

    /// Reconciles the objects `mapper` names whenever an `O` changes (it sees the old
    /// and the new state of the `O`, or the last state of a deleted one).
    #[must_use]
    pub fn watches<O, I>(mut self, mapper: impl Fn(&O) -> I + Send + Sync + 'static) -> Self
    where
        O: Resource,
        I: IntoIterator<Item = ObjectRef>,
    {
        self.triggers.push(Box::new(move |informers, queue| {
            trigger::<O>(informers, queue, move |change, queue| {
                for obj in [&change.old, &change.new].into_iter().flatten() {
                    for key in mapper(obj) {
                        queue.add(key);
                    }
                }
            })
        }));
        self
    }

    /// Stops the controller when `signal` completes: no new reconciles start, running
    /// ones finish, then [`run`](Self::run) returns.
    #[must_use]
    pub fn graceful_shutdown_on(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.shutdown = Some(signal.boxed());
        self
    }

    /// The controller's work queue: add keys to have them reconciled (for triggers
    /// from outside the store).
    pub fn queue(&self) -> WorkQueue<ObjectRef> {
        self.queue.clone()
    }

    /// The shared cache of `K` that reconciles read from.
    pub fn cache(&self) -> Cache<K> {
        self.informers.cache::<K>()
    }

    fn main_trigger(&self) -> Trigger {
        let namespace = self.api.namespace().map(str::to_owned);
        let predicates = self.predicates.clone();
        Box::new(move |informers, queue| {
            trigger::<K>(informers, queue, move |change, queue| {
                let Some(new) = &change.new else {
                    // Deleted: forget its failures, so a new object of that name starts afresh.
                    if let Some(old) = &change.old {
                        queue.forget(&ObjectRef::from_obj(&**old));
                    }
                    return;
                };
                if namespace
                    .as_deref()
                    .is_some_and(|ns| new.meta().namespace_str() != Some(ns))
                {
                    return;
                }
                if predicates.iter().all(|p| p(change.old.as_deref(), new)) {
                    queue.add(ObjectRef::from_obj(&**new));
                }
            })
        })
    }

    /// Runs until the shutdown signal (forever without one): waits for every cache to
    /// be loaded, then reconciles. `reconcile` gets the cached object and `ctx`; on
    /// success the key's backoff is reset and the [`Action`] decides any re-queue. On
    /// error, `error_policy` decides: [`Action::requeue`] re-queues through the rate
    /// limiter (waiting at least the given time, longer while the key keeps failing),
    /// [`Action::await_change`] waits for the next change. A panic in `reconcile` is
    /// caught, logged and re-queued through the rate limiter like an error.
    pub async fn run<Ctx, E, R, RFut, P>(mut self, reconcile: R, error_policy: P, ctx: Arc<Ctx>)
    where
        Ctx: Send + Sync + 'static,
        E: std::fmt::Display + Send + 'static,
        R: Fn(Arc<K>, Arc<Ctx>) -> RFut + Send + Sync + 'static,
        RFut: Future<Output = Result<Action, E>> + Send + 'static,
        P: Fn(Arc<K>, &E, Arc<Ctx>) -> Action + Send + Sync + 'static,
    {
        let mut triggers = std::mem::take(&mut self.triggers);
        triggers.insert(0, self.main_trigger());
        let mut feeds = JoinSet::new();
        let mut ready = Vec::new();
        for t in triggers {
            let task = t(&self.informers, self.queue.clone());
            feeds.spawn(task.feed);
            ready.push(task.ready);
        }
        let shutdown = self
            .shutdown
            .take()
            .unwrap_or_else(|| futures::future::pending().boxed());
        let shutdown = shutdown.shared();
        tokio::select! {
            _ = futures::future::join_all(ready) => {}
            () = shutdown.clone() => {
                feeds.shutdown().await;
                return;
            }
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = Arc::new(Worker {
            name: self.name.clone(),
            namespace: self.api.namespace().map(str::to_owned),
            cache: self.informers.cache::<K>(),
            queue: self.queue.clone(),
            metrics: self.metrics.clone(),
            leader: self.leader.clone(),
            reconcile,
            error_policy,
            ctx,
            _error: std::marker::PhantomData,
        });
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency {
            workers.spawn(worker.clone().work(stop_rx.clone()));
        }
        shutdown.await;
        tracing::debug!(controller = %self.name, "shutting down");
        feeds.shutdown().await;
        let _ = stop_tx.send(true);
        self.queue.shut_down();
        while workers.join_next().await.is_some() {}
    }
}

/// Marks a key done however its processing ends (even by a panic), so a key is never
/// left held.
struct Done<'a> {
    queue: &'a WorkQueue<ObjectRef>,
    key: &'a ObjectRef,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.queue.done(self.key);
    }
}

struct Worker<K, Ctx, E, R, P> {
    name: String,
    /// The namespace the controller's `Api` is scoped to: keys elsewhere are not ours.
    namespace: Option<String>,
    cache: Cache<K>,
    queue: WorkQueue<ObjectRef>,
    metrics: Option<Metrics>,
    leader: Option<LeaderHandle>,
    reconcile: R,
    error_policy: P,
    ctx: Arc<Ctx>,
    _error: std::marker::PhantomData<fn() -> E>,
}

impl<K, Ctx, E, R, RFut, P> Worker<K, Ctx, E, R, P>
where
    K: Resource,
    Ctx: Send + Sync + 'static,
    E: std::fmt::Display + Send + 'static,
    R: Fn(Arc<K>, Arc<Ctx>) -> RFut + Send + Sync + 'static,
    RFut: Future<Output = Result<Action, E>> + Send + 'static,
    P: Fn(Arc<K>, &E, Arc<Ctx>) -> Action + Send + Sync + 'static,
{
    async fn work(self: Arc<Self>, stop: watch::Receiver<bool>) {
        loop {
            if let Some(leader) = &self.leader {
                let mut stopped = stop.clone();
                tokio::select! {
                    () = leader.wait_leading() => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
            }
            let Some(key) = self.queue.get().await else {
                return;
            };
            let guard = Done {
                queue: &self.queue,
                key: &key,
            };
            if *stop.borrow() {
                return;
            }
            if self.leader.as_ref().is_some_and(|l| !l.is_leader()) {
                // Lost the lease while waiting: keep the key for when we lead again.
                drop(guard);
                self.queue.add(key);
                continue;
            }
            self.process(&key).await;
            drop(guard);
        }
    }

    async fn process(&self, key: &ObjectRef) {
        if self.namespace.is_some() && key.namespace != self.namespace {
            return;
        }
        let Some(obj) = self.cache.get(key) else {
            // Deleted meanwhile: nothing to reconcile.
            self.queue.forget(key);
            return;
        };
        let started = Instant::now();
        let outcome =
            AssertUnwindSafe(async { (self.reconcile)(obj.clone(), self.ctx.clone()).await })
                .catch_unwind()
                .await;
        let result = match outcome {
            Ok(Ok(action)) => {
                self.queue.forget(key);
                match action.requeue_after() {
                    Some(after) => {
                        self.queue.add_after(key.clone(), after);
                        "requeue_after"
                    }
                    None => "success",
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(controller = %self.name, object = %key, %error, "reconcile failed");
                let policy = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    (self.error_policy)(obj, &error, self.ctx.clone())
                }));
                match policy.map(|a| a.requeue_after()) {
                    Ok(Some(after)) => self.queue.add_rate_limited_at_least(key.clone(), after),
                    Ok(None) => {}
                    Err(_) => {
                        tracing::error!(controller = %self.name, object = %key, "error policy panicked");
                        self.queue.add_rate_limited(key.clone());
                    }
                }
                "error"
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".to_owned());
                tracing::error!(controller = %self.name, object = %key, panic = %message, "reconcile panicked");
                self.queue.add_rate_limited(key.clone());
                "panic"
            }
        };
        if let Some(m) = &self.metrics {
            m.reconciled(&self.name, result, started.elapsed());
        }
    }
}
