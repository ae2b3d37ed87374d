//! `Pod` (core/v1): the unit of scheduling, and the types its spec and status are made of.

mod affinity;
mod container;
mod helpers;
mod probe;
mod security;
mod spec;
mod status;
mod volume;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use affinity::*;
pub use container::*;
pub use helpers::phase;
pub use probe::*;
pub use security::*;
pub use spec::*;
pub use status::*;
pub use volume::*;

use crate::meta::ObjectMeta;
use crate::validation::FieldError;

pub use super::resource_list::ResourceList;

crate::resource! {
    /// A group of containers scheduled together onto one node, sharing network and
    /// volumes.
    #[resource(api_version = "v1", kind = "Pod", plural = "pods", namespaced = true)]
    pub struct Pod {
        /// What the pod runs and where it may run.
        pub spec: PodSpec,
        /// What the node observed.
        pub status: PodStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::pod::pod(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::pod::pod(self)
        }
        fn field_value(&self, path: &str) -> Option<String> {
            self.selectable_field(path)
        }
    }
}

/// The template of the pods a workload creates: their metadata and spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplateSpec {
    /// Labels and annotations of the pods (must match the workload's selector).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The pods' spec.
    #[serde(default)]
    pub spec: PodSpec,
}
