//! [`Cache`]: a typed, indexed, in-memory view of one kind (kube-runtime's reflector
//! store, client-go's indexer), fed by a list+watch and shared by every reader.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use keel_core::Resource;
use keel_core::labels::Selector;
use tokio::sync::{mpsc, watch};

use super::reference::ObjectRef;

/// The index of objects by namespace (value: the namespace).
pub const BY_NAMESPACE: &str = "namespace";
/// The index of objects by the uid of their controller owner (the ownerReference with
/// `controller: true`).
pub const BY_CONTROLLER_UID: &str = "controller-uid";
/// The index of objects by `spec.nodeName` (pods bound to a node; unset is not indexed).
pub const BY_NODE_NAME: &str = "spec.nodeName";
/// Built-in index: objects without a controller owner, by namespace (the orphans a
/// workload controller may adopt).
pub const ORPHANS_BY_NAMESPACE: &str = "orphans-by-namespace";

/// Computes the values an object is indexed under.
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// One change seen by a cache: `old` is what the cache held before (`None` for a new
/// object), `new` what it holds now (`None` once the object is deleted).
#[derive(Debug)]
pub struct Change<K> {
    /// The previous state, if the cache had the object.
    pub old: Option<Arc<K>>,
    /// The new state; `None` when the object was deleted.
    pub new: Option<Arc<K>>,
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        Change {
            old: self.old.clone(),
            new: self.new.clone(),
        }
    }
}

impl<K> Change<K> {
    /// The newest state known: `new`, or for a deletion the last state.
    pub fn object(&self) -> Option<&Arc<K>> {
        self.new.as_ref().or(self.old.as_ref())
    }
}

/// A shared, typed view of the objects of `K`. Cloning shares it. Objects are held as
/// `Arc<K>` as the store hands them out: reading never copies an object.
pub struct Cache<K> {
    inner: Arc<CacheInner<K>>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache {
            inner: self.inner.clone(),
        }
    }
}

impl<K> std::fmt::Debug for Cache<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("objects", &self.inner.read().objects.len())
            .field("ready", &*self.inner.ready.borrow())
            .finish()
    }
}

pub(crate) struct CacheInner<K> {
    state: RwLock<State<K>>,
    ready: watch::Sender<bool>,
}

struct State<K> {
    objects: BTreeMap<ObjectRef, Arc<K>>,
    indexers: HashMap<String, IndexFn<K>>,
    indices: HashMap<String, HashMap<String, BTreeSet<ObjectRef>>>,
    subscribers: Vec<mpsc::UnboundedSender<Change<K>>>,
}

impl<K> CacheInner<K> {
    fn read(&self) -> RwLockReadGuard<'_, State<K>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State<K>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Resource> State<K> {
    fn index(&mut self, key: &ObjectRef, obj: &K) {
        for (name, f) in &self.indexers {
            let index = self.indices.entry(name.clone()).or_default();
            for value in f(obj) {
                index.entry(value).or_default().insert(key.clone());
            }
        }
    }

    fn unindex(&mut self, key: &ObjectRef, obj: &K) {
        for (name, f) in &self.indexers {
            let Some(index) = self.indices.get_mut(name) else {
                continue;
            };
            for value in f(obj) {
                if let Some(keys) = index.get_mut(&value) {
                    keys.remove(key);
                    if keys.is_empty() {
                        index.remove(&value);
                    }
                }
            }
        }
    }

    fn notify(&mut self, change: &Change<K>) {
        self.subscribers.retain(|s| s.send(change.clone()).is_ok());
    }

    fn upsert(&mut self, obj: &Arc<K>) -> Option<Arc<K>> {
        let key = ObjectRef::from_obj(&**obj);
        let old = self.objects.insert(key.clone(), obj.clone());
        if let Some(old) = &old {
            self.unindex(&key, old);
        }
        self.index(&key, obj);
        old
    }

    fn remove(&mut self, key: &ObjectRef) -> Option<Arc<K>> {
        let old = self.objects.remove(key)?;
        self.unindex(key, &old);
        Some(old)
    }
}

fn same_version<K: Resource>(a: &K, b: &K) -> bool {
    let (a, b) = (a.meta(), b.meta());
    a.resource_version.is_some() && a.resource_version == b.resource_version && a.uid == b.uid
}

impl<K: Resource> Default for Cache<K> {
    fn default() -> Self {
        Cache::new()
    }
}

impl<K: Resource> Cache<K> {
    /// An empty cache, not yet ready, with the built-in indexers ([`BY_NAMESPACE`],
    /// [`BY_CONTROLLER_UID`], [`ORPHANS_BY_NAMESPACE`], and [`BY_NODE_NAME`] for kinds that have `spec.nodeName`).
    /// Feed it with [`reflector`](super::reflector) or use the shared one from
    /// [`Informers`](super::Informers).
    pub fn new() -> Cache<K> {
        let cache = Cache {
            inner: Arc::new(CacheInner {
                state: RwLock::new(State {
                    objects: BTreeMap::new(),
                    indexers: HashMap::new(),
                    indices: HashMap::new(),
                    subscribers: Vec::new(),
                }),
                ready: watch::channel(false).0,
            }),
        };
        cache.add_indexer(BY_NAMESPACE, |o: &K| {
            o.meta()
                .namespace
                .iter()
                .filter(|n| !n.is_empty())
                .cloned()
                .collect()
        });
        cache.add_indexer(BY_CONTROLLER_UID, |o: &K| {
            o.meta()
                .controller_owner()
                .map(|r| r.uid.clone())
                .into_iter()
                .collect()
        });
        cache.add_indexer(ORPHANS_BY_NAMESPACE, |o: &K| {
            let meta = o.meta();
            match (meta.controller_owner(), meta.namespace_str()) {
                (None, Some(ns)) => vec![ns.to_owned()],
                _ => Vec::new(),
            }
        });
        cache.add_indexer(BY_NODE_NAME, |o: &K| {
            o.field_value("spec.nodeName")
                .filter(|n| !n.is_empty())
                .into_iter()
                .collect()
        });
        cache
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<CacheInner<K>> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn from_inner(inner: Arc<CacheInner<K>>) -> Cache<K> {
        Cache { inner }
    }

    /// Adds (or replaces) the index `name`: `f` gives the values each object is indexed
    /// under. Objects already cached are indexed at once.
    pub fn add_indexer(&self, name: &str, f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) {
        let mut st = self.inner.write();
        st.indexers.insert(name.to_owned(), Arc::new(f));
        st.indices.remove(name);
        let f = st.indexers[name].clone();
        let mut index: HashMap<String, BTreeSet<ObjectRef>> = HashMap::new();
        for (key, obj) in &st.objects {
            for value in f(obj) {
                index.entry(value).or_default().insert(key.clone());
            }
        }
        st.indices.insert(name.to_owned(), index);
    }

    /// The object `key`, if cached.
    pub fn get(&self, key: &ObjectRef) -> Option<Arc<K>> {
        self.inner.read().objects.get(key).cloned()
    }

    /// Every cached object, ordered by namespace then name.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.inner.read().objects.values().cloned().collect()
    }

    /// The cached objects in `namespace`.
    pub fn list_in(&self, namespace: &str) -> Vec<Arc<K>> {
        self.by_index(BY_NAMESPACE, namespace)
    }

    /// The cached objects whose labels match `selector`, in any namespace (`None`) or in
    /// one.
    pub fn select(&self, namespace: Option<&str>, selector: &Selector) -> Vec<Arc<K>> {
        let st = self.inner.read();
        let matches = |o: &&Arc<K>| selector.matches(&o.meta().labels);
        match namespace {
            None => st.objects.values().filter(matches).cloned().collect(),
            Some(ns) => st
                .indices
                .get(BY_NAMESPACE)
                .and_then(|i| i.get(ns))
                .into_iter()
                .flatten()
                .filter_map(|k| st.objects.get(k))
                .filter(matches)
                .cloned()
                .collect(),
        }
    }

    /// The cached objects indexed under `value` by the index `index` (empty if there is
    /// no such index), ordered by namespace then name.
    pub fn by_index(&self, index: &str, value: &str) -> Vec<Arc<K>> {
        let st = self.inner.read();
        st.indices
            .get(index)
            .and_then(|i| i.get(value))
            .into_iter()
            .flatten()
            .filter_map(|k| st.objects.get(k))
            .cloned()
            .collect()
    }

    /// The values of index `index` that have objects.
    pub fn index_values(&self, index: &str) -> Vec<String> {
        let st = self.inner.read();
        let mut values: Vec<String> = st
            .indices
            .get(index)
            .map(|i| i.keys().cloned().collect())
            .unwrap_or_default();
        values.sort();
        values
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.inner.read().objects.len()
    }

    /// Whether the cache holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first complete list has been loaded.
    pub fn is_ready(&self) -> bool {
        *self.inner.ready.borrow()
    }

    /// Waits until the first complete list has been loaded (client-go's
    /// `WaitForCacheSync`).
    pub async fn wait_until_ready(&self) {
        let mut rx = self.inner.ready.subscribe();
        // The sender lives in `self`, so this only ends with `true`.
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// A stream of every change from now on, starting with an `old: None` change for
    /// each object already cached (as a new client-go event handler is told).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Change<K>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.inner.write();
        for obj in st.objects.values() {
            let _ = tx.send(Change {
                old: None,
                new: Some(obj.clone()),
            });
        }
        st.subscribers.push(tx);
        rx
    }

    /// Stores `obj` (created or changed) and tells subscribers.
    pub fn apply(&self, obj: Arc<K>) {
        let mut st = self.inner.write();
        let old = st.upsert(&obj);
        if old.as_ref().is_some_and(|o| same_version(&**o, &*obj)) {
            return;
        }
        st.notify(&Change {
            old,
            new: Some(obj),
        });
    }

    /// Removes `obj` (deleted) and tells subscribers.
    pub fn delete(&self, obj: &Arc<K>) {
        let key = ObjectRef::from_obj(&**obj);
        let mut st = self.inner.write();
        let old = st.remove(&key).unwrap_or_else(|| obj.clone());
        st.notify(&Change {
            old: Some(old),
            new: None,
        });
    }

    /// Replaces the whole content with `objects` (a complete list), telling subscribers
    /// what changed — including deletions missed while a watch was down — and marks
    /// the cache ready.
    pub fn replace_all(&self, objects: Vec<Arc<K>>) {
        let mut st = self.inner.write();
        let mut gone: BTreeSet<ObjectRef> = st.objects.keys().cloned().collect();
        for obj in objects {
            let key = ObjectRef::from_obj(&*obj);
            gone.remove(&key);
            let old = st.upsert(&obj);
            if old.as_ref().is_some_and(|o| same_version(&**o, &*obj)) {
                continue;
            }
            st.notify(&Change {
                old,
                new: Some(obj),
            });
        }
        for key in gone {
            if let Some(old) = st.remove(&key) {
                st.notify(&Change {
                    old: Some(old),
                    new: None,
                });
            }
        }
        drop(st);
        self.inner.ready.send_replace(true);
    }
}
