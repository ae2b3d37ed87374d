//! [`CycleState`]: data plugins pass between extension points within one cycle, keyed
//! by type (each plugin defines its own state type). Cloneable, so preemption can try
//! removing pods on a copy.

use std::any::{Any, TypeId};

/// A value kept in a [`CycleState`]: any `Clone + Send + Sync` type.
pub trait StateData: Any + Send + Sync {
    /// A boxed copy.
    fn clone_data(&self) -> Box<dyn StateData>;
    /// As `Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
    /// As `Any`, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Per-cycle plugin data, one value per type. A handful of values at most, read for
/// every node: kept in a small vector searched by `TypeId` (no hashing).
#[derive(Default)]
pub struct CycleState {
    values: Vec<(TypeId, Box<dyn StateData>)>,
    /// Skip marks: `(true, plugin)` skips its Filter, `(false, plugin)` its Score.
    skips: Vec<(bool, &'static str)>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            values: self
                .values
                .iter()
                .map(|(k, v)| (*k, (**v).clone_data()))
                .collect(),
            skips: self.skips.clone(),
        }
    }
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field("values", &self.values.len())
            .field("skips", &self.skips)
            .finish()
    }
}

impl CycleState {
    /// An empty state (allocating nothing until something is stored or skipped).
    pub fn new() -> CycleState {
        CycleState::default()
    }

    /// Stores `value` (replacing one of the same type).
    pub fn write<T: Any + Clone + Send + Sync>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        match self.values.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => slot.1 = Box::new(value),
            None => self.values.push((id, Box::new(value))),
        }
    }

    /// The stored value of type `T`.
    pub fn read<T: Any + Clone + Send + Sync>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        let value: &dyn StateData = &*self.values.iter().find(|(k, _)| *k == id)?.1;
        value.as_any().downcast_ref()
    }

    /// The stored value of type `T`, mutably (e.g. to add a pod during preemption).
    pub fn read_mut<T: Any + Clone + Send + Sync>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        let value: &mut dyn StateData = &mut *self.values.iter_mut().find(|(k, _)| *k == id)?.1;
        value.as_any_mut().downcast_mut()
    }

    /// Marks `plugin`'s Filter as skipped for this cycle (its PreFilter returned Skip).
    pub fn skip_filter(&mut self, plugin: &'static str) {
        self.mark(true, plugin);
    }

    /// Whether `plugin`'s Filter is skipped for this cycle.
    pub fn skips_filter(&self, plugin: &str) -> bool {
        self.skips.contains(&(true, plugin))
    }

    /// Marks `plugin`'s Score as skipped for this cycle (its PreScore returned Skip).
    pub fn skip_score(&mut self, plugin: &'static str) {
        self.mark(false, plugin);
    }

    /// Adds a skip mark, making room for every default plugin's at the first (so a
    /// cycle does not grow the list one push at a time).
    fn mark(&mut self, filter: bool, plugin: &'static str) {
        if self.skips.capacity() == 0 {
            self.skips.reserve(16);
        }
        self.skips.push((filter, plugin));
    }

    /// How many Filter (`filter`) or Score skip marks the state holds.
    pub(crate) fn marks(&self, filter: bool) -> usize {
        self.skips.iter().filter(|(f, _)| *f == filter).count()
    }

    /// Whether `plugin`'s Score is skipped for this cycle.
    pub fn skips_score(&self, plugin: &str) -> bool {
        self.skips.contains(&(false, plugin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Counts(Vec<u32>);

    #[test]
    fn values_are_typed_and_clones_are_independent() {
        let mut s = CycleState::new();
        s.write(Counts(vec![1]));
        s.write(7_u64);
        let mut copy = s.clone();
        copy.read_mut::<Counts>().unwrap().0.push(2);
        assert_eq!(s.read::<Counts>(), Some(&Counts(vec![1])));
        assert_eq!(copy.read::<Counts>(), Some(&Counts(vec![1, 2])));
        assert_eq!(s.read::<u64>(), Some(&7));
        assert_eq!(s.read::<String>(), None);
        s.skip_filter("NodePorts");
        assert!(s.skips_filter("NodePorts") && !s.skips_filter("NodeName"));
    }
}
