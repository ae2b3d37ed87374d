//! Built-in kinds.

pub mod apps;
pub mod autoscaling;
pub mod base64;
pub mod batch;
pub mod config;
pub mod endpoint_slice;
pub mod event;
pub mod lease;
pub mod namespace;
pub mod node;
pub mod object_reference;
pub mod persistent_volume;
pub mod persistent_volume_claim;
pub mod pod;
pub mod policy;
pub mod quota;
pub mod rbac;
pub mod resource_list;
pub mod scheduling;
pub mod service;
pub mod storage_class;

pub use apps::*;
pub use autoscaling::*;
pub use batch::*;
pub use config::*;
pub use endpoint_slice::*;
pub use event::*;
pub use lease::*;
pub use namespace::*;
pub use node::*;
pub use object_reference::*;
pub use persistent_volume::*;
pub use persistent_volume_claim::*;
pub use pod::*;
pub use policy::*;
pub use quota::*;
pub use rbac::*;
pub use scheduling::*;
pub use service::*;
pub use storage_class::*;

/// Calls the macro `$m` with the list of every built-in kind (one list, used by
/// [`Object`](crate::manifest::Object), the schemas and the store).
macro_rules! with_builtin_kinds {
    ($m:ident) => {
        $m!(
            Namespace,
            Node,
            Pod,
            ReplicaSet,
            Deployment,
            DaemonSet,
            StatefulSet,
            ControllerRevision,
            Job,
            CronJob,
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
