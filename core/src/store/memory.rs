//! [`MemoryStore`]: the default store — typed objects shared as `Arc`, one lock, a
//! bounded history for watches, and writer-side dispatch to watcher queues indexed by
//! the field a watcher selects on exactly (a node agent's `spec.nodeName`).

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use super::tables::{Map, Named, Names, Scopes};
use super::watch::{self, WatchQueue, transition};
use super::{
    EventStream, Filter, ListResult, Obj, Store, StoreEvent, WatchOptions, Write, kind_key,
};
use crate::error::{Error, object_name};

/// Sizes of a [`MemoryStore`].
#[derive(Debug, Clone, Copy)]
pub struct MemoryStoreConfig {
    /// Changes kept for watches that start from an old version.
    pub history: usize,
    /// Events a watcher may have pending before it is expired.
    pub watcher_buffer: usize,
}

impl Default for MemoryStoreConfig {
    fn default() -> Self {
        MemoryStoreConfig {
            history: 10_000,
            watcher_buffer: 100_000,
        }
    }
}

/// The in-memory store. Cloning shares it.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: RwLock<State>,
    config: MemoryStoreConfig,
}

#[derive(Default)]
struct State {
    version: u64,
    kinds: Map<String, KindTable>,
    history: VecDeque<Change>,
    /// The newest version dropped from the history: watches must start at or after it.
    compacted: u64,
    /// Where a write spells its kind's key (`apiVersion/kind`) to look its table up,
    /// kept between writes so that spelling it allocates nothing.
    key: String,
}

struct Change {
    version: u64,
    kind: Arc<str>,
    object: Obj,
    old: Option<Obj>,
    deleted: bool,
}

struct KindTable {
    key: Arc<str>,
    objects: Scopes,
    watchers: Vec<Weak<WatchQueue>>,
    /// Watchers that require `field == value`, by field then value.
    indexed: Map<String, Map<String, Vec<Weak<WatchQueue>>>>,
}

impl KindTable {
    fn new(key: &str) -> KindTable {
        KindTable {
            key: Arc::from(key),
            objects: Scopes::default(),
            watchers: Vec::new(),
            indexed: Map::default(),
        }
    }

    /// Queues the change at `version` for every watcher it concerns.
    fn dispatch(&mut self, version: u64, new: &Obj, old: Option<&Obj>, deleted: bool) {
        send(&mut self.watchers, version, new, old, deleted);
        for (field, by_value) in &mut self.indexed {
            let now = new.field(field).unwrap_or_default();
            let before = old.and_then(|o| o.field(field));
            if let Some(list) = by_value.get_mut(&now) {
                send(list, version, new, old, deleted);
            }
            if let Some(before) = before.filter(|b| *b != now)
                && let Some(list) = by_value.get_mut(&before)
            {
                send(list, version, new, old, deleted);
            }
        }
    }
}

fn send(
    list: &mut Vec<Weak<WatchQueue>>,
    version: u64,
    new: &Obj,
    old: Option<&Obj>,
    deleted: bool,
) {
    list.retain(|w| match w.upgrade() {
        Some(q) => {
            if let Some(event) = transition(&q.filter, new, old, deleted) {
                q.push(event, version);
            }
            true
        }
        None => false,
    });
}

fn with_version(obj: &mut dyn super::AnyResource, version: u64) {
    obj.meta_mut().resource_version = Some(version.to_string());
}

fn identity(obj: &dyn super::AnyResource) -> (String, String) {
    let meta = obj.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// The kind table of `api_version/kind` (made on first use), looked up by spelling the
/// key into `buffer` rather than into a new `String`.
fn table_mut<'a>(
    kinds: &'a mut Map<String, KindTable>,
    buffer: &mut String,
    api_version: &str,
    kind: &str,
) -> &'a mut KindTable {
    buffer.clear();
    buffer.push_str(api_version);
    buffer.push('/');
    buffer.push_str(kind);
    if !kinds.contains_key(buffer.as_str()) {
        kinds.insert(buffer.clone(), KindTable::new(buffer));
    }
    kinds
        .get_mut(buffer.as_str())
        .unwrap_or_else(|| unreachable!("the table was just made"))
}

impl State {
    fn record(
        &mut self,
        config: &MemoryStoreConfig,
        kind: &Arc<str>,
        object: &Obj,
        old: Option<Obj>,
        deleted: bool,
    ) {
        if let Some(table) = self.kinds.get_mut(&**kind) {
            table.dispatch(self.version, object, old.as_ref(), deleted);
        }
        self.remember(config, kind.clone(), object.clone(), old, deleted);
    }

    /// Keeps a change (already dispatched) in the history, within its bound.
    fn remember(
        &mut self,
        config: &MemoryStoreConfig,
        kind: Arc<str>,
        object: Obj,
        old: Option<Obj>,
        deleted: bool,
    ) {
        self.history.push_back(Change {
            version: self.version,
            kind,
            object,
            old,
            deleted,
        });
        while self.history.len() > config.history {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = dropped.version;
            }
        }
    }

    fn apply(&mut self, config: &MemoryStoreConfig, write: Write) -> Result<Obj, Error> {
        match write {
            Write::Create(mut obj) => {
                let table = table_mut(
                    &mut self.kinds,
                    &mut self.key,
                    obj.api_version(),
                    obj.kind(),
                );
                let meta = obj.meta();
                let ns = meta.namespace.as_deref().unwrap_or_default();
                let name = meta.name.as_deref().unwrap_or_default();
                if name.is_empty() {
                    return Err(Error::BadRequest(format!(
                        "{}: metadata.name: Required value",
                        table.key
                    )));
                }
                let names = table.objects.names_mut(ns);
                if names.contains(name) {
                    return Err(Error::AlreadyExists {
                        resource: table.key.to_string(),
                        name: object_name(ns, name),
                    });
                }
                self.version += 1;
                with_version(obj.as_mut(), self.version);
                let obj: Obj = Arc::from(obj);
                names.insert(Named(obj.clone()));
                table.dispatch(self.version, &obj, None, false);
                let kind = table.key.clone();
                self.remember(config, kind, obj.clone(), None, false);
                Ok(obj)
            }
            Write::Update {
                mut object,
                expected,
            } => {
                let key = kind_key(object.api_version(), object.kind());
                let (ns, name) = identity(object.as_ref());
                let current = self.current(&key, &ns, &name)?;
                check_expected(&key, &ns, &name, &current, expected)?;
                self.version += 1;
                with_version(object.as_mut(), self.version);
                let obj: Obj = Arc::from(object);
                let Some(table) = self.kinds.get_mut(&key) else {
                    return Err(Error::Store(format!("{key}: kind table vanished")));
                };
                table.objects.names_mut(&ns).replace(Named(obj.clone()));
                let kind = table.key.clone();
                self.record(config, &kind, &obj, Some(current), false);
                Ok(obj)
            }
            Write::Delete {
                kind: key,
                namespace,
                name,
                expected,
            } => {
                let current = self.current(&key, &namespace, &name)?;
                check_expected(&key, &namespace, &name, &current, expected)?;
                self.version += 1;
                let mut last = current.clone_boxed();
                with_version(last.as_mut(), self.version);
                let last: Obj = Arc::from(last);
                let Some(table) = self.kinds.get_mut(&key) else {
                    return Err(Error::Store(format!("{key}: kind table vanished")));
                };
                table.objects.remove(&namespace, &name);
                let kind = table.key.clone();
                self.record(config, &kind, &last, None, true);
                Ok(last)
            }
        }
    }

    fn current(&self, key: &str, ns: &str, name: &str) -> Result<Obj, Error> {
        self.kinds
            .get(key)
            .and_then(|t| t.objects.get(ns))
            .and_then(|n| n.get(name))
            .map(|n| n.0.clone())
            .ok_or_else(|| Error::NotFound {
                resource: key.to_owned(),
                name: object_name(ns, name),
            })
    }
}

fn check_expected(
    key: &str,
    ns: &str,
    name: &str,
    current: &Obj,
    expected: u64,
) -> Result<(), Error> {
    let have = super::parse_version(current.meta().resource_version.as_deref()).unwrap_or(0);
    if expected != 0 && expected != have {
        return Err(Error::Conflict {
            resource: key.to_owned(),
            name: object_name(ns, name),
            reason: "the object has been modified; please apply your changes to the latest version and try again"
                .to_owned(),
        });
    }
    Ok(())
}

impl MemoryStore {
    /// An empty store with the default sizes.
    #[must_use]
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store with the given sizes.
    #[must_use]
    pub fn with_config(config: MemoryStoreConfig) -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Inner {
                state: RwLock::default(),
                config,
            }),
        }
    }

    /// How many objects are stored, over all kinds.
    #[must_use]
    pub fn len(&self) -> usize {
        let st = self.read();
        st.kinds
            .values()
            .flat_map(|t| t.objects.values())
            .map(Names::len)
            .sum()
    }

    /// Whether nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The object, synchronously (the in-process fast path behind [`Store::get`]).
    #[must_use]
    pub fn get_now(&self, kind: &str, namespace: &str, name: &str) -> Option<Obj> {
        self.read()
            .kinds
            .get(kind)?
            .objects
            .get(namespace)?
            .get(name)
            .map(|n| n.0.clone())
    }

    fn watch_now(&self, kind: &str, options: WatchOptions) -> Result<EventStream, Error> {
        let mut st = self.write_lock();
        let version = st.version;
        let start = match options.from {
            Some(from) if from > version => {
                return Err(Error::TooLargeResourceVersion {
                    requested: from,
                    current: version,
                });
            }
            Some(from) if from < st.compacted => {
                return Err(Error::Expired {
                    requested: from,
                    oldest: st.compacted,
                });
            }
            Some(from) => from,
            None => version,
        };
        let queue = Arc::new(WatchQueue::new(
            options.filter,
            start,
            self.inner.config.watcher_buffer,
        ));
        match options.from {
            None => {
                let mut initial: Vec<Obj> = st
                    .kinds
                    .get(kind)
                    .map(|t| {
                        t.objects
                            .values()
                            .flatten()
                            .filter(|o| queue.filter.matches(o.0.as_ref()))
                            .map(|o| o.0.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                initial.sort_by_key(|o| identity(o.as_ref()));
                for o in initial {
                    let event = StoreEvent::Added(o);
                    let version = event.resource_version();
                    queue.push(event, version);
                }
            }
            Some(from) => {
                let first = st.history.partition_point(|c| c.version <= from);
                for change in st.history.range(first..).filter(|c| &*c.kind == kind) {
                    if let Some(event) = transition(
                        &queue.filter,
                        &change.object,
                        change.old.as_ref(),
                        change.deleted,
                    ) {
                        queue.push(event, change.version);
                    }
                }
            }
        }
        let table = st
            .kinds
            .entry(kind.to_owned())
            .or_insert_with(|| KindTable::new(kind));
        let weak = Arc::downgrade(&queue);
        let exact = ["spec.nodeName", "metadata.name"]
            .into_iter()
            .find_map(|f| queue.filter.fields.exact(f).map(|v| (f, v.to_owned())));
        match exact {
            Some((field, value)) => {
                table
                    .indexed
                    .entry(field.to_owned())
                    .or_default()
                    .entry(value)
                    .or_default()
                    .push(weak);
            }
            None => table.watchers.push(weak),
        }
        drop(st);
        let store = self.clone();
        let bookmark: Option<watch::BookmarkFn> = options.bookmarks.then(|| {
            let store = store.clone();
            Arc::new(move |q: &WatchQueue| {
                let st = store.read();
                q.bookmark_if_idle(st.version)
            }) as watch::BookmarkFn
        });
        let oldest = Arc::new(move || store.read().compacted);
        Ok(watch::stream(queue, bookmark, oldest))
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn get(&self, kind: &str, namespace: &str, name: &str) -> Result<Option<Obj>, Error> {
        Ok(self.get_now(kind, namespace, name))
    }

    async fn list(&self, kind: &str, filter: &Filter) -> Result<ListResult, Error> {
        let st = self.read();
        let mut items: Vec<Obj> = match st.kinds.get(kind) {
            None => Vec::new(),
            Some(t) => {
                let pick = |names: &Names| -> Vec<Obj> {
                    names
                        .iter()
                        .filter(|o| filter.matches(o.0.as_ref()))
                        .map(|o| o.0.clone())
                        .collect()
                };
                match &filter.namespace {
                    Some(ns) => t.objects.get(ns).map(pick).unwrap_or_default(),
                    None => t.objects.values().flat_map(pick).collect(),
                }
            }
        };
        let resource_version = st.version;
        drop(st);
        items.sort_by(|a, b| {
            let (x, y) = (a.meta(), b.meta());
            (x.namespace.as_deref(), x.name.as_deref())
                .cmp(&(y.namespace.as_deref(), y.name.as_deref()))
        });
        Ok(ListResult {
            items,
            resource_version,
        })
    }

    async fn write(&self, writes: Vec<Write>) -> Result<Vec<Result<Obj, Error>>, Error> {
        let mut st = self.write_lock();
        let config = self.inner.config;
        Ok(writes.into_iter().map(|w| st.apply(&config, w)).collect())
    }

    async fn watch(&self, kind: &str, options: WatchOptions) -> Result<EventStream, Error> {
        self.watch_now(kind, options)
    }

    async fn current_version(&self) -> Result<u64, Error> {
        Ok(self.read().version)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.read();
        f.debug_struct("MemoryStore")
            .field("version", &st.version)
            .field("kinds", &st.kinds.len())
            .field("history", &st.history.len())
            .finish_non_exhaustive()
    }
}
