//! JSON Schemas (via schemars) of every kind, built-in or user-defined.
//!
//! ```
//! let schema = keel_core::schema::for_kind("Pod").unwrap();
//! assert!(schema.as_value()["properties"]["spec"].is_object());
//! ```

use std::collections::BTreeMap;

use schemars::Schema;
use schemars::generate::SchemaSettings;

use crate::Resource;
use crate::api;

/// The JSON Schema (draft 2020-12) of the kind `K`.
pub fn schema_for<K: Resource>() -> Schema {
    SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<K>()
}

/// The OpenAPI 3.0 flavour of `K`'s schema, the dialect of Kubernetes'
/// `CustomResourceDefinition` `openAPIV3Schema`.
pub fn openapi_schema_for<K: Resource>() -> Schema {
    SchemaSettings::openapi3()
        .into_generator()
        .into_root_schema_for::<K>()
}

macro_rules! builtin_schemas {
    ($($kind:ident),* $(,)?) => {
        /// The schema of the built-in kind named `kind` (e.g. `"Deployment"`).
        pub fn for_kind(kind: &str) -> Option<Schema> {
            match kind {
                $(k if k == <api::$kind as Resource>::KIND => Some(schema_for::<api::$kind>()),)*
                _ => None,
            }
        }

        /// The schemas of all built-in kinds, by kind name.
        pub fn all() -> BTreeMap<&'static str, Schema> {
            let mut map = BTreeMap::new();
            $(map.insert(<api::$kind as Resource>::KIND, schema_for::<api::$kind>());)*
            map
        }
    };
}

crate::api::with_builtin_kinds!(builtin_schemas);
