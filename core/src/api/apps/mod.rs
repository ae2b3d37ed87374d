//! apps/v1 workloads: `ReplicaSet`, `Deployment`, `DaemonSet`, `StatefulSet`, and the
//! `ControllerRevision`s that keep the history of the last two.

mod controller_revision;
mod types;

pub use controller_revision::ControllerRevision;
pub use types::*;

use crate::validation::FieldError;

crate::resource! {
    /// Keeps a number of identical pods running.
    #[resource(api_version = "apps/v1", kind = "ReplicaSet", plural = "replicasets", namespaced = true)]
    pub struct ReplicaSet {
        /// The desired pods.
        pub spec: ReplicaSetSpec,
        /// The observed pods.
        pub status: ReplicaSetStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::apps::replica_set(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::apps::replica_set(self)
        }
    }
}

crate::resource! {
    /// Declarative updates of pods through ReplicaSets: rollouts and rollbacks.
    #[resource(api_version = "apps/v1", kind = "Deployment", plural = "deployments", namespaced = true)]
    pub struct Deployment {
        /// The desired pods and how to roll them out.
        pub spec: DeploymentSpec,
        /// The rollout's progress.
        pub status: DeploymentStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::apps::deployment(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::apps::deployment(self)
        }
    }
}

crate::resource! {
    /// Runs one pod on every eligible node.
    #[resource(api_version = "apps/v1", kind = "DaemonSet", plural = "daemonsets", namespaced = true)]
    pub struct DaemonSet {
        /// The pod and the update strategy.
        pub spec: DaemonSetSpec,
        /// The observed placement.
        pub status: DaemonSetStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::apps::daemon_set(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::apps::daemon_set(self)
        }
    }
}

crate::resource! {
    /// Pods with stable names, network identities and storage, created in order.
    #[resource(api_version = "apps/v1", kind = "StatefulSet", plural = "statefulsets", namespaced = true)]
    pub struct StatefulSet {
        /// The desired pods and their claims.
        pub spec: StatefulSetSpec,
        /// The observed pods.
        pub status: StatefulSetStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::apps::stateful_set(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::apps::stateful_set(self)
        }
    }
}
