//! VolumeBinding (lite): a pod's claims must exist; an unbound claim whose class binds
//! immediately keeps the pod waiting (`WaitForFirstConsumer` claims are left to be
//! provisioned for the chosen node); a bound volume's node affinity must match the node.

use std::sync::Arc;

use keel_core::api::PersistentVolume;

use super::helper::term_matches;
use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreFilter, PreFilterResult, Snapshot, Status,
};

/// Reason: a claim is unbound and its class binds immediately.
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// Reason: a bound volume cannot be reached from this node.
pub const ERR_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";

/// The VolumeBinding plugin.
#[derive(Debug, Default)]
pub struct VolumeBinding;

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        "VolumeBinding"
    }
}

/// The volumes the pod's bound claims point at.
#[derive(Clone, Debug, Default)]
struct Bound(Vec<Arc<PersistentVolume>>);

impl PreFilter for VolumeBinding {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let ns = pod.pod.metadata.namespace.as_deref().unwrap_or("");
        let claims: Vec<&str> = pod
            .pod
            .spec
            .volumes
            .iter()
            .filter_map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.as_str())
            })
            .collect();
        if claims.is_empty() {
            return (None, Status::skip());
        }
        let mut bound = Vec::new();
        for name in claims {
            let Some(claim) = snapshot.claim(ns, name) else {
                return (
                    None,
                    Status::unresolvable(format!("persistentvolumeclaim \"{name}\" not found")),
                );
            };
            if claim.metadata.deletion_timestamp.is_some() {
                return (
                    None,
                    Status::unresolvable(format!(
                        "persistentvolumeclaim \"{name}\" is being deleted"
                    )),
                );
            }
            if let Some(volume) = claim.spec.volume_name.as_deref().filter(|v| !v.is_empty()) {
                if let Some(pv) = snapshot.volume(volume) {
                    bound.push(pv.clone());
                }
            } else {
                let delayed = claim
                    .spec
                    .storage_class_name
                    .as_deref()
                    .and_then(|c| snapshot.class(c))
                    .is_some_and(|c| {
                        c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
                    });
                if !delayed {
                    return (None, Status::unresolvable(ERR_UNBOUND_IMMEDIATE));
                }
            }
        }
        state.write(Bound(bound));
        (None, Status::success())
    }
}

impl Filter for VolumeBinding {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(bound) = state.read::<Bound>() else {
            return Status::success();
        };
        let conflict = bound.0.iter().any(|pv| {
            pv.spec
                .node_affinity
                .as_ref()
                .and_then(|a| a.required.as_ref())
                .is_some_and(|sel| {
                    !sel.node_selector_terms
                        .iter()
                        .any(|t| term_matches(t, node))
                })
        });
        if conflict {
            Status::unresolvable(ERR_NODE_CONFLICT)
        } else {
            Status::success()
        }
    }
}
