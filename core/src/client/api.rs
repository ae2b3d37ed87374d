//! [`Api<K>`]: typed access to the objects of one kind, in one namespace or all.

use std::marker::PhantomData;
use std::sync::Arc;

use futures::{Stream, StreamExt};

use super::kinds::KindEntry;
use super::server::{Outcome, Server};
use super::{Client, DeleteParams, Deleted, ListParams, ObjectList, Patch, WatchEvent, patch};
use crate::Resource;
use crate::error::Error;
use crate::meta::ListMeta;
use crate::store::{AnyResource, Obj, StoreEvent, WatchOptions, downcast_arc, parse_version};

/// Typed access to one kind, scoped to a namespace or cluster-wide.
pub struct Api<K> {
    client: Client,
    entry: Arc<KindEntry>,
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Api {
            client: self.client.clone(),
            entry: self.entry.clone(),
            namespace: self.namespace.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Api<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("client", &self.client)
            .field("kind", &self.entry.key)
            .field("namespace", &self.namespace)
            .finish()
    }
}

fn typed<K: Resource>(obj: Obj) -> Result<Arc<K>, Error> {
    downcast_arc::<K>(obj).ok_or_else(|| {
        Error::Store(format!(
            "the store returned an object that is not a {}",
            K::KIND
        ))
    })
}

impl<K: Resource> Api<K> {
    /// The objects of `K` in `namespace` (for a cluster-scoped kind, all of them).
    #[must_use]
    pub fn namespaced(client: &Client, namespace: &str) -> Api<K> {
        let namespace = K::NAMESPACED.then(|| namespace.to_owned());
        Api {
            client: client.clone(),
            entry: client.server().kinds.typed::<K>(),
            namespace,
            _kind: PhantomData,
        }
    }

    /// The objects of `K` in the `default` namespace.
    #[must_use]
    pub fn default_namespaced(client: &Client) -> Api<K> {
        Api::namespaced(client, "default")
    }

    /// The objects of `K` in every namespace (reads), or in each object's own namespace
    /// (writes).
    #[must_use]
    pub fn all(client: &Client) -> Api<K> {
        Api {
            client: client.clone(),
            entry: client.server().kinds.typed::<K>(),
            namespace: None,
            _kind: PhantomData,
        }
    }

    /// The namespace this handle is scoped to.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The client this handle uses.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn server(&self) -> &Server {
        self.client.server()
    }

    fn ns_for_read(&self) -> Result<&str, Error> {
        match (&self.namespace, K::NAMESPACED) {
            (Some(ns), _) => Ok(ns),
            (None, false) => Ok(""),
            (None, true) => Err(Error::BadRequest(format!(
                "{}: a namespace is required to name one object",
                K::PLURAL
            ))),
        }
    }

    /// The object `name`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is none.
    pub async fn get(&self, name: &str) -> Result<Arc<K>, Error> {
        let ns = self.ns_for_read()?;
        typed(self.server().get(&self.entry, ns, name).await?)
    }

    /// The object `name`, or `None`.
    ///
    /// # Errors
    /// Only backend failures.
    pub async fn get_opt(&self, name: &str) -> Result<Option<Arc<K>>, Error> {
        match self.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The objects selected, sorted, with the version to watch from.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a bad selector.
    pub async fn list(&self, params: &ListParams) -> Result<ObjectList<K>, Error> {
        let filter = params.filter(self.namespace.as_deref())?;
        let result = self.server().list(&self.entry, &filter).await?;
        let items = result
            .items
            .into_iter()
            .map(typed::<K>)
            .collect::<Result<_, _>>()?;
        Ok(ObjectList {
            metadata: ListMeta {
                resource_version: Some(result.resource_version.to_string()),
                ..ListMeta::default()
            },
            items,
        })
    }

    fn placed(&self, obj: &K) -> Result<Box<dyn AnyResource>, Error> {
        self.boxed(obj.clone())
    }

    /// `obj` boxed for the server, its namespace fixed to this `Api`'s.
    fn boxed(&self, obj: K) -> Result<Box<dyn AnyResource>, Error> {
        let mut boxed: Box<dyn AnyResource> = Box::new(obj);
        Server::place(&self.entry, boxed.as_mut(), self.namespace.as_deref())?;
        Ok(boxed)
    }

    /// Creates `obj` (named by `metadata.name`, or generated from `generateName`).
    ///
    /// The store keeps its own copy of `obj`; a caller that has no further use for the
    /// object saves that copy with [`Api::create_owned`].
    ///
    /// # Errors
    /// [`Error::AlreadyExists`], [`Error::Invalid`], [`Error::NotFound`] for a missing
    /// namespace, [`Error::Forbidden`] for a terminating one or a hook's denial.
    pub async fn create(&self, obj: &K) -> Result<Arc<K>, Error> {
        let boxed = self.placed(obj)?;
        typed(self.server().create(&self.entry, boxed).await?)
    }

    /// [`Api::create`] taking the object by value: it is moved into the store, not
    /// copied (a controller creating a pod it has just built from a template, a loader
    /// creating what it parsed).
    ///
    /// # Errors
    /// As [`Api::create`].
    pub async fn create_owned(&self, obj: K) -> Result<Arc<K>, Error> {
        let boxed = self.boxed(obj)?;
        typed(self.server().create(&self.entry, boxed).await?)
    }

    /// Creates many objects in one store write; each succeeds or fails alone.
    ///
    /// # Errors
    /// Only backend failures; per-object errors are in the results.
    pub async fn create_many(&self, objects: &[K]) -> Result<Vec<Result<Arc<K>, Error>>, Error> {
        self.create_all(objects.to_vec()).await
    }

    /// [`Api::create_many`] taking the objects by value (no copies).
    ///
    /// # Errors
    /// Only backend failures; per-object errors are in the results.
    pub async fn create_all(&self, objects: Vec<K>) -> Result<Vec<Result<Arc<K>, Error>>, Error> {
        let mut boxed = Vec::with_capacity(objects.len());
        let mut early = Vec::new();
        for (i, o) in objects.into_iter().enumerate() {
            match self.boxed(o) {
                Ok(b) => boxed.push(b),
                Err(e) => early.push((i, e)),
            }
        }
        let mut results: Vec<Result<Arc<K>, Error>> = self
            .server()
            .create_many(&self.entry, boxed)
            .await?
            .into_iter()
            .map(|r| r.and_then(typed))
            .collect();
        for (i, e) in early {
            results.insert(i, Err(e));
        }
        Ok(results)
    }

    fn named(&self, name: &str, obj: &K) -> Result<Box<dyn AnyResource>, Error> {
        if obj.meta().name.as_deref() != Some(name) {
            return Err(Error::BadRequest(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                obj.meta().name.as_deref().unwrap_or("")
            )));
        }
        self.placed(obj)
    }

    /// Replaces `name` with `obj` (its status is ignored). With `obj`'s
    /// `resourceVersion` set this is a compare-and-swap; empty, it is unconditional.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the object changed since it was read; [`Error::NotFound`],
    /// [`Error::Invalid`], [`Error::Forbidden`].
    pub async fn replace(&self, name: &str, obj: &K) -> Result<Arc<K>, Error> {
        let boxed = self.named(name, obj)?;
        typed(
            self.server()
                .update(&self.entry, boxed.as_ref(), false)
                .await?,
        )
    }

    /// Replaces only the status of `name` with `obj`'s.
    ///
    /// # Errors
    /// As [`Api::replace`].
    pub async fn replace_status(&self, name: &str, obj: &K) -> Result<Arc<K>, Error> {
        let boxed = self.named(name, obj)?;
        typed(
            self.server()
                .update(&self.entry, boxed.as_ref(), true)
                .await?,
        )
    }

    async fn patch_with(&self, name: &str, p: &Patch, status: bool) -> Result<Arc<K>, Error> {
        let ns = self.ns_for_read()?;
        loop {
            let current = self.server().get(&self.entry, ns, name).await?;
            let mut json = current.to_json().map_err(|e| Error::Store(e.to_string()))?;
            patch::apply(&mut json, p)?;
            let pinned = json
                .pointer("/metadata/resourceVersion")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            let mut patched = self.entry.decode(json)?;
            // Without a version in the patch, patch the version read and retry on conflict.
            let unpinned = pinned.is_none() || pinned == current.meta().resource_version;
            patched.meta_mut().resource_version.clone_from(if unpinned {
                &current.meta().resource_version
            } else {
                &pinned
            });
            if patched.meta().name.as_deref() != Some(name) {
                return Err(Error::BadRequest(
                    "a patch may not change metadata.name".to_owned(),
                ));
            }
            match self
                .server()
                .update(&self.entry, patched.as_ref(), status)
                .await
            {
                Err(Error::Conflict { .. }) if unpinned => {}
                other => return typed(other?),
            }
        }
    }

    /// Patches `name` (status changes are ignored, as for [`Api::replace`]).
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a patch that does not apply or gives an object that
    /// does not decode; otherwise as [`Api::replace`].
    pub async fn patch(&self, name: &str, patch: &Patch) -> Result<Arc<K>, Error> {
        self.patch_with(name, patch, false).await
    }

    /// Patches only the status of `name`.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_status(&self, name: &str, patch: &Patch) -> Result<Arc<K>, Error> {
        self.patch_with(name, patch, true).await
    }

    /// Deletes `name`: at once, or (with finalizers, a pod's grace period, or a
    /// foreground / orphan policy) by setting `deletionTimestamp`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] when a precondition fails.
    pub async fn delete(&self, name: &str, params: &DeleteParams) -> Result<Deleted<K>, Error> {
        let ns = self.ns_for_read()?;
        Ok(
            match self.server().delete(&self.entry, ns, name, params).await? {
                Outcome::Gone(o) => Deleted::Gone(typed(o)?),
                Outcome::Terminating(o) => Deleted::Terminating(typed(o)?),
            },
        )
    }

    /// Watches the objects selected, from `resource_version` (`""` or `"0"`: an `Added`
    /// event per current object first).
    ///
    /// # Errors
    /// [`Error::Expired`] for a version older than the store's history,
    /// [`Error::TooLargeResourceVersion`] for one in the future, [`Error::BadRequest`]
    /// for a bad selector or version.
    pub async fn watch(
        &self,
        params: &ListParams,
        resource_version: &str,
    ) -> Result<impl Stream<Item = Result<WatchEvent<K>, Error>> + Send + use<K>, Error> {
        let filter = params.filter(self.namespace.as_deref())?;
        self.server().bootstrap().await?;
        Server::check_fields(&self.entry, &filter)?;
        let from = match resource_version {
            "" | "0" => None,
            rv => Some(parse_version(Some(rv))?),
        };
        let options = WatchOptions {
            filter,
            from,
            bookmarks: params.bookmarks,
        };
        let stream = self.server().store.watch(&self.entry.key, options).await?;
        Ok(stream.map(|event| {
            Ok(match event? {
                StoreEvent::Added(o) => WatchEvent::Added(typed(o)?),
                StoreEvent::Modified(o) => WatchEvent::Modified(typed(o)?),
                StoreEvent::Deleted(o) => WatchEvent::Deleted(typed(o)?),
                StoreEvent::Bookmark(v) => WatchEvent::Bookmark {
                    resource_version: v.to_string(),
                },
            })
        }))
    }
}
