//! The tables of [`MemoryStore`](super::MemoryStore): the objects of a kind by
//! namespace, then by name.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::Obj;

/// The hashing of the store's tables: foldhash, seeded per process. Keys are short
/// names, for which SipHash cost as much as the rest of a lookup.
pub(super) type Hashing = foldhash::fast::RandomState;

/// A map of the store's tables.
pub(super) type Map<K, V> = HashMap<K, V, Hashing>;

/// A stored object keyed by its own `metadata.name`: the name set of a namespace holds
/// only the `Arc`, so a stored object costs no second copy of its name as a map key.
///
/// Hashing and equality are those of the name (`str`), so the set is looked up by
/// `&str` through [`Borrow`]. Stored objects are immutable, so the key never changes.
#[derive(Clone)]
pub(super) struct Named(pub(super) Obj);

impl Named {
    fn name(&self) -> &str {
        self.0.meta().name.as_deref().unwrap_or_default()
    }
}

impl Borrow<str> for Named {
    fn borrow(&self) -> &str {
        self.name()
    }
}

impl Hash for Named {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialEq for Named {
    fn eq(&self, other: &Named) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Named {}

/// The objects of one namespace, by name.
pub(super) type Names = HashSet<Named, Hashing>;

/// The objects of one kind by namespace: cluster-scoped objects in a set of their own,
/// namespaced ones by namespace.
///
/// Cluster-scoped objects are not kept under an empty-string key: comparing a looked-up
/// `""` with a stored empty `String` (whose pointer dangles) costs a slow masked load
/// in glibc's vectorised `memcmp` — ~100 ns, more than the rest of a lookup.
#[derive(Default)]
pub(super) struct Scopes {
    cluster: Names,
    namespaced: Map<String, Names>,
}

impl Scopes {
    /// The objects of `namespace` (`""`: the cluster-scoped ones), if any.
    pub(super) fn get(&self, namespace: &str) -> Option<&Names> {
        if namespace.is_empty() {
            Some(&self.cluster)
        } else {
            self.namespaced.get(namespace)
        }
    }

    /// The objects of `namespace`, made empty on first use.
    pub(super) fn names_mut(&mut self, namespace: &str) -> &mut Names {
        if namespace.is_empty() {
            return &mut self.cluster;
        }
        if !self.namespaced.contains_key(namespace) {
            self.namespaced
                .insert(namespace.to_owned(), Names::default());
        }
        self.namespaced
            .get_mut(namespace)
            .unwrap_or_else(|| unreachable!("the namespace was just added"))
    }

    /// Removes `name` from `namespace` (and the namespace's set once empty).
    pub(super) fn remove(&mut self, namespace: &str, name: &str) {
        if namespace.is_empty() {
            self.cluster.remove(name);
        } else if let Some(names) = self.namespaced.get_mut(namespace) {
            names.remove(name);
            if names.is_empty() {
                self.namespaced.remove(namespace);
            }
        }
    }

    /// Every namespace's objects, the cluster-scoped ones first.
    pub(super) fn values(&self) -> impl Iterator<Item = &Names> {
        std::iter::once(&self.cluster).chain(self.namespaced.values())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;
    use std::sync::Arc;

    use super::{Named, Obj, Scopes};
    use crate::api::{Namespace, Pod};
    use crate::meta::ObjectMeta;

    fn obj(name: &str, node: &str) -> Obj {
        let mut pod = Pod {
            metadata: ObjectMeta::named(name),
            ..Pod::default()
        };
        pod.spec.node_name = Some(node.to_owned());
        Arc::new(pod)
    }

    fn node(o: &Obj) -> Option<String> {
        o.field("spec.nodeName")
    }

    #[test]
    fn named_is_keyed_by_the_object_name() {
        let mut set: HashSet<Named> = HashSet::new();
        assert!(set.insert(Named(obj("a", "n1"))));
        assert!(set.insert(Named(obj("b", "n1"))));
        assert!(
            !set.insert(Named(obj("a", "n2"))),
            "a second `a` is a duplicate"
        );
        assert_eq!(set.len(), 2);
        assert!(set.contains("a") && set.contains("b") && !set.contains("c"));
        assert_eq!(node(&set.get("a").expect("a").0).as_deref(), Some("n1"));

        let old = set.replace(Named(obj("a", "n3"))).expect("replaced");
        assert_eq!(node(&old.0).as_deref(), Some("n1"));
        assert_eq!(node(&set.get("a").expect("a").0).as_deref(), Some("n3"));
        assert_eq!(set.len(), 2);

        assert!(set.remove("a"));
        assert!(!set.remove("a"));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn named_hashes_and_compares_as_its_name() {
        let set: HashSet<Named> = HashSet::new();
        let hasher = set.hasher();
        let a = Named(obj("pod-1", "n1"));
        assert_eq!(hasher.hash_one(&a), hasher.hash_one("pod-1"));
        assert!(a == Named(obj("pod-1", "other")));
        assert!(a != Named(obj("pod-2", "n1")));
        assert_eq!(Named(Arc::new(Pod::default())).name(), "");
    }

    fn names(scopes: &Scopes, namespace: &str) -> Vec<String> {
        let mut v: Vec<String> = scopes
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|n| n.name().to_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn scopes_keep_cluster_scoped_and_namespaced_objects_apart() {
        let mut scopes = Scopes::default();
        let ns: Obj = Arc::new(Namespace {
            metadata: ObjectMeta::named("team-a"),
            ..Namespace::default()
        });
        scopes.names_mut("").insert(Named(ns));
        scopes.names_mut("team-a").insert(Named(obj("web", "n1")));
        scopes.names_mut("team-b").insert(Named(obj("web", "n2")));
        assert_eq!(names(&scopes, ""), ["team-a"]);
        assert_eq!(names(&scopes, "team-a"), ["web"]);
        assert_eq!(scopes.values().map(HashSet::len).sum::<usize>(), 3);

        scopes.remove("team-a", "web");
        assert!(scopes.get("team-a").is_none(), "an emptied namespace goes");
        assert_eq!(names(&scopes, "team-b"), ["web"]);
        scopes.remove("", "team-a");
        assert!(scopes.get("").is_some_and(HashSet::is_empty));
        scopes.remove("nowhere", "web");
        assert_eq!(scopes.values().map(HashSet::len).sum::<usize>(), 1);
    }
}
