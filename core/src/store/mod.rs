//! The store: where every object lives, versioned, and where every change is watched.
//!
//! [`Store`] is the plug-in point, in the spirit of etcd: a versioned key-value store of
//! objects with compare-and-swap writes and ordered watches. It knows nothing of
//! Kubernetes' object semantics (uids, generations, finalizers, namespaces, admission):
//! those live once, above every backend, in [`crate::client`]. [`MemoryStore`] is the
//! default backend; an etcd or remote backend implements the same five methods, and the
//! `conformance` suite (feature `conformance`) holds every backend to the same rules.
//!
//! Rules every backend keeps:
//! - one `resourceVersion` counter for the whole store, strictly increasing, assigned to
//!   each successful write and stored in the object's `metadata.resourceVersion`;
//! - a write either happens whole or not at all; a write with a stale expected version
//!   fails with [`Error::Conflict`];
//! - a watch from version N delivers every later change of the kind that its filter
//!   selects, in order, exactly once — or fails with [`Error::Expired`] when N is older
//!   than the history kept, or when the watcher fell so far behind that its buffer
//!   overflowed (it never silently misses an event);
//! - a watcher moving into or out of a filter sees `Added` / `Deleted`, as Kubernetes'
//!   watch cache does.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod filter;
mod memory;
mod object;
mod tables;
mod watch;

use std::pin::Pin;

use futures::Stream;

pub use filter::{FieldSelector, FieldTerm, Filter};
pub use memory::{MemoryStore, MemoryStoreConfig};
pub use object::{AnyResource, Obj, downcast_arc};

use crate::error::Error;

/// The key of a kind in a store: `apiVersion/kind` (`v1/Pod`, `apps/v1/Deployment`).
#[must_use]
pub fn kind_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}/{kind}")
}

/// One change seen by a watch.
#[derive(Debug, Clone)]
pub enum StoreEvent {
    /// The object was created, or now matches the watch's filter.
    Added(Obj),
    /// The object changed and still matches.
    Modified(Obj),
    /// The object was deleted (its last state, with the deletion's version), or no
    /// longer matches.
    Deleted(Obj),
    /// Nothing this watch selects changed up to this version.
    Bookmark(u64),
}

impl StoreEvent {
    /// The version this event brings the watcher to.
    #[must_use]
    pub fn resource_version(&self) -> u64 {
        match self {
            StoreEvent::Added(o) | StoreEvent::Modified(o) | StoreEvent::Deleted(o) => {
                parse_version(o.meta().resource_version.as_deref()).unwrap_or(0)
            }
            StoreEvent::Bookmark(v) => *v,
        }
    }
}

/// A watch: ordered events, ending after an error.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StoreEvent, Error>> + Send>>;

/// One write, applied atomically.
#[derive(Debug)]
pub enum Write {
    /// Store a new object; [`Error::AlreadyExists`] if its name is taken.
    Create(Box<dyn AnyResource>),
    /// Replace a stored object; `expected` is the version it must still have (`0`:
    /// any). [`Error::NotFound`] if absent, [`Error::Conflict`] if changed.
    Update {
        /// The new state.
        object: Box<dyn AnyResource>,
        /// The version read, or `0`.
        expected: u64,
    },
    /// Remove a stored object; `expected` as for updates.
    Delete {
        /// The kind's key ([`kind_key`]).
        kind: String,
        /// The namespace (`""` for cluster-scoped kinds).
        namespace: String,
        /// The name.
        name: String,
        /// The version read, or `0`.
        expected: u64,
    },
}

/// A list: the objects, sorted by namespace and name, and the store's version at the
/// moment they were read (a watch from it misses nothing).
#[derive(Debug, Clone)]
pub struct ListResult {
    /// The objects.
    pub items: Vec<Obj>,
    /// The version of the snapshot.
    pub resource_version: u64,
}

/// How to watch.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// What to watch.
    pub filter: Filter,
    /// Deliver the changes after this version; `None` starts with an `Added` event per
    /// selected object, then the changes after the snapshot.
    pub from: Option<u64>,
    /// Send a bookmark after a minute (of `tokio` time) without events.
    pub bookmarks: bool,
}

/// The store plug-in point; see the module documentation for the rules.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The object `namespace/name` (`""` namespace for cluster-scoped kinds).
    async fn get(&self, kind: &str, namespace: &str, name: &str) -> Result<Option<Obj>, Error>;

    /// The objects the filter selects, sorted by namespace then name.
    async fn list(&self, kind: &str, filter: &Filter) -> Result<ListResult, Error>;

    /// Applies writes in order, each atomically with its own new version; one failing
    /// does not stop the others. The outer error means the backend failed.
    async fn write(&self, writes: Vec<Write>) -> Result<Vec<Result<Obj, Error>>, Error>;

    /// Watches a kind.
    async fn watch(&self, kind: &str, options: WatchOptions) -> Result<EventStream, Error>;

    /// The store's current version.
    async fn current_version(&self) -> Result<u64, Error>;
}

/// Parses a `resourceVersion` string; empty means `None`.
///
/// # Errors
/// [`Error::BadRequest`] when it is not a number.
pub fn parse_version(rv: Option<&str>) -> Result<u64, Error> {
    match rv {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| Error::BadRequest(format!("invalid resourceVersion {s:?}: not a number"))),
    }
}
