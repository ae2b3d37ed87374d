//! The typed client: how every component reads, writes and watches objects.
//!
//! [`Client`] wraps a [`Store`] with the API server's semantics (server-set metadata,
//! admission, namespaces, concurrency, status, finalizers, graceful deletion) and hands
//! out [`Api<K>`] handles, as kube-rs does:
//!
//! ```
//! # async fn demo() -> Result<(), keel_core::Error> {
//! use keel_core::api::Pod;
//! use keel_core::client::{Api, Client, ListParams};
//!
//! let client = Client::in_memory();
//! let pods: Api<Pod> = Api::namespaced(&client, "default");
//! let list = pods.list(&ListParams::default().labels("app=web")).await?;
//! assert!(list.items.is_empty());
//! # Ok(()) }
//! ```

pub mod admission;
mod api;
mod dynamic;
mod kinds;
mod params;
pub mod patch;
mod schema_check;
mod server;
mod service_alloc;
pub mod watcher;

use std::sync::Arc;

pub use admission::{MutatingHook, Operation, ValidatingHook};
pub use api::Api;
pub use dynamic::DynamicApi;
pub use kinds::KindEntry;
pub use params::{
    DeleteParams, Deleted, ListParams, ObjectList, Patch, Preconditions, PropagationPolicy,
    WatchEvent,
};
pub use server::{DEFAULT_NAMESPACES, FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
pub use service_alloc::{ServiceCidr, ServiceNetwork};
pub use watcher::watcher;

use crate::Clock;
use crate::Resource;
use crate::manifest::KindInfo;
use crate::store::{MemoryStore, Store};

/// A handle on a store with the API server's semantics. Cheap to clone; clones share
/// everything.
#[derive(Clone)]
pub struct Client {
    server: Arc<server::Server>,
    shared: Arc<SharedValues>,
}

/// Values shared by every clone of one client, by type (see [`Client::shared`]).
#[derive(Default)]
struct SharedValues {
    values: std::sync::Mutex<
        std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>,
    >,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client over a fresh [`MemoryStore`] (the default namespaces are created on first
    /// use).
    #[must_use]
    pub fn in_memory() -> Client {
        Client::new(MemoryStore::new())
    }

    /// A client over any store, with the built-in kinds and no hooks.
    #[must_use]
    pub fn new(store: impl Store) -> Client {
        Client::builder(store).build()
    }

    /// Configures a client: clock, seed, hooks, extra kinds.
    #[must_use]
    pub fn builder(store: impl Store) -> ClientBuilder {
        ClientBuilder {
            store: Arc::new(store),
            clock: Clock::system(),
            seed: 0x6b65_656c,
            chain: admission::Chain::default(),
            kinds: kinds::Kinds::with_builtins(),
            allow_loopback_endpoints: false,
            service_network: ServiceNetwork::default(),
        }
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.server.store
    }

    /// The clock timestamps come from.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.server.clock
    }

    /// The one value of type `T` shared by every clone of this client, made with
    /// `T::default()` on first use. Frameworks keep their per-client singletons here —
    /// the shared informer factory of `keel-controllers`, so that every controller on
    /// one client shares one cache per kind — without any global state.
    #[must_use]
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut values = self
            .shared
            .values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = values
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()))
            .clone();
        drop(values);
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("values are stored under their own TypeId"))
    }

    /// Registers a typed kind (typed kinds also register themselves on first use).
    pub fn register<K: Resource>(&self) {
        self.server.kinds.typed::<K>();
    }

    /// Registers a dynamic kind (like a CRD); objects are checked against `schema`
    /// (for everything but `apiVersion`, `kind` and `metadata`).
    pub fn register_dynamic(&self, info: &KindInfo, schema: Option<serde_json::Value>) {
        self.server.kinds.insert(KindEntry::dynamic(info, schema));
    }

    /// The entry of a registered kind, by `apiVersion` and `kind`.
    #[must_use]
    pub fn kind(&self, api_version: &str, kind: &str) -> Option<Arc<KindEntry>> {
        self.server
            .kinds
            .get(&crate::store::kind_key(api_version, kind))
    }

    pub(crate) fn server(&self) -> &server::Server {
        &self.server
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    store: Arc<dyn Store>,
    clock: Clock,
    seed: u64,
    chain: admission::Chain,
    kinds: kinds::Kinds,
    allow_loopback_endpoints: bool,
    service_network: ServiceNetwork,
}

impl ClientBuilder {
    /// Where Services' cluster IPs and node ports come from (default:
    /// [`ServiceNetwork::default`], Kubernetes' ranges). A cluster of local processes
    /// uses a loopback range, so its proxies can listen on the cluster IPs.
    #[must_use]
    pub fn service_network(mut self, network: ServiceNetwork) -> Self {
        self.service_network = network;
        self
    }

    /// The clock for timestamps (default: [`Clock::system`], which follows `tokio` time).
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The seed of uids and generated names (same seed, same names).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Adds a mutating admission hook (run in the order added).
    #[must_use]
    pub fn mutating(mut self, hook: Arc<dyn MutatingHook>) -> Self {
        self.chain.mutating.push(hook);
        self
    }

    /// Adds a validating admission hook (run in the order added).
    #[must_use]
    pub fn validating(mut self, hook: Arc<dyn ValidatingHook>) -> Self {
        self.chain.validating.push(hook);
        self
    }

    /// Accepts loopback addresses (`127.0.0.0/8`, `::1`) in EndpointSlices, which
    /// Kubernetes rejects. A cluster whose pods are local processes gives each pod a
    /// loopback address of its own, so its endpoints are loopback addresses; only such a
    /// cluster should turn this on.
    #[must_use]
    pub fn allow_loopback_endpoints(mut self, allow: bool) -> Self {
        self.allow_loopback_endpoints = allow;
        self
    }

    /// Registers a typed kind.
    #[must_use]
    pub fn register<K: Resource>(self) -> Self {
        self.kinds.typed::<K>();
        self
    }

    /// Registers a dynamic kind checked against `schema`.
    #[must_use]
    pub fn register_dynamic(self, info: &KindInfo, schema: Option<serde_json::Value>) -> Self {
        self.kinds.insert(KindEntry::dynamic(info, schema));
        self
    }

    /// The client.
    #[must_use]
    pub fn build(self) -> Client {
        let mut server =
            server::Server::new(self.store, self.kinds, self.chain, self.clock, self.seed);
        server.allow_loopback_endpoints = self.allow_loopback_endpoints;
        server.service_network = self.service_network;
        Client {
            server: Arc::new(server),
            shared: Arc::default(),
        }
    }
}
