//! [`AnyResource`]: any stored object, typed (`K: Resource`) or dynamic, behind one
//! object-safe trait so one store holds every kind while handing typed `Arc<K>` back.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::Resource;
use crate::manifest::DynamicObject;
use crate::meta::ObjectMeta;
use crate::validation::{self, ValidationError};

/// A stored object shared between the store, watch events and caches.
pub type Obj = Arc<dyn AnyResource>;

/// What the store and the admission chain need of an object of any kind.
pub trait AnyResource: Any + Send + Sync + fmt::Debug {
    /// `apiVersion`.
    fn api_version(&self) -> &str;
    /// `kind`.
    fn kind(&self) -> &str;
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutably.
    fn meta_mut(&mut self) -> &mut ObjectMeta;
    /// A boxed deep copy.
    fn clone_boxed(&self) -> Box<dyn AnyResource>;
    /// For downcasting to the concrete type.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting to the concrete type, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// For downcasting a shared object without copying it.
    fn into_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The object's Kubernetes JSON.
    ///
    /// # Errors
    /// When a field cannot be represented in JSON.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// Whether `other` is the same kind with equal contents.
    fn dyn_eq(&self, other: &dyn AnyResource) -> bool;
    /// Whether `other` is the same kind with an equal desired state (spec).
    fn dyn_spec_eq(&self, other: &dyn AnyResource) -> bool;
    /// Whether this kind has a status subresource.
    fn has_status(&self) -> bool;
    /// Replaces this object's status with `other`'s (same kind).
    fn copy_status_from_dyn(&mut self, other: &dyn AnyResource);
    /// Applies the kind's defaults.
    fn apply_defaults_dyn(&mut self);
    /// Validates the object as on create.
    ///
    /// # Errors
    /// Every field problem, naming the object.
    fn validate_dyn(&self) -> Result<(), ValidationError>;
    /// A selectable field's value (see [`Resource::field_value`]); `metadata.name` and
    /// `metadata.namespace` work for every kind.
    fn field(&self, path: &str) -> Option<String>;
}

impl dyn AnyResource {
    /// The object as a `K`, if it is one.
    #[must_use]
    pub fn downcast_ref<K: Any>(&self) -> Option<&K> {
        self.as_any().downcast_ref()
    }

    /// The object as a mutable `K`, if it is one.
    pub fn downcast_mut<K: Any>(&mut self) -> Option<&mut K> {
        self.as_any_mut().downcast_mut()
    }
}

/// Downcasts a shared object to `Arc<K>` without copying it.
#[must_use]
pub fn downcast_arc<K: Any + Send + Sync>(obj: Obj) -> Option<Arc<K>> {
    obj.into_any_arc().downcast::<K>().ok()
}

fn meta_field(meta: &ObjectMeta, path: &str) -> Option<String> {
    match path {
        "metadata.name" => Some(meta.name.clone().unwrap_or_default()),
        "metadata.namespace" => Some(meta.namespace.clone().unwrap_or_default()),
        _ => None,
    }
}

impl<K: Resource> AnyResource for K {
    fn api_version(&self) -> &str {
        K::API_VERSION
    }
    fn kind(&self) -> &str {
        K::KIND
    }
    fn meta(&self) -> &ObjectMeta {
        Resource::meta(self)
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        Resource::meta_mut(self)
    }
    fn clone_boxed(&self) -> Box<dyn AnyResource> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn dyn_eq(&self, other: &dyn AnyResource) -> bool {
        other.as_any().downcast_ref::<K>() == Some(self)
    }
    fn dyn_spec_eq(&self, other: &dyn AnyResource) -> bool {
        other
            .as_any()
            .downcast_ref::<K>()
            .is_some_and(|o| self.spec_eq(o))
    }
    fn has_status(&self) -> bool {
        K::HAS_STATUS
    }
    fn copy_status_from_dyn(&mut self, other: &dyn AnyResource) {
        if let Some(o) = other.as_any().downcast_ref::<K>() {
            self.copy_status_from(o);
        }
    }
    fn apply_defaults_dyn(&mut self) {
        self.apply_defaults();
    }
    fn validate_dyn(&self) -> Result<(), ValidationError> {
        validation::validate(self)
    }
    fn field(&self, path: &str) -> Option<String> {
        meta_field(Resource::meta(self), path).or_else(|| self.field_value(path))
    }
}

/// Dynamic objects: everything but `metadata`, `status` and the type is their spec.
impl AnyResource for DynamicObject {
    fn api_version(&self) -> &str {
        &self.api_version
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn clone_boxed(&self) -> Box<dyn AnyResource> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn dyn_eq(&self, other: &dyn AnyResource) -> bool {
        other.as_any().downcast_ref::<DynamicObject>() == Some(self)
    }
    fn dyn_spec_eq(&self, other: &dyn AnyResource) -> bool {
        other
            .as_any()
            .downcast_ref::<DynamicObject>()
            .is_some_and(|o| {
                let spec = |d: &DynamicObject| {
                    d.fields
                        .iter()
                        .filter(|(k, _)| *k != "status")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>()
                };
                spec(self) == spec(o)
            })
    }
    fn has_status(&self) -> bool {
        true
    }
    fn copy_status_from_dyn(&mut self, other: &dyn AnyResource) {
        if let Some(o) = other.as_any().downcast_ref::<DynamicObject>() {
            match o.fields.get("status") {
                Some(s) => {
                    self.fields.insert("status".to_owned(), s.clone());
                }
                None => {
                    self.fields.remove("status");
                }
            }
        }
    }
    fn apply_defaults_dyn(&mut self) {}
    fn validate_dyn(&self) -> Result<(), ValidationError> {
        Ok(())
    }
    fn field(&self, path: &str) -> Option<String> {
        meta_field(&self.metadata, path).or_else(|| {
            let mut parts = path.split('.');
            let first = parts.next()?;
            let mut v = self.fields.get(first)?;
            for p in parts {
                v = v.get(p)?;
            }
            Some(match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
    }
}
