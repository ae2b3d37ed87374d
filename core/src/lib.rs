//! `keel-core`: the object model every other Keel crate stands on.
//!
//! - [`meta`]: `ObjectMeta`, `OwnerReference`, `Time`;
//! - [`Resource`]: the trait of every kind, built-in or user-defined (see [`resource!`]);
//! - [`api`]: the built-in kinds (`Pod`, `Deployment`, `Service`, …);
//! - [`labels`]: label selectors with Kubernetes' string syntax;
//! - [`quantity`]: exact resource quantities;
//! - [`manifest`]: multi-document YAML/JSON in and out;
//! - [`schema`]: JSON Schemas of every kind;
//! - [`validation`] and [`defaults`]: what the API server checks and fills in.

pub mod api;
pub mod client;
pub mod clock;
pub mod cron;
pub mod defaults;
pub mod error;
pub mod intstr;
pub mod labels;
pub mod manifest;
pub mod meta;
pub mod names;
pub mod quantity;
pub mod resource;
pub mod schema;
pub mod store;
pub mod validation;

pub use clock::Clock;
pub use error::Error;
pub use resource::Resource;

#[doc(hidden)]
pub mod __private {
    //! Re-exports used by the [`resource!`](crate::resource!) macro.
    pub use schemars;
    pub use serde;
}
