//! The admission chain every write passes: defaults, user mutating hooks, validation,
//! user validating hooks — in the API server's order. A hook that fails rejects the
//! write and leaves the store unchanged.

use std::sync::Arc;

use crate::Resource;
use crate::error::Error;
use crate::store::AnyResource;

/// The kind of write being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A replace, status write or patch.
    Update,
    /// A delete (validating hooks only; the object is the one being deleted).
    Delete,
}

/// A hook that may change objects before they are validated and stored.
pub trait MutatingHook: Send + Sync {
    /// Changes `object` (of any kind: check [`AnyResource::kind`] or downcast).
    ///
    /// # Errors
    /// Rejects the write, usually with [`Error::Forbidden`] or [`Error::Invalid`].
    fn mutate(
        &self,
        op: Operation,
        object: &mut dyn AnyResource,
        old: Option<&dyn AnyResource>,
    ) -> Result<(), Error>;
}

/// A hook that may reject writes after validation.
pub trait ValidatingHook: Send + Sync {
    /// Accepts or rejects `object`.
    ///
    /// # Errors
    /// Rejects the write, usually with [`Error::Forbidden`] or [`Error::Invalid`].
    fn validate(
        &self,
        op: Operation,
        object: &dyn AnyResource,
        old: Option<&dyn AnyResource>,
    ) -> Result<(), Error>;
}

struct TypedMutate<K, F>(F, std::marker::PhantomData<fn(K)>);
struct TypedValidate<K, F>(F, std::marker::PhantomData<fn(K)>);

impl<K: Resource, F> MutatingHook for TypedMutate<K, F>
where
    F: Fn(Operation, &mut K) -> Result<(), Error> + Send + Sync,
{
    fn mutate(
        &self,
        op: Operation,
        object: &mut dyn AnyResource,
        _old: Option<&dyn AnyResource>,
    ) -> Result<(), Error> {
        match object.as_any_mut().downcast_mut::<K>() {
            Some(k) => (self.0)(op, k),
            None => Ok(()),
        }
    }
}

impl<K: Resource, F> ValidatingHook for TypedValidate<K, F>
where
    F: Fn(Operation, &K, Option<&K>) -> Result<(), Error> + Send + Sync,
{
    fn validate(
        &self,
        op: Operation,
        object: &dyn AnyResource,
        old: Option<&dyn AnyResource>,
    ) -> Result<(), Error> {
        match object.as_any().downcast_ref::<K>() {
            Some(k) => (self.0)(op, k, old.and_then(|o| o.as_any().downcast_ref::<K>())),
            None => Ok(()),
        }
    }
}

/// A mutating hook for the objects of one kind, from a closure.
pub fn mutate<K: Resource, F>(f: F) -> Arc<dyn MutatingHook>
where
    F: Fn(Operation, &mut K) -> Result<(), Error> + Send + Sync + 'static,
{
    Arc::new(TypedMutate(f, std::marker::PhantomData))
}

/// A validating hook for the objects of one kind, from a closure (given the old object
/// on updates).
pub fn validate<K: Resource, F>(f: F) -> Arc<dyn ValidatingHook>
where
    F: Fn(Operation, &K, Option<&K>) -> Result<(), Error> + Send + Sync + 'static,
{
    Arc::new(TypedValidate(f, std::marker::PhantomData))
}

/// The [`Error::Forbidden`] a hook returns to deny `object`.
#[must_use]
pub fn deny(object: &dyn AnyResource, plural: &str, reason: impl Into<String>) -> Error {
    let meta = object.meta();
    Error::Forbidden {
        resource: plural.to_owned(),
        name: crate::error::object_name(
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or(""),
        ),
        reason: reason.into(),
    }
}

/// The hooks of a client.
#[derive(Default, Clone)]
pub(crate) struct Chain {
    pub(crate) mutating: Vec<Arc<dyn MutatingHook>>,
    pub(crate) validating: Vec<Arc<dyn ValidatingHook>>,
}
