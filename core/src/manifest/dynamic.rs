//! Kinds known only at run time: [`DynamicObject`] and the [`KindRegistry`] that says
//! which such kinds a manifest may hold.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Resource;
use crate::meta::ObjectMeta;

/// An object of a kind registered at run time, kept as its JSON fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicObject {
    /// `apiVersion` on the wire.
    pub api_version: String,
    /// `kind` on the wire.
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Every other top-level field (`spec`, `status`, `data`, …) as written.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl DynamicObject {
    /// Converts to the typed kind `K` (its `apiVersion` and `kind` must match).
    pub fn to_typed<K: Resource>(&self) -> Result<K, serde_json::Error> {
        let value = serde_json::to_value(self)?;
        serde_json::from_value(value)
    }

    /// Converts a typed object into its dynamic form.
    pub fn from_typed<K: Resource>(obj: &K) -> Result<DynamicObject, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(obj)?)
    }
}

type Check = Arc<dyn Fn(serde_json::Value) -> Result<(), (String, String)> + Send + Sync>;

/// What Keel knows of a kind registered at run time.
#[derive(Clone)]
pub struct KindInfo {
    /// `apiVersion`, e.g. `stable.example.com/v1`.
    pub api_version: String,
    /// `kind`, e.g. `CronTab`.
    pub kind: String,
    /// The lower-case plural, e.g. `crontabs`.
    pub plural: String,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
    check: Option<Check>,
}

impl fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindInfo")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("plural", &self.plural)
            .field("namespaced", &self.namespaced)
            .field("typed", &self.check.is_some())
            .finish()
    }
}

impl KindInfo {
    /// A kind whose fields are not checked beyond `apiVersion`, `kind` and `metadata`.
    pub fn untyped(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        plural: impl Into<String>,
        namespaced: bool,
    ) -> KindInfo {
        KindInfo {
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            check: None,
        }
    }

    /// The kind of the Rust type `K`; documents of it are checked against `K`'s fields
    /// (an unknown field is an error naming its path).
    pub fn of<K: Resource>() -> KindInfo {
        KindInfo {
            api_version: K::API_VERSION.to_owned(),
            kind: K::KIND.to_owned(),
            plural: K::PLURAL.to_owned(),
            namespaced: K::NAMESPACED,
            check: Some(Arc::new(|value| {
                serde_path_to_error::deserialize::<_, K>(value)
                    .map(|_| ())
                    .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
            })),
        }
    }

    /// Checks a document of this kind; `Err((path, reason))` on a bad field.
    pub(crate) fn check(&self, value: &serde_json::Value) -> Result<(), (String, String)> {
        match &self.check {
            Some(check) => check(value.clone()),
            None => Ok(()),
        }
    }
}

/// The kinds, beyond the built-in ones, that manifests may hold.
#[derive(Clone, Debug, Default)]
pub struct KindRegistry {
    kinds: BTreeMap<(String, String), KindInfo>,
}

impl KindRegistry {
    /// An empty registry (built-in kinds are always known).
    pub fn new() -> KindRegistry {
        KindRegistry::default()
    }

    /// Registers the Rust kind `K`.
    #[must_use]
    pub fn with<K: Resource>(mut self) -> KindRegistry {
        self.register(KindInfo::of::<K>());
        self
    }

    /// Registers a kind.
    pub fn register(&mut self, info: KindInfo) {
        self.kinds
            .insert((info.api_version.clone(), info.kind.clone()), info);
    }

    /// The registered kind with this `apiVersion` and `kind`.
    pub fn get(&self, api_version: &str, kind: &str) -> Option<&KindInfo> {
        self.kinds.get(&(api_version.to_owned(), kind.to_owned()))
    }

    /// Every registered kind.
    pub fn iter(&self) -> impl Iterator<Item = &KindInfo> {
        self.kinds.values()
    }
}
