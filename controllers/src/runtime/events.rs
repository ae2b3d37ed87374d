//! [`Recorder`]: writes `Event` objects about the objects a controller works on,
//! correlated like client-go's `EventCorrelator`: an identical event bumps the `count`
//! of the one already written, and more than [`MAX_SIMILAR`] events that differ only in
//! their message within [`AGGREGATE_INTERVAL`] are combined into one.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use keel_core::api::{Event, EventSource, ObjectReference};
use keel_core::client::{Api, Client, Patch};
use keel_core::meta::{ObjectMeta, Time};
use keel_core::{Error, Resource};
use tokio::time::Instant;

/// How many events with the same source, object, type and reason but different
/// messages are written apart before they are combined (client-go's `maxEvents`).
pub const MAX_SIMILAR: usize = 10;
/// The window in which similar events are counted (client-go's 10 minutes).
pub const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// The prefix of a combined event's message.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// The type of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something worth knowing happened.
    Normal,
    /// Something went wrong.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => Event::TYPE_NORMAL,
            EventType::Warning => Event::TYPE_WARNING,
        }
    }
}

/// The object an event is about, built from any object.
pub fn reference<K: Resource>(obj: &K) -> ObjectReference {
    let meta = obj.meta();
    ObjectReference {
        kind: Some(K::KIND.to_owned()),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        api_version: Some(K::API_VERSION.to_owned()),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SimilarKey {
    object: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    type_: EventType,
    reason: String,
}

#[derive(Debug)]
struct Similar {
    messages: BTreeSet<String>,
    last: Instant,
}

#[derive(Debug)]
struct Written {
    namespace: String,
    name: String,
    count: i32,
    first: Time,
}

#[derive(Debug, Default)]
struct State {
    similar: HashMap<SimilarKey, Similar>,
    /// Written events by their dedupe key (the similar key plus the message, or the
    /// similar key alone for a combined event).
    written: HashMap<(SimilarKey, Option<String>), Written>,
}

/// How many aggregation and dedupe records are kept (client-go's LRU size).
pub const CACHE_SIZE: usize = 4096;

/// Writes events for one reporting component. Cheap to share behind an `Arc`;
/// publishes are serialised (as client-go's single broadcaster goroutine), so counts
/// are never lost between concurrent publishes.
#[derive(Debug)]
pub struct Recorder {
    client: Client,
    source: EventSource,
    state: Mutex<State>,
    writing: tokio::sync::Mutex<()>,
    seq: AtomicU64,
}

/// Makes room in a bounded cache (an arbitrary old entry goes, as in an LRU at its size).
fn bound<K: Clone + Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.len() >= CACHE_SIZE
        && let Some(k) = map.keys().next().cloned()
    {
        map.remove(&k);
    }
}

impl Recorder {
    /// A recorder for `component` (e.g. `replicaset-controller`).
    pub fn new(client: &Client, component: &str) -> Recorder {
        Recorder {
            client: client.clone(),
            source: EventSource {
                component: Some(component.to_owned()),
                host: None,
            },
            state: Mutex::new(State::default()),
            writing: tokio::sync::Mutex::new(()),
            seq: AtomicU64::new(0),
        }
    }

    /// Records an event about `obj`.
    pub async fn publish<K: Resource>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        message: &str,
    ) -> Result<(), Error> {
        self.publish_for(reference(obj), type_, reason, message)
            .await
    }

    /// Records an informational event about `obj`.
    pub async fn normal<K: Resource>(
        &self,
        obj: &K,
        reason: &str,
        message: &str,
    ) -> Result<(), Error> {
        self.publish(obj, EventType::Normal, reason, message).await
    }

    /// Records a warning about `obj`.
    pub async fn warning<K: Resource>(
        &self,
        obj: &K,
        reason: &str,
        message: &str,
    ) -> Result<(), Error> {
        self.publish(obj, EventType::Warning, reason, message).await
    }

    /// Records an event about the object `involved` refers to.
    pub async fn publish_for(
        &self,
        involved: ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) -> Result<(), Error> {
        let similar = SimilarKey {
            object: (
                involved.namespace.clone(),
                involved.kind.clone(),
                involved.name.clone(),
                involved.uid.clone(),
            ),
            type_,
            reason: reason.to_owned(),
        };
        let _serial = self.writing.lock().await;
        let now = self.client.clock().now();
        // Correlate: which event this is, and whether it was written before.
        let (key, message, previous) = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if !st.similar.contains_key(&similar) {
                bound(&mut st.similar);
            }
            let entry = st
                .similar
                .entry(similar.clone())
                .or_insert_with(|| Similar {
                    messages: BTreeSet::new(),
                    last: Instant::now(),
                });
            if entry.last.elapsed() > AGGREGATE_INTERVAL {
                entry.messages.clear();
            }
            entry.last = Instant::now();
            entry.messages.insert(message.to_owned());
            let (key, message) = if entry.messages.len() < MAX_SIMILAR {
                ((similar, Some(message.to_owned())), message.to_owned())
            } else {
                // Do not grow the set past the limit (client-go's `PopAny`).
                entry.messages.pop_first();
                ((similar, None), format!("{COMBINED_PREFIX}{message}"))
            };
            let previous = st.written.get(&key).map(|w| {
                (
                    w.namespace.clone(),
                    w.name.clone(),
                    w.count,
                    w.first.clone(),
                )
            });
            (key, message, previous)
        };
        if let Some((namespace, name, count, first)) = previous {
            let api: Api<Event> = Api::namespaced(&self.client, &namespace);
            let patch = Patch::Merge(serde_json::json!({
                "count": count + 1,
                "message": message,
                "lastTimestamp": now,
            }));
            match api.patch(&name, &patch).await {
                Ok(_) => {
                    self.remember(key, namespace, name, count + 1, first);
                    return Ok(());
                }
                // Deleted (e.g. expired) meanwhile: write a new one.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let namespace = involved
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let object_name = involved.name.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(&self.client, &namespace);
        loop {
            let nanos = u64::try_from(now.0.timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0)
                + self.seq.fetch_add(1, Ordering::Relaxed);
            let name = format!("{object_name}.{nanos:x}");
            let event = Event {
                metadata: ObjectMeta::namespaced(&namespace, &name),
                involved_object: involved.clone(),
                reason: Some(reason.to_owned()),
                message: Some(message.clone()),
                source: Some(self.source.clone()),
                first_timestamp: Some(now.clone()),
                last_timestamp: Some(now.clone()),
                count: Some(1),
                type_: Some(type_.as_str().to_owned()),
                reporting_component: self.source.component.clone(),
                ..Event::default()
            };
            match api.create_owned(event).await {
                Ok(_) => {
                    self.remember(key, namespace, name, 1, now);
                    return Ok(());
                }
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn remember(
        &self,
        key: (SimilarKey, Option<String>),
        namespace: String,
        name: String,
        count: i32,
        first: Time,
    ) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !st.written.contains_key(&key) {
            bound(&mut st.written);
        }
        st.written.insert(
            key,
            Written {
                namespace,
                name,
                count,
                first,
            },
        );
    }
}
