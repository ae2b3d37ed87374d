//! The finalizer helper (kube-runtime's `finalizer`): make sure a controller's
//! finalizer is on the object before it acts, run its cleanup when the object is being
//! deleted, and only then let the deletion finish.

use std::future::Future;
use std::sync::Arc;

use keel_core::Resource;
use keel_core::client::Api;

use super::action::Action;

/// What the reconcile passed to [`finalizer`] is asked to do.
#[derive(Debug)]
pub enum Event<K> {
    /// The object exists (and carries the finalizer): bring the world in line with it.
    Apply(Arc<K>),
    /// The object is being deleted: clean up what it caused. When this succeeds the
    /// finalizer is removed and the deletion completes; it must be idempotent.
    Cleanup(Arc<K>),
}

/// Why [`finalizer`] failed.
#[derive(Debug, thiserror::Error)]
pub enum FinalizerError<E: std::error::Error + 'static> {
    /// The `Apply` reconcile failed.
    #[error("apply failed: {0}")]
    ApplyFailed(#[source] E),
    /// The `Cleanup` reconcile failed; the finalizer stays.
    #[error("cleanup failed: {0}")]
    CleanupFailed(#[source] E),
    /// Adding the finalizer to the object failed.
    #[error("failed to add finalizer: {0}")]
    AddFinalizer(#[source] keel_core::Error),
    /// Removing the finalizer from the object failed.
    #[error("failed to remove finalizer: {0}")]
    RemoveFinalizer(#[source] keel_core::Error),
    /// The object has no name.
    #[error("the object has no name")]
    UnnamedObject,
}

/// Runs `reconcile` under the finalizer `name`:
///
/// - not being deleted, finalizer missing: adds it (a write checked against the
///   object's `resourceVersion`) and returns [`Action::await_change`] — the write
///   triggers the next reconcile, which applies;
/// - not being deleted, finalizer present: `reconcile(Event::Apply(obj))`;
/// - being deleted, finalizer present: `reconcile(Event::Cleanup(obj))`, then removes
///   the finalizer;
/// - being deleted, finalizer gone: nothing to do.
///
/// `api` must reach the object: cluster-wide ([`Api::all`]) or in its namespace.
pub async fn finalizer<K, F, Fut, E>(
    api: &Api<K>,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, FinalizerError<E>>
where
    K: Resource,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
    E: std::error::Error + 'static,
{
    let meta = obj.meta();
    let Some(object_name) = meta.name.clone() else {
        return Err(FinalizerError::UnnamedObject);
    };
    let api = match (api.namespace(), meta.namespace_str()) {
        (None, Some(ns)) if K::NAMESPACED => Api::namespaced(api.client(), ns),
        _ => api.clone(),
    };
    let has = meta.finalizers.iter().any(|f| f == name);
    let deleting = meta.deletion_timestamp.is_some();
    match (deleting, has) {
        (false, false) => {
            let mut updated = (*obj).clone();
            updated.meta_mut().finalizers.push(name.to_owned());
            api.replace(&object_name, &updated)
                .await
                .map_err(FinalizerError::AddFinalizer)?;
            Ok(Action::await_change())
        }
        (false, true) => reconcile(Event::Apply(obj))
            .await
            .map_err(FinalizerError::ApplyFailed),
        (true, true) => {
            let action = reconcile(Event::Cleanup(obj.clone()))
                .await
                .map_err(FinalizerError::CleanupFailed)?;
            let mut updated = (*obj).clone();
            updated.meta_mut().finalizers.retain(|f| f != name);
            match api.replace(&object_name, &updated).await {
                Ok(_) => Ok(action),
                // Removing our finalizer may have been the last one: the object is gone.
                Err(e) if e.is_not_found() => Ok(action),
                Err(e) => Err(FinalizerError::RemoveFinalizer(e)),
            }
        }
        (true, false) => Ok(Action::await_change()),
    }
}
