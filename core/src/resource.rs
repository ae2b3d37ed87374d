//! The [`Resource`] trait every kind implements, and the [`resource!`](crate::resource!)
//! macro that defines a kind in a few lines — Keel's built-in kinds use it, and so can
//! yours.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::ObjectMeta;
use crate::validation::FieldError;

/// A kind of object: its identity on the wire and access to its metadata.
///
/// Implemented by every built-in kind and by users' own kinds, which are then as
/// first-class as `Pod`. The simplest way to implement it is the
/// [`resource!`](crate::resource!) macro, which also writes the Kubernetes wire shape
/// (`apiVersion`, `kind`, `metadata`, …) and the JSON Schema.
pub trait Resource:
    Clone
    + std::fmt::Debug
    + PartialEq
    + Serialize
    + DeserializeOwned
    + JsonSchema
    + Send
    + Sync
    + 'static
{
    /// `apiVersion` on the wire: `v1` for the core group, else `group/version`.
    const API_VERSION: &'static str;
    /// `kind` on the wire, e.g. `Pod`.
    const KIND: &'static str;
    /// The lower-case plural used in API paths, e.g. `pods`.
    const PLURAL: &'static str;
    /// Whether objects of this kind live in a namespace.
    const NAMESPACED: bool;
    /// Whether the kind has a `status` subresource (written apart from the rest).
    const HAS_STATUS: bool;

    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutably.
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    /// The API group: `""` for the core group.
    fn group() -> &'static str {
        match Self::API_VERSION.rsplit_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// The API version within the group, e.g. `v1`.
    fn version() -> &'static str {
        match Self::API_VERSION.rsplit_once('/') {
            Some((_, version)) => version,
            None => Self::API_VERSION,
        }
    }

    /// Whether the desired state (everything but metadata and status) of `self` and
    /// `other` is equal; the store bumps `metadata.generation` when it is not.
    fn spec_eq(&self, other: &Self) -> bool;

    /// Replaces `self`'s status with `other`'s (no-op for kinds without status).
    fn copy_status_from(&mut self, other: &Self);

    /// Fills in the defaults the API server applies to this kind (one defaulting step).
    fn apply_defaults(&mut self) {}

    /// Checks a name of this kind, returning Kubernetes' messages (empty when valid).
    /// Most kinds use DNS-1123 subdomains; `Namespace` uses labels, `Service` DNS-1035
    /// labels.
    fn validate_name(name: &str) -> Vec<String> {
        crate::names::is_dns1123_subdomain(name)
    }

    /// Checks the kind-specific fields; metadata is checked by
    /// [`validation::validate`](crate::validation::validate).
    fn validate_fields(&self) -> Vec<FieldError> {
        Vec::new()
    }

    /// The value of a field selector's field other than `metadata.name` and
    /// `metadata.namespace` (which every kind has), e.g. `spec.nodeName` of a pod; `None`
    /// if the kind does not support selecting on `path`. Unset fields read as `""`, so
    /// `spec.nodeName=` selects unscheduled pods as in Kubernetes.
    fn field_value(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
}

/// Checks the `apiVersion` and `kind` read from the wire against the type's.
#[doc(hidden)]
pub fn check_type_meta<E: serde::de::Error>(
    api_version: Option<&str>,
    kind: Option<&str>,
    expected_api_version: &str,
    expected_kind: &str,
) -> Result<(), E> {
    if let Some(k) = kind
        && k != expected_kind
    {
        return Err(E::custom(format_args!(
            "kind: expected {expected_kind:?}, found {k:?}"
        )));
    }
    if let Some(v) = api_version
        && v != expected_api_version
    {
        return Err(E::custom(format_args!(
            "apiVersion: {expected_kind} is served as {expected_api_version:?}, found {v:?}"
        )));
    }
    Ok(())
}

/// Defines a kind: the struct (with a `metadata: ObjectMeta` field added), its
/// [`Resource`] impl, serde impls giving the Kubernetes wire shape (`apiVersion` and
/// `kind` first, unknown fields rejected), and its JSON Schema.
///
/// Two shapes are accepted. A kind with a status subresource names exactly `spec` and
/// `status` (the status type is written bare and becomes `Option<…>`):
///
/// ```
/// use keel_core::{resource, meta::ObjectMeta};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
/// #[serde(rename_all = "camelCase")]
/// pub struct CronTabSpec { pub cron_spec: String, pub replicas: i32 }
///
/// #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
/// pub struct CronTabStatus { pub runs: u64 }
///
/// resource! {
///     /// A user's own kind.
///     #[resource(api_version = "stable.example.com/v1", kind = "CronTab", plural = "crontabs", namespaced = true)]
///     pub struct CronTab {
///         /// What the user wants.
///         pub spec: CronTabSpec,
///         /// What was observed.
///         pub status: CronTabStatus,
///     }
/// }
///
/// let tab = CronTab { metadata: ObjectMeta::namespaced("default", "nightly"), ..Default::default() };
/// let json = serde_json::to_value(&tab).unwrap();
/// assert_eq!(json["apiVersion"], "stable.example.com/v1");
/// assert_eq!(json["kind"], "CronTab");
/// ```
///
/// Any other kind lists its top-level fields with their serde attributes (doc comments
/// first, then `#[serde(...)]`); such kinds have no status subresource. Either shape may
/// be followed by `impl { ... }` holding overrides of [`Resource::apply_defaults`] and
/// [`Resource::validate_fields`]. The calling crate must depend on `serde` and
/// `schemars`.
#[macro_export]
macro_rules! resource {
    (
        $(#[doc = $doc:expr])*
        #[resource(api_version = $av:literal, kind = $kind:literal, plural = $plural:literal, namespaced = $ns:literal)]
        pub struct $name:ident {
            $(#[doc = $spec_doc:expr])*
            pub spec: $spec:ty,
            $(#[doc = $status_doc:expr])*
            pub status: $status:ty $(,)?
        }
        $(impl { $($hooks:tt)* })?
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: $crate::meta::ObjectMeta,
            $(#[doc = $spec_doc])*
            pub spec: $spec,
            $(#[doc = $status_doc])*
            pub status: ::std::option::Option<$status>,
        }

        impl $crate::Resource for $name {
            const API_VERSION: &'static str = $av;
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const NAMESPACED: bool = $ns;
            const HAS_STATUS: bool = true;

            fn meta(&self) -> &$crate::meta::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut $crate::meta::ObjectMeta {
                &mut self.metadata
            }
            fn spec_eq(&self, other: &Self) -> bool {
                self.spec == other.spec
            }
            fn copy_status_from(&mut self, other: &Self) {
                self.status.clone_from(&other.status);
            }
            $($($hooks)*)?
        }

        const _: () = {
            use $crate::__private::{schemars, serde};

            fn is_none_ref<T>(v: &&::std::option::Option<T>) -> bool {
                v.is_none()
            }

            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Wire<'a> {
                api_version: &'static str,
                kind: &'static str,
                metadata: &'a $crate::meta::ObjectMeta,
                spec: &'a $spec,
                #[serde(skip_serializing_if = "is_none_ref")]
                status: &'a ::std::option::Option<$status>,
            }

            $(#[doc = $doc])*
            #[derive(serde::Deserialize, schemars::JsonSchema)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            #[schemars(crate = "schemars")]
            struct Owned {
                /// The versioned schema of this representation of an object.
                #[serde(default)]
                api_version: ::std::option::Option<::std::string::String>,
                /// The kind of object this is.
                #[serde(default)]
                kind: ::std::option::Option<::std::string::String>,
                /// Standard object metadata.
                #[serde(default)]
                metadata: $crate::meta::ObjectMeta,
                $(#[doc = $spec_doc])*
                #[serde(default)]
                spec: $spec,
                $(#[doc = $status_doc])*
                #[serde(default)]
                status: ::std::option::Option<$status>,
            }

            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                    Wire {
                        api_version: $av,
                        kind: $kind,
                        metadata: &self.metadata,
                        spec: &self.spec,
                        status: &self.status,
                    }
                    .serialize(s)
                }
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                    let o = <Owned as serde::Deserialize>::deserialize(d)?;
                    $crate::resource::check_type_meta::<D::Error>(o.api_version.as_deref(), o.kind.as_deref(), $av, $kind)?;
                    Ok($name { metadata: o.metadata, spec: o.spec, status: o.status })
                }
            }

            impl schemars::JsonSchema for $name {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed($kind)
                }
                fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                    <Owned as schemars::JsonSchema>::json_schema(g)
                }
            }
        };
    };
    (
        $(#[doc = $doc:expr])*
        #[resource(api_version = $av:literal, kind = $kind:literal, plural = $plural:literal, namespaced = $ns:literal)]
        pub struct $name:ident {
            $(
                $(#[doc = $fdoc:expr])*
                $(#[serde($($fserde:tt)*)])*
                pub $field:ident : $fty:ty
            ),* $(,)?
        }
        $(impl { $($hooks:tt)* })?
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: $crate::meta::ObjectMeta,
            $(
                $(#[doc = $fdoc])*
                pub $field: $fty,
            )*
        }

        impl $crate::Resource for $name {
            const API_VERSION: &'static str = $av;
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const NAMESPACED: bool = $ns;
            const HAS_STATUS: bool = false;

            fn meta(&self) -> &$crate::meta::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut $crate::meta::ObjectMeta {
                &mut self.metadata
            }
            #[allow(unused_variables)]
            fn spec_eq(&self, other: &Self) -> bool {
                true $(&& self.$field == other.$field)*
            }
            fn copy_status_from(&mut self, _other: &Self) {}
            $($($hooks)*)?
        }

        const _: () = {
            use $crate::__private::{schemars, serde};

            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Wire<'a> {
                api_version: &'static str,
                kind: &'static str,
                metadata: &'a $crate::meta::ObjectMeta,
                $(
                    $(#[serde($($fserde)*)])*
                    $field: &'a $fty,
                )*
            }

            $(#[doc = $doc])*
            #[derive(serde::Deserialize, schemars::JsonSchema)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            #[schemars(crate = "schemars")]
            struct Owned {
                /// The versioned schema of this representation of an object.
                #[serde(default)]
                api_version: ::std::option::Option<::std::string::String>,
                /// The kind of object this is.
                #[serde(default)]
                kind: ::std::option::Option<::std::string::String>,
                /// Standard object metadata.
                #[serde(default)]
                metadata: $crate::meta::ObjectMeta,
                $(
                    $(#[doc = $fdoc])*
                    $(#[serde($($fserde)*)])*
                    $field: $fty,
                )*
            }

            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                    Wire {
                        api_version: $av,
                        kind: $kind,
                        metadata: &self.metadata,
                        $($field: &self.$field,)*
                    }
                    .serialize(s)
                }
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                    let o = <Owned as serde::Deserialize>::deserialize(d)?;
                    $crate::resource::check_type_meta::<D::Error>(o.api_version.as_deref(), o.kind.as_deref(), $av, $kind)?;
                    Ok($name { metadata: o.metadata, $($field: o.$field,)* })
                }
            }

            impl schemars::JsonSchema for $name {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed($kind)
                }
                fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                    <Owned as schemars::JsonSchema>::json_schema(g)
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::Resource;
    use crate::meta::ObjectMeta;

    #[derive(
        Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
    )]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct WidgetSpec {
        size: i32,
    }

    #[derive(
        Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
    )]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct WidgetStatus {
        ready: bool,
    }

    crate::resource! {
        /// A test kind with a status subresource.
        #[resource(api_version = "example.com/v1", kind = "Widget", plural = "widgets", namespaced = true)]
        pub struct Widget {
            /// Desired.
            pub spec: WidgetSpec,
            /// Observed.
            pub status: WidgetStatus,
        }
        impl {
            fn apply_defaults(&mut self) {
                if self.spec.size == 0 {
                    self.spec.size = 1;
                }
            }
        }
    }

    crate::resource! {
        /// A test kind with free-form top-level fields.
        #[resource(api_version = "v1", kind = "Bag", plural = "bags", namespaced = false)]
        pub struct Bag {
            /// Entries.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub data: BTreeMap<String, String>,
            /// Items.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub items: Vec<String>,
            /// A flag.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub immutable: Option<bool>,
        }
    }

    #[test]
    fn spec_status_kind_has_the_wire_shape() {
        let mut w = Widget {
            metadata: ObjectMeta::namespaced("default", "w"),
            ..Widget::default()
        };
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 0}})
        );
        w.status = Some(WidgetStatus { ready: true });
        let text = serde_json::to_string(&w).unwrap();
        assert!(text.starts_with(r#"{"apiVersion":"example.com/v1","kind":"Widget""#));
        let back: Widget = serde_json::from_str(&text).unwrap();
        assert_eq!(back, w);
        assert_eq!(Widget::group(), "example.com");
        assert_eq!(Widget::version(), "v1");
        w.apply_defaults();
        assert_eq!(w.spec.size, 1);
    }

    #[test]
    fn status_and_spec_helpers_split_the_object() {
        let a = Widget {
            spec: WidgetSpec { size: 1 },
            status: Some(WidgetStatus { ready: true }),
            ..Widget::default()
        };
        let mut b = Widget::default();
        assert!(!a.spec_eq(&b));
        b.copy_status_from(&a);
        assert_eq!(b.status, a.status);
        assert_eq!(b.spec.size, 0);
    }

    #[test]
    fn wrong_kind_or_version_and_unknown_fields_are_errors() {
        let wrong_kind = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Gadget"});
        let err = serde_json::from_value::<Widget>(wrong_kind).unwrap_err();
        assert!(
            err.to_string()
                .contains("kind: expected \"Widget\", found \"Gadget\""),
            "{err}"
        );
        let wrong_version = serde_json::json!({"apiVersion": "example.com/v2", "kind": "Widget"});
        assert!(serde_json::from_value::<Widget>(wrong_version).is_err());
        let unknown = serde_json::json!({"kind": "Widget", "spce": {}});
        let err = serde_json::from_value::<Widget>(unknown).unwrap_err();
        assert!(err.to_string().contains("unknown field `spce`"), "{err}");
    }

    #[test]
    fn free_form_kind_skips_empty_fields_and_compares_all() {
        let mut bag = Bag {
            metadata: ObjectMeta::named("b"),
            ..Bag::default()
        };
        let json = serde_json::to_value(&bag).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"apiVersion": "v1", "kind": "Bag", "metadata": {"name": "b"}})
        );
        let other = bag.clone();
        bag.items.push("x".into());
        assert!(!bag.spec_eq(&other));
        const { assert!(!Bag::HAS_STATUS && Widget::HAS_STATUS) };
        let schema = serde_json::to_value(schemars::schema_for!(Bag)).unwrap();
        assert!(schema["properties"]["data"].is_object(), "{schema}");
        assert!(schema["properties"]["apiVersion"].is_object());
    }
}
