//! The kinds a client serves: built-in kinds, a user's typed kinds, and dynamic kinds
//! (like CRDs) checked against a JSON Schema.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::Resource;
use crate::error::Error;
use crate::manifest::{DynamicObject, KindInfo};
use crate::store::{AnyResource, kind_key};
use crate::validation::{FieldError, FieldPath, ValidationError, validate_object_meta};

type Decode = fn(serde_json::Value) -> Result<Box<dyn AnyResource>, String>;

/// Everything the client knows of one kind.
#[derive(Clone)]
pub struct KindEntry {
    /// The store key (`apiVersion/kind`).
    pub key: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// The plural resource name (`pods`).
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    decode: Decode,
    /// For dynamic kinds: the schema their objects (minus `apiVersion`, `kind`,
    /// `metadata`) must satisfy.
    schema: Option<Arc<serde_json::Value>>,
    /// An empty object of the kind, to ask which fields it can select on.
    probe: Option<Arc<dyn AnyResource>>,
}

impl std::fmt::Debug for KindEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindEntry")
            .field("key", &self.key)
            .field("plural", &self.plural)
            .finish_non_exhaustive()
    }
}

fn decode_typed<K: Resource>(value: serde_json::Value) -> Result<Box<dyn AnyResource>, String> {
    serde_path_to_error::deserialize::<_, K>(value)
        .map(|k| Box::new(k) as Box<dyn AnyResource>)
        .map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })
}

fn decode_dynamic(value: serde_json::Value) -> Result<Box<dyn AnyResource>, String> {
    serde_json::from_value::<DynamicObject>(value)
        .map(|d| Box::new(d) as Box<dyn AnyResource>)
        .map_err(|e| e.to_string())
}

impl KindEntry {
    /// The entry of a typed kind.
    #[must_use]
    pub fn of<K: Resource>() -> KindEntry {
        let empty =
            serde_json::json!({"apiVersion": K::API_VERSION, "kind": K::KIND, "metadata": {}});
        KindEntry {
            probe: decode_typed::<K>(empty).ok().map(Arc::from),
            key: kind_key(K::API_VERSION, K::KIND),
            api_version: K::API_VERSION.to_owned(),
            kind: K::KIND.to_owned(),
            plural: K::PLURAL.to_owned(),
            namespaced: K::NAMESPACED,
            decode: decode_typed::<K>,
            schema: None,
        }
    }

    /// The entry of a dynamic kind, optionally checked against a JSON Schema.
    #[must_use]
    pub fn dynamic(info: &KindInfo, schema: Option<serde_json::Value>) -> KindEntry {
        let probe = DynamicObject {
            api_version: info.api_version.clone(),
            kind: info.kind.clone(),
            ..DynamicObject::default()
        };
        KindEntry {
            probe: Some(Arc::new(probe)),
            key: kind_key(&info.api_version, &info.kind),
            api_version: info.api_version.clone(),
            kind: info.kind.clone(),
            plural: info.plural.clone(),
            namespaced: info.namespaced,
            decode: decode_dynamic,
            schema: schema.map(Arc::new),
        }
    }

    /// An empty object of the kind (for checking field selectors).
    #[must_use]
    pub fn probe(&self) -> Option<&Arc<dyn AnyResource>> {
        self.probe.as_ref()
    }

    /// Decodes an object of this kind from its JSON.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field.
    pub fn decode(&self, value: serde_json::Value) -> Result<Box<dyn AnyResource>, Error> {
        (self.decode)(value).map_err(|e| {
            Error::BadRequest(format!("{} is not a valid {}: {e}", self.plural, self.kind))
        })
    }

    /// Validates a dynamic object: its metadata, then its fields against the schema.
    pub(crate) fn validate_dynamic(&self, obj: &DynamicObject) -> Result<(), ValidationError> {
        let mut errors = validate_object_meta(
            &obj.metadata,
            self.namespaced,
            crate::names::is_dns1123_subdomain,
            &FieldPath::new("metadata"),
        );
        if let Some(schema) = &self.schema {
            let value = serde_json::Value::Object(obj.fields.clone());
            super::schema_check::check(schema, &value, &FieldPath::root(), &mut errors);
        }
        if errors.is_empty() {
            return Ok(());
        }
        Err(ValidationError {
            kind: self.kind.clone(),
            namespace: if self.namespaced {
                obj.metadata.namespace.clone()
            } else {
                None
            },
            name: obj.metadata.name.clone().unwrap_or_default(),
            errors,
        })
    }

    /// The `NotFound` error for `namespace/name`.
    pub(crate) fn not_found(&self, namespace: &str, name: &str) -> Error {
        Error::NotFound {
            resource: self.plural.clone(),
            name: crate::error::object_name(namespace, name),
        }
    }

    /// Replaces the store's kind key in an error with this kind's plural.
    pub(crate) fn rename(&self, err: Error) -> Error {
        match err {
            Error::NotFound { name, .. } => Error::NotFound {
                resource: self.plural.clone(),
                name,
            },
            Error::AlreadyExists { name, .. } => Error::AlreadyExists {
                resource: self.plural.clone(),
                name,
            },
            Error::Conflict { name, reason, .. } => Error::Conflict {
                resource: self.plural.clone(),
                name,
                reason,
            },
            other => other,
        }
    }
}

/// The kinds a client serves, by store key and by `(apiVersion, kind)`.
#[derive(Default)]
pub(crate) struct Kinds {
    by_key: RwLock<HashMap<String, Arc<KindEntry>>>,
}

macro_rules! builtin_entries {
    ($($kind:ident),* $(,)?) => {
        fn builtin() -> Vec<KindEntry> {
            vec![$(KindEntry::of::<crate::api::$kind>(),)*]
        }
    };
}
crate::api::with_builtin_kinds!(builtin_entries);

impl Kinds {
    pub(crate) fn with_builtins() -> Kinds {
        let kinds = Kinds::default();
        for e in builtin() {
            kinds.insert(e);
        }
        kinds
    }

    pub(crate) fn insert(&self, entry: KindEntry) -> Arc<KindEntry> {
        let entry = Arc::new(entry);
        self.by_key
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entry.key.clone(), entry.clone());
        entry
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<KindEntry>> {
        self.by_key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// The entry of `K`, registering it on first use.
    pub(crate) fn typed<K: Resource>(&self) -> Arc<KindEntry> {
        let key = kind_key(K::API_VERSION, K::KIND);
        self.get(&key)
            .unwrap_or_else(|| self.insert(KindEntry::of::<K>()))
    }

    /// The entry for an object's kind.
    pub(crate) fn for_object(&self, obj: &dyn AnyResource) -> Result<Arc<KindEntry>, Error> {
        let key = kind_key(obj.api_version(), obj.kind());
        self.get(&key).ok_or_else(|| {
            Error::BadRequest(format!(
                "no kind {:?} is registered for version {:?}",
                obj.kind(),
                obj.api_version()
            ))
        })
    }

    /// An entry by `Kind`, plural or `apiVersion/Kind`.
    pub(crate) fn find(&self, name: &str) -> Option<Arc<KindEntry>> {
        let map = self.by_key.read().unwrap_or_else(PoisonError::into_inner);
        map.get(name).cloned().or_else(|| {
            let mut found: Vec<&Arc<KindEntry>> = map
                .values()
                .filter(|e| e.kind == name || e.plural == name)
                .collect();
            found.sort_by(|a, b| a.key.cmp(&b.key));
            found.first().map(|e| (*e).clone())
        })
    }

    /// Every kind's name, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let map = self.by_key.read().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = map.values().map(|e| e.kind.clone()).collect();
        names.sort();
        names
    }

    /// The registry of non-built-in kinds, for reading manifests.
    pub(crate) fn registry(&self) -> crate::manifest::KindRegistry {
        let map = self.by_key.read().unwrap_or_else(PoisonError::into_inner);
        let mut registry = crate::manifest::KindRegistry::new();
        for e in map.values() {
            let builtin = crate::manifest::BUILTIN_KINDS
                .iter()
                .any(|(av, k)| *av == e.api_version && *k == e.kind);
            if !builtin {
                registry.register(KindInfo::untyped(
                    e.api_version.clone(),
                    e.kind.clone(),
                    e.plural.clone(),
                    e.namespaced,
                ));
            }
        }
        registry
    }

    pub(crate) fn namespaced(&self) -> Vec<Arc<KindEntry>> {
        self.by_key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|e| e.namespaced)
            .cloned()
            .collect()
    }
}

/// A field error for a bad schema match.
pub(crate) fn schema_error(
    path: &FieldPath,
    value: &serde_json::Value,
    detail: String,
) -> FieldError {
    FieldError::invalid(path.clone(), value, detail)
}
