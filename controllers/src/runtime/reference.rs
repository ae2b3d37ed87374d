//! [`ObjectRef`]: the key a controller reconciles — an object's namespace and name.

use std::fmt;

use keel_core::Resource;

/// Names one object of the controller's kind: the key of the work queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// A cluster-scoped object (or one whose namespace is added with [`within`](Self::within)).
    pub fn new(name: impl Into<String>) -> ObjectRef {
        ObjectRef {
            namespace: None,
            name: name.into(),
        }
    }

    /// The same name in `namespace`.
    #[must_use]
    pub fn within(mut self, namespace: impl Into<String>) -> ObjectRef {
        self.namespace = Some(namespace.into());
        self
    }

    /// The reference to `obj`.
    pub fn from_obj<K: Resource>(obj: &K) -> ObjectRef {
        let meta = obj.meta();
        ObjectRef {
            namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `namespace/name`, or `name` for cluster-scoped objects (Kubernetes' cache key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{Namespace, Pod};
    use keel_core::meta::ObjectMeta;

    #[test]
    fn keys_print_like_kubernetes_cache_keys() {
        let pod = Pod {
            metadata: ObjectMeta::namespaced("prod", "web-1"),
            ..Pod::default()
        };
        assert_eq!(ObjectRef::from_obj(&pod).to_string(), "prod/web-1");
        assert_eq!(
            ObjectRef::from_obj(&pod),
            ObjectRef::new("web-1").within("prod")
        );
        let ns = Namespace {
            metadata: ObjectMeta::named("prod"),
            ..Namespace::default()
        };
        assert_eq!(ObjectRef::from_obj(&ns).to_string(), "prod");
    }
}
