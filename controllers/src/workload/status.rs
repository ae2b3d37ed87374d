//! Status writes with one retry on conflict.

use keel_core::client::Api;
use keel_core::{Error, Resource};

/// Writes the status `set` gives `obj`, unless it leaves `obj` unchanged. On a conflict
/// (the cached `obj` is stale) the object is re-read and `set` applied to the fresh
/// copy once more, as Kubernetes' controllers' `update…Status` do. A deleted object is
/// not an error.
pub async fn update_status<K>(api: &Api<K>, obj: &K, set: impl Fn(&mut K)) -> Result<(), Error>
where
    K: Resource + Clone + PartialEq,
{
    let mut next = obj.clone();
    set(&mut next);
    if next == *obj {
        return Ok(());
    }
    let name = obj.meta().name_str();
    match api.replace_status(name, &next).await {
        Err(e) if e.is_conflict() => {
            let Some(fresh) = api.get_opt(name).await? else {
                return Ok(());
            };
            let mut next = (*fresh).clone();
            set(&mut next);
            match api.replace_status(name, &next).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other.map(|_| ()),
            }
        }
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map(|_| ()),
    }
}
