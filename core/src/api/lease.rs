//! `Lease` (coordination.k8s.io/v1): a lock with a holder and an expiry, used for leader
//! election and node heartbeats.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::MicroTime;

/// The namespace of the Leases nodes heart-beat through (one per node, named after it).
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Who holds a lease and until when.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaseSpec {
    /// The current holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// How long after `renewTime` the lease expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<MicroTime>,
    /// When the holder last renewed the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<MicroTime>,
    /// How many times the lease changed holders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
    /// The coordinated leader-election strategy, e.g. `OldestEmulationVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The holder the strategy prefers next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_holder: Option<String>,
}

crate::resource! {
    /// A lease: a lock with a holder and an expiry.
    #[resource(api_version = "coordination.k8s.io/v1", kind = "Lease", plural = "leases", namespaced = true)]
    pub struct Lease {
        /// Holder and times.
        #[serde(default)]
        pub spec: LeaseSpec,
    }
    impl {
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::lease::lease(self)
        }
    }
}

impl Lease {
    /// When the lease expires (`renewTime + leaseDurationSeconds`), if both are set.
    pub fn expiry(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let renew = self.spec.renew_time.as_ref()?;
        let secs = self.spec.lease_duration_seconds?;
        renew
            .0
            .checked_add_signed(chrono::Duration::seconds(i64::from(secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lease_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "u"}]},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                "renewTime": "2024-01-01T00:00:00.123456Z", "acquireTime": "2024-01-01T00:00:00.000000Z",
                "leaseTransitions": 2, "strategy": "OldestEmulationVersion", "preferredHolder": "node-2"}
        });
        let lease: Lease = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            lease.expiry().unwrap().to_rfc3339(),
            "2024-01-01T00:00:40.123456+00:00"
        );
        assert_eq!(serde_json::to_value(&lease).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "a"}, "spec": {"holder": "x"}});
        let err = serde_path_to_error::deserialize::<_, Lease>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.holder");
    }
}
