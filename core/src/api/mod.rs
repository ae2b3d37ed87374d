//! Built-in kinds.

pub mod autoscaling;
pub mod base64;
pub mod config;
pub mod endpoint_slice;
pub mod event;
pub mod lease;
pub mod namespace;
pub mod node;
pub mod object_reference;
pub mod persistent_volume;
pub mod persistent_volume_claim;
pub mod pod_stub;
pub mod policy;
pub mod quota;
pub mod rbac;
pub mod scheduling;
pub mod service;
pub mod storage_class;

pub use autoscaling::*;
pub use config::*;
pub use endpoint_slice::*;
pub use event::*;
pub use lease::*;
pub use namespace::*;
pub use node::*;
pub use object_reference::*;
pub use persistent_volume::*;
pub use persistent_volume_claim::*;
pub use pod_stub::*;
pub use policy::*;
pub use quota::*;
pub use rbac::*;
pub use scheduling::*;
pub use service::*;
pub use storage_class::*;

// TEMPORARY (api-infra copy only): the real list is in kinds_macro.txt; this one lists
// only the non-workload kinds so that the copy compiles without the Pod/workload kinds.
macro_rules! with_builtin_kinds {
    ($m:ident) => {
        $m!(
            Namespace,
            Node,
            Service,
            EndpointSlice,
            PersistentVolume,
            PersistentVolumeClaim,
            StorageClass,
            ConfigMap,
            Secret,
            Lease,
            Event,
            HorizontalPodAutoscaler,
            ResourceQuota,
            LimitRange,
            PriorityClass,
            PodDisruptionBudget,
            Role,
            RoleBinding,
            ClusterRole,
            ClusterRoleBinding,
        );
    };
}
pub(crate) use with_builtin_kinds;
