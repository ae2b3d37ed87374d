//! Feeding a controller's expectations from the pod cache (client-go's pod event
//! handlers of the ReplicaSet and DaemonSet controllers).

use keel_core::Resource;
use keel_core::api::Pod;

use super::owner::controller_key;
use crate::runtime::{Cache, Expectations, ObjectRef, WorkQueue};

/// Feeds `expectations` from the pod cache: every pod change seen for a pod an owner
/// of kind `K` controls is observed, and the owner is queued when that settles one of
/// its expectations. When an owner is deleted its expectations are forgotten and
/// `gone` is told (for the controller's own per-owner state). Returns when either
/// cache closes.
pub async fn observe_pods<K: Resource>(
    pods: &Cache<Pod>,
    owners: &Cache<K>,
    expectations: &Expectations<ObjectRef>,
    queue: &WorkQueue<ObjectRef>,
    gone: impl Fn(&K),
) {
    let mut pod_changes = pods.subscribe();
    let mut owner_changes = owners.subscribe();
    loop {
        tokio::select! {
            change = pod_changes.recv() => {
                let Some(change) = change else { return };
                let (old, new) = (change.old.as_deref(), change.new.as_deref());
                let Some(key) = new.or(old).and_then(|p| controller_key::<K>(&p.metadata)) else {
                    continue;
                };
                let (old, new) = (old.map(|p| &p.metadata), new.map(|p| &p.metadata));
                if expectations.observe_change(&key, old, new) {
                    queue.add(key);
                }
            }
            change = owner_changes.recv() => {
                let Some(change) = change else { return };
                if let (Some(old), None) = (&change.old, &change.new) {
                    expectations.forget(&ObjectRef::from_obj(&**old));
                    gone(old);
                }
            }
        }
    }
}
