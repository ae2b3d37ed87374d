//! Carrying out a DaemonSet sync's decisions (Kubernetes' `syncNodes`).

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{DaemonSet, Pod};
use keel_core::client::Api;

use super::revision::Revision;
use super::{BURST_REPLICAS, Ctx, placement};
use crate::runtime::ObjectRef;
use crate::workload::pod_control::delete_pod;
use crate::workload::{pod_from_template, slow_start_batch};

/// Creates a pod of `revision` on each of `create` and deletes `delete` (Kubernetes'
/// `syncNodes`), recording both in the expectations first.
pub(super) async fn sync_nodes(
    ctx: &Ctx,
    ds: &Arc<DaemonSet>,
    key: &ObjectRef,
    revision: &Revision,
    mut create: Vec<String>,
    mut delete: Vec<Arc<Pod>>,
) -> Result<(), Error> {
    create.truncate(BURST_REPLICAS);
    delete.truncate(BURST_REPLICAS);
    if create.is_empty() && delete.is_empty() {
        return Ok(());
    }
    let uids = delete
        .iter()
        .map(|p| p.metadata.uid.clone().unwrap_or_default());
    ctx.expectations.expect(key, create.len(), uids);
    let api: Api<Pod> = Api::namespaced(&ctx.client, ds.metadata.namespace_str().unwrap_or(""));
    let template = revision.pod_template(ds);
    let (created, create_error) = slow_start_batch(create.len(), 1, |i| {
        let mut pod = pod_from_template(&template, &**ds, None);
        placement::pin_to_node(&mut pod.spec, &create[i]);
        let api = &api;
        async move {
            match api.create_owned(pod).await {
                Ok(p) => {
                    let msg = format!("Created pod: {}", p.metadata.name_str());
                    let _ = ctx.recorder.normal(&**ds, "SuccessfulCreate", &msg).await;
                    Ok(())
                }
                Err(e) => {
                    let msg = format!("Error creating: {e}");
                    let _ = ctx.recorder.warning(&**ds, "FailedCreate", &msg).await;
                    Err(e)
                }
            }
        }
    })
    .await;
    for _ in created..create.len() {
        ctx.expectations.creation_observed(key);
    }
    let deletions = delete.iter().map(|pod| {
        let api = &api;
        async move { delete_pod(api, &**ds, pod, &ctx.recorder, &ctx.expectations, key).await }
    });
    let delete_error = futures::future::join_all(deletions)
        .await
        .into_iter()
        .flatten()
        .next();
    match create_error.or(delete_error) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
