//! [`Object`]: one object of any kind, as read from a manifest.

use std::any::Any;

use serde::Serialize;

use super::DynamicObject;
use crate::Resource;
use crate::api;
use crate::meta::ObjectMeta;
use crate::validation::{self, ValidationError};

macro_rules! objects {
    ($($kind:ident),* $(,)?) => {
        /// One object of a built-in kind, or of a kind registered at run time.
        ///
        /// Serialises to exactly the Kubernetes JSON of the object.
        #[derive(Clone, Debug, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Object {
            $(
                #[doc = concat!("A `", stringify!($kind), "`.")]
                $kind(api::$kind),
            )*
            /// An object of a kind registered at run time.
            Dynamic(DynamicObject),
        }

        /// `(apiVersion, kind)` of every built-in kind.
        pub const BUILTIN_KINDS: &[(&str, &str)] = &[
            $((<api::$kind as Resource>::API_VERSION, <api::$kind as Resource>::KIND),)*
        ];

        impl Object {
            /// `kind` on the wire.
            pub fn kind(&self) -> &str {
                match self {
                    $(Object::$kind(_) => <api::$kind as Resource>::KIND,)*
                    Object::Dynamic(d) => &d.kind,
                }
            }

            /// `apiVersion` on the wire.
            pub fn api_version(&self) -> &str {
                match self {
                    $(Object::$kind(_) => <api::$kind as Resource>::API_VERSION,)*
                    Object::Dynamic(d) => &d.api_version,
                }
            }

            /// The object's metadata.
            pub fn meta(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.meta(),)*
                    Object::Dynamic(d) => &d.metadata,
                }
            }

            /// The object's metadata, mutably.
            pub fn meta_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.meta_mut(),)*
                    Object::Dynamic(d) => &mut d.metadata,
                }
            }

            /// Whether the kind is namespaced (`None` for dynamic objects, whose scope the
            /// registry knows).
            pub fn is_namespaced(&self) -> Option<bool> {
                match self {
                    $(Object::$kind(_) => Some(<api::$kind as Resource>::NAMESPACED),)*
                    Object::Dynamic(_) => None,
                }
            }

            /// The object as a storable trait object (no copy).
            #[must_use]
            pub fn into_any(self) -> Box<dyn crate::store::AnyResource> {
                match self {
                    $(Object::$kind(o) => Box::new(o),)*
                    Object::Dynamic(d) => Box::new(d),
                }
            }

            /// Applies the kind's defaults (no-op for dynamic objects).
            pub fn apply_defaults(&mut self) {
                match self {
                    $(Object::$kind(o) => o.apply_defaults(),)*
                    Object::Dynamic(_) => {}
                }
            }

            /// Validates the object as the API server would (metadata and fields).
            pub fn validate(&self) -> Result<(), ValidationError> {
                match self {
                    $(Object::$kind(o) => validation::validate(o),)*
                    Object::Dynamic(_) => Ok(()),
                }
            }

            /// Converts into the typed kind `K`, or gives the object back if it is another
            /// kind. A dynamic object of `K`'s `apiVersion` and `kind` is decoded into `K`.
            #[allow(clippy::result_large_err, reason = "the object itself is given back")]
            pub fn into_resource<K: Resource>(self) -> Result<K, Object> {
                let boxed: Box<dyn Any> = match self {
                    $(Object::$kind(o) => Box::new(o),)*
                    Object::Dynamic(d) => {
                        if d.api_version == K::API_VERSION && d.kind == K::KIND {
                            return d.to_typed::<K>().map_err(|_| Object::Dynamic(d));
                        }
                        return Err(Object::Dynamic(d));
                    }
                };
                match boxed.downcast::<K>() {
                    Ok(k) => Ok(*k),
                    Err(other) => Err(Object::from_any(other)),
                }
            }

            fn from_any(any: Box<dyn Any>) -> Object {
                $(
                    let any = match any.downcast::<api::$kind>() {
                        Ok(o) => return Object::$kind(*o),
                        Err(any) => any,
                    };
                )*
                match any.downcast::<DynamicObject>() {
                    Ok(d) => Object::Dynamic(*d),
                    Err(_) => Object::Dynamic(DynamicObject::default()),
                }
            }

            /// Decodes a document of a built-in kind; `None` if the kind is not built in.
            pub(crate) fn decode_builtin(
                api_version: &str,
                kind: &str,
                value: serde_json::Value,
            ) -> Option<Result<Object, serde_path_to_error::Error<serde_json::Error>>> {
                $(
                    if api_version == <api::$kind as Resource>::API_VERSION
                        && kind == <api::$kind as Resource>::KIND
                    {
                        return Some(serde_path_to_error::deserialize(value).map(Object::$kind));
                    }
                )*
                None
            }
        }

        impl Serialize for Object {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$kind(o) => o.serialize(s),)*
                    Object::Dynamic(d) => d.serialize(s),
                }
            }
        }

        $(
            impl From<api::$kind> for Object {
                fn from(o: api::$kind) -> Object {
                    Object::$kind(o)
                }
            }
        )*
    };
}

crate::api::with_builtin_kinds!(objects);

impl From<DynamicObject> for Object {
    fn from(d: DynamicObject) -> Object {
        Object::Dynamic(d)
    }
}

impl Object {
    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.meta().name_str()
    }

    /// `metadata.namespace`, when set.
    pub fn namespace(&self) -> Option<&str> {
        self.meta().namespace_str()
    }

    /// The object as Kubernetes JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
