//! `ControllerRevision`: an immutable snapshot of a workload's state, kept by the
//! StatefulSet and DaemonSet controllers as their rollout history.

use crate::validation::FieldError;

crate::resource! {
    /// An immutable snapshot of a controller's state (apps/v1 `ControllerRevision`).
    /// StatefulSets and DaemonSets keep one per template they have run, named
    /// `<owner>-<hash>` and owned by the workload, to roll back and to recreate pods at
    /// an older revision.
    #[resource(api_version = "apps/v1", kind = "ControllerRevision", plural = "controllerrevisions", namespaced = true)]
    pub struct ControllerRevision {
        /// The serialized state (Kubernetes' `RawExtension`): for StatefulSets and
        /// DaemonSets a patch `{"spec": {"template": {…, "$patch": "replace"}}}`.
        /// Required, and immutable once created.
        #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
        pub data: serde_json::Value,
        /// The revision number: higher is newer. Controllers raise it when they roll
        /// back to an older state.
        #[serde(default)]
        pub revision: i64,
    }
    impl {
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::controller_revision::controller_revision(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ObjectMeta;

    #[test]
    fn wire_shape_round_trips() {
        let json = serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "web-6c8b9f", "namespace": "default"},
            "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}},
            "revision": 3
        });
        let rev: ControllerRevision = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(rev.revision, 3);
        assert_eq!(rev.data["spec"]["template"]["$patch"], "replace");
        assert_eq!(serde_json::to_value(&rev).unwrap(), json);
        let empty = ControllerRevision {
            metadata: ObjectMeta::namespaced("default", "r"),
            ..ControllerRevision::default()
        };
        let out = serde_json::to_value(&empty).unwrap();
        assert!(out.get("data").is_none(), "null data is left out: {out}");
        assert_eq!(out["revision"], 0);
    }
}
