//! Deleting a controller's pods with its events and expectations (Kubernetes'
//! `PodControl.DeletePod`).

use keel_core::api::Pod;
use keel_core::client::{Api, DeleteParams};
use keel_core::{Error, Resource};

use crate::runtime::{Expectations, ObjectRef, Recorder};

/// Deletes `pod` for `owner`, recording `SuccessfulDelete` ("Deleted pod: …") or
/// `FailedDelete`. A deletion that will never be seen (the pod was gone already, or
/// the delete failed) is reported to `expectations` under `key` at once; a failure
/// other than "not found" is returned.
pub async fn delete_pod<K: Resource>(
    api: &Api<Pod>,
    owner: &K,
    pod: &Pod,
    recorder: &Recorder,
    expectations: &Expectations<ObjectRef>,
    key: &ObjectRef,
) -> Option<Error> {
    let name = pod.metadata.name_str();
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {
            let msg = format!("Deleted pod: {name}");
            let _ = recorder.normal(owner, "SuccessfulDelete", &msg).await;
            None
        }
        Err(e) if e.is_not_found() => {
            expectations.deletion_observed(key, uid);
            None
        }
        Err(e) => {
            expectations.deletion_observed(key, uid);
            let msg = format!("Error deleting: {e}");
            let _ = recorder.warning(owner, "FailedDelete", &msg).await;
            Some(e)
        }
    }
}
