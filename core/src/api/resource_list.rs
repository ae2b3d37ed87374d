//! [`ResourceList`]: resource name (`cpu`, `memory`, …) to quantity, as a small sorted
//! map.
//!
//! A resource list holds a handful of entries, and every container's `requests` and
//! `limits` has one, in every stored pod. A `BTreeMap` allocates a whole node (room for
//! eleven entries, 632 bytes) for the first entry; a `ResourceList` keeps its entries in
//! one vector sorted by name and sized to its contents (56 bytes per entry). It offers
//! the `BTreeMap` methods that resource lists are used with (`get`, `insert`, `entry`,
//! `iter`, `for (name, quantity) in &list`, `collect`, …), iterates in the same order,
//! and has the same JSON, YAML and schema: a map from names to quantities.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;
use std::fmt;
use std::iter::FusedIterator;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::quantity::Quantity;

/// Resource name (`cpu`, `memory`, …) to quantity: a map sorted by name, kept as one
/// vector no larger than its entries (see the [module documentation](self)).
///
/// Equality, ordering and hashing are those of the sorted entries, as for a `BTreeMap`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceList {
    /// Sorted by name, names unique.
    entries: Vec<(String, Quantity)>,
}

impl ResourceList {
    /// An empty list (allocates nothing).
    #[must_use]
    pub const fn new() -> ResourceList {
        ResourceList {
            entries: Vec::new(),
        }
    }

    /// How many resources are listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no resource is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find<Q>(&self, name: &Q) -> Result<usize, usize>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries
            .binary_search_by(|(k, _)| Borrow::<Q>::borrow(k).cmp(name))
    }

    /// The quantity of `name`.
    pub fn get<Q>(&self, name: &Q) -> Option<&Quantity>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(name).ok().map(|i| &self.entries[i].1)
    }

    /// The name as stored and the quantity of `name`.
    pub fn get_key_value<Q>(&self, name: &Q) -> Option<(&String, &Quantity)>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(name).ok().map(|i| {
            let (k, v) = &self.entries[i];
            (k, v)
        })
    }

    /// The quantity of `name`, mutably.
    pub fn get_mut<Q>(&mut self, name: &Q) -> Option<&mut Quantity>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(name).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `name` is listed.
    pub fn contains_key<Q>(&self, name: &Q) -> bool
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(name).is_ok()
    }

    /// Sets the quantity of `name`, returning the one it replaces.
    pub fn insert(&mut self, name: String, quantity: Quantity) -> Option<Quantity> {
        match self.find(name.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, quantity)),
            Err(i) => {
                self.insert_at(i, name, quantity);
                None
            }
        }
    }

    /// Inserts at `i`, growing the vector by exactly one entry (lists are short: the
    /// vector stays as small as its contents).
    fn insert_at(&mut self, i: usize, name: String, quantity: Quantity) -> &mut Quantity {
        self.entries.reserve_exact(1);
        self.entries.insert(i, (name, quantity));
        &mut self.entries[i].1
    }

    /// Removes `name`, returning its quantity.
    pub fn remove<Q>(&mut self, name: &Q) -> Option<Quantity>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.remove_entry(name).map(|(_, v)| v)
    }

    /// Removes `name`, returning the name as stored and its quantity.
    pub fn remove_entry<Q>(&mut self, name: &Q) -> Option<(String, Quantity)>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(name).ok().map(|i| self.entries.remove(i))
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Quantity) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entry of `name`, to read or change in place.
    pub fn entry(&mut self, name: String) -> Entry<'_> {
        match self.find(name.as_str()) {
            Ok(index) => Entry::Occupied(OccupiedEntry { list: self, index }),
            Err(index) => Entry::Vacant(VacantEntry {
                list: self,
                index,
                name,
            }),
        }
    }

    /// The entries, sorted by name.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// The entries, sorted by name, with mutable quantities.
    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut(self.entries.iter_mut())
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The quantities, in the order of their names.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Quantity> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The quantities, mutably, in the order of their names.
    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Quantity> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The first entry (the smallest name).
    pub fn first_key_value(&self) -> Option<(&String, &Quantity)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    /// The last entry (the largest name).
    pub fn last_key_value(&self) -> Option<(&String, &Quantity)> {
        self.entries.last().map(|(k, v)| (k, v))
    }

    /// Sorts `entries` by name, the last of equal names winning (as inserting them into a
    /// map one by one would), and drops spare capacity.
    fn from_entries(mut entries: Vec<(String, Quantity)>) -> ResourceList {
        // Reversed, then sorted stably: of equal names, the last given comes first, and
        // `dedup_by` keeps the first of each run.
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, kept| later.0 == kept.0);
        entries.shrink_to_fit();
        ResourceList { entries }
    }
}

/// One entry of a [`ResourceList`], present or not (see [`ResourceList::entry`]).
pub enum Entry<'a> {
    /// The name is listed.
    Occupied(OccupiedEntry<'a>),
    /// The name is not listed.
    Vacant(VacantEntry<'a>),
}

/// A listed entry.
pub struct OccupiedEntry<'a> {
    list: &'a mut ResourceList,
    index: usize,
}

/// An entry not listed yet.
pub struct VacantEntry<'a> {
    list: &'a mut ResourceList,
    index: usize,
    name: String,
}

impl<'a> Entry<'a> {
    /// The entry's name.
    pub fn key(&self) -> &String {
        match self {
            Entry::Occupied(o) => o.key(),
            Entry::Vacant(v) => v.key(),
        }
    }

    /// The quantity, inserting `default` if absent.
    pub fn or_insert(self, default: Quantity) -> &'a mut Quantity {
        self.or_insert_with(|| default)
    }

    /// The quantity, inserting `default()` if absent.
    pub fn or_insert_with(self, default: impl FnOnce() -> Quantity) -> &'a mut Quantity {
        match self {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(default()),
        }
    }

    /// The quantity, inserting zero if absent.
    pub fn or_default(self) -> &'a mut Quantity {
        self.or_insert_with(Quantity::default)
    }

    /// Changes the quantity if present.
    #[allow(
        clippy::return_self_not_must_use,
        reason = "as `BTreeMap`'s: `entry(k).and_modify(f)` alone is a complete statement"
    )]
    pub fn and_modify(self, f: impl FnOnce(&mut Quantity)) -> Entry<'a> {
        match self {
            Entry::Occupied(mut o) => {
                f(o.get_mut());
                Entry::Occupied(o)
            }
            vacant @ Entry::Vacant(_) => vacant,
        }
    }
}

impl<'a> OccupiedEntry<'a> {
    /// The entry's name.
    pub fn key(&self) -> &String {
        &self.list.entries[self.index].0
    }

    /// The quantity.
    pub fn get(&self) -> &Quantity {
        &self.list.entries[self.index].1
    }

    /// The quantity, mutably.
    pub fn get_mut(&mut self) -> &mut Quantity {
        &mut self.list.entries[self.index].1
    }

    /// The quantity, mutably, for as long as the list is borrowed.
    pub fn into_mut(self) -> &'a mut Quantity {
        &mut self.list.entries[self.index].1
    }

    /// Replaces the quantity, returning the old one.
    pub fn insert(&mut self, quantity: Quantity) -> Quantity {
        std::mem::replace(self.get_mut(), quantity)
    }

    /// Removes the entry, returning its quantity.
    pub fn remove(self) -> Quantity {
        self.list.entries.remove(self.index).1
    }
}

impl<'a> VacantEntry<'a> {
    /// The entry's name.
    pub fn key(&self) -> &String {
        &self.name
    }

    /// Lists the name with `quantity`.
    pub fn insert(self, quantity: Quantity) -> &'a mut Quantity {
        self.list.insert_at(self.index, self.name, quantity)
    }
}

/// The entries of a [`ResourceList`], sorted by name ([`ResourceList::iter`]).
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (String, Quantity)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a Quantity);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// The entries of a [`ResourceList`] with mutable quantities ([`ResourceList::iter_mut`]).
#[derive(Debug)]
pub struct IterMut<'a>(std::slice::IterMut<'a, (String, Quantity)>);

impl<'a> Iterator for IterMut<'a> {
    type Item = (&'a String, &'a mut Quantity);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&*k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IterMut<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&*k, v))
    }
}

impl ExactSizeIterator for IterMut<'_> {}
impl FusedIterator for IterMut<'_> {}

/// The entries of a [`ResourceList`], by value, sorted by name.
#[derive(Debug)]
pub struct IntoIter(std::vec::IntoIter<(String, Quantity)>);

impl Iterator for IntoIter {
    type Item = (String, Quantity);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IntoIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for IntoIter {}
impl FusedIterator for IntoIter {}

impl IntoIterator for ResourceList {
    type Item = (String, Quantity);
    type IntoIter = IntoIter;
    fn into_iter(self) -> IntoIter {
        IntoIter(self.entries.into_iter())
    }
}

impl<'a> IntoIterator for &'a ResourceList {
    type Item = (&'a String, &'a Quantity);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut ResourceList {
    type Item = (&'a String, &'a mut Quantity);
    type IntoIter = IterMut<'a>;
    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

impl FromIterator<(String, Quantity)> for ResourceList {
    fn from_iter<I: IntoIterator<Item = (String, Quantity)>>(iter: I) -> ResourceList {
        ResourceList::from_entries(iter.into_iter().collect())
    }
}

impl Extend<(String, Quantity)> for ResourceList {
    fn extend<I: IntoIterator<Item = (String, Quantity)>>(&mut self, iter: I) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.extend(iter);
        *self = ResourceList::from_entries(entries);
    }
}

impl<const N: usize> From<[(String, Quantity); N]> for ResourceList {
    fn from(entries: [(String, Quantity); N]) -> ResourceList {
        ResourceList::from_entries(entries.into())
    }
}

impl From<BTreeMap<String, Quantity>> for ResourceList {
    fn from(map: BTreeMap<String, Quantity>) -> ResourceList {
        // Already sorted and unique.
        ResourceList {
            entries: map.into_iter().collect(),
        }
    }
}

impl From<ResourceList> for BTreeMap<String, Quantity> {
    fn from(list: ResourceList) -> BTreeMap<String, Quantity> {
        list.into_iter().collect()
    }
}

impl<Q> std::ops::Index<&Q> for ResourceList
where
    String: Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = Quantity;
    /// # Panics
    /// When `name` is not listed.
    fn index(&self, name: &Q) -> &Quantity {
        self.get(name).expect("no entry found for key")
    }
}

impl fmt::Debug for ResourceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for ResourceList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ResourceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ResourceList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of resource names to quantities")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResourceList, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<String, Quantity>()? {
                    entries.push(entry);
                }
                Ok(ResourceList::from_entries(entries))
            }
        }
        d.deserialize_map(ListVisitor)
    }
}

impl JsonSchema for ResourceList {
    fn schema_name() -> Cow<'static, str> {
        <BTreeMap<String, Quantity>>::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        <BTreeMap<String, Quantity>>::schema_id()
    }
    fn inline_schema() -> bool {
        <BTreeMap<String, Quantity>>::inline_schema()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <BTreeMap<String, Quantity>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Entry, ResourceList};
    use crate::quantity::Quantity;

    fn q(s: &str) -> Quantity {
        s.parse().expect("quantity")
    }

    fn list(entries: &[(&str, &str)]) -> ResourceList {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), q(v)))
            .collect()
    }

    #[test]
    fn a_map_sorted_by_name() {
        let mut l = ResourceList::new();
        assert!(l.is_empty());
        assert_eq!(l.insert("memory".into(), q("1Gi")), None);
        assert_eq!(l.insert("cpu".into(), q("1")), None);
        assert_eq!(l.insert("pods".into(), q("10")), None);
        assert_eq!(l.insert("cpu".into(), q("2")), Some(q("1")));
        assert_eq!(l.len(), 3);
        assert_eq!(l.keys().collect::<Vec<_>>(), ["cpu", "memory", "pods"]);
        assert_eq!(l.get("cpu"), Some(&q("2")));
        assert_eq!(l.get(&"memory".to_owned()), Some(&q("1Gi")));
        assert_eq!(l["pods"], q("10"));
        assert_eq!(l.get("gpu"), None);
        assert!(l.contains_key("pods") && !l.contains_key("gpu"));
        assert_eq!(l.first_key_value().map(|(k, _)| k.as_str()), Some("cpu"));
        assert_eq!(l.last_key_value().map(|(k, _)| k.as_str()), Some("pods"));
        *l.get_mut("pods").expect("pods") = q("20");
        for (_, v) in &mut l {
            *v = &*v + &q("1");
        }
        assert_eq!(
            l,
            list(&[("cpu", "3"), ("memory", "1073741825"), ("pods", "21")])
        );
        assert_eq!(l.remove("memory"), Some(q("1073741825")));
        assert_eq!(l.remove("memory"), None);
        l.retain(|k, _| k != "pods");
        assert_eq!(l.iter().collect::<Vec<_>>(), [(&"cpu".to_owned(), &q("3"))]);
        l.clear();
        assert!(l.is_empty());
    }

    #[test]
    fn entries_read_and_change_in_place() {
        let mut l = list(&[("cpu", "1")]);
        *l.entry("cpu".into()).or_insert(q("5")) = q("2");
        *l.entry("memory".into()).or_default() = q("1Mi");
        l.entry("cpu".into()).and_modify(|v| *v = &*v + &q("1"));
        l.entry("pods".into())
            .and_modify(|v| *v = q("0"))
            .or_insert_with(|| q("7"));
        assert_eq!(l, list(&[("cpu", "3"), ("memory", "1Mi"), ("pods", "7")]));
        match l.entry("pods".into()) {
            Entry::Occupied(mut o) => {
                assert_eq!(o.key(), "pods");
                assert_eq!(o.insert(q("8")), q("7"));
                assert_eq!(o.remove(), q("8"));
            }
            Entry::Vacant(_) => panic!("pods is listed"),
        }
        match l.entry("gpu".into()) {
            Entry::Vacant(v) => {
                assert_eq!(v.key(), "gpu");
                v.insert(q("1"));
            }
            Entry::Occupied(_) => panic!("gpu is not listed"),
        }
        assert_eq!(l.keys().collect::<Vec<_>>(), ["cpu", "gpu", "memory"]);
    }

    #[test]
    fn sized_to_its_contents() {
        let mut l = ResourceList::new();
        for name in ["e", "d", "c", "b", "a"] {
            l.insert(name.into(), q("1"));
            assert_eq!(l.entries.capacity(), l.len());
        }
        let collected = list(&[("cpu", "1"), ("memory", "1Gi")]);
        assert_eq!(collected.entries.capacity(), 2);
        let parsed: ResourceList =
            serde_json::from_str(r#"{"memory": "128Mi", "cpu": "100m"}"#).expect("json");
        assert_eq!(parsed.entries.capacity(), 2);
    }

    #[test]
    fn the_last_of_equal_names_wins() {
        let l = list(&[("cpu", "1"), ("memory", "1Gi"), ("cpu", "2")]);
        assert_eq!(l, list(&[("cpu", "2"), ("memory", "1Gi")]));
        let mut e = list(&[("cpu", "1")]);
        e.extend([("pods".to_owned(), q("3")), ("cpu".to_owned(), q("4"))]);
        assert_eq!(e, list(&[("cpu", "4"), ("pods", "3")]));
        let parsed: ResourceList =
            serde_json::from_str(r#"{"cpu": "1", "cpu": "2"}"#).expect("json");
        assert_eq!(parsed, list(&[("cpu", "2")]));
    }

    #[test]
    fn the_same_wire_form_and_schema_as_a_btree_map() {
        let json = r#"{"memory":"128Mi","cpu":"100m","nvidia.com/gpu":"1"}"#;
        let l: ResourceList = serde_json::from_str(json).expect("json");
        let m: BTreeMap<String, Quantity> = serde_json::from_str(json).expect("json");
        assert_eq!(
            serde_json::to_string(&l).expect("to json"),
            serde_json::to_string(&m).expect("to json")
        );
        assert_eq!(format!("{l:?}"), format!("{m:?}"));
        assert_eq!(BTreeMap::from(l.clone()), m);
        assert_eq!(ResourceList::from(m), l);
        assert_eq!(
            l.clone().into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["cpu", "memory", "nvidia.com/gpu"]
        );
        assert_eq!(
            serde_json::to_value(schemars::schema_for!(ResourceList)).expect("schema"),
            serde_json::to_value(schemars::schema_for!(BTreeMap<String, Quantity>))
                .expect("schema")
        );
        let bad = serde_json::from_str::<ResourceList>(r#"{"cpu": "1.1.1"}"#);
        assert!(bad.is_err());
        assert_eq!(
            ResourceList::from([("b".to_owned(), q("1")), ("a".to_owned(), q("2"))])
                .keys()
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
