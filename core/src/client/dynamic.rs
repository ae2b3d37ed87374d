//! Access by kind at run time: [`DynamicApi`] and [`Client::apply`] of manifests.

use std::sync::Arc;

use super::kinds::KindEntry;
use super::server::{Outcome, Server};
use super::{Client, DeleteParams, ListParams};
use crate::error::Error;
use crate::manifest::{self, Object};
use crate::store::{AnyResource, Obj};

/// Access to the objects of a kind chosen at run time (built-in, typed or dynamic).
#[derive(Clone, Debug)]
pub struct DynamicApi {
    client: Client,
    entry: Arc<KindEntry>,
    namespace: Option<String>,
}

impl Client {
    /// Access to a registered kind by `kind` name (`Pod`), plural (`pods`) or
    /// `apiVersion/kind`, in `namespace` (`None`: all namespaces / cluster-scoped).
    ///
    /// # Errors
    /// [`Error::BadRequest`] listing the known kinds when none matches.
    pub fn dynamic(&self, kind: &str, namespace: Option<&str>) -> Result<DynamicApi, Error> {
        let entry = self.server().kinds.find(kind).ok_or_else(|| {
            Error::BadRequest(format!(
                "unknown kind {kind:?}; known kinds: {}",
                self.server().kinds.names().join(", ")
            ))
        })?;
        let namespace = if entry.namespaced {
            namespace.map(str::to_owned)
        } else {
            None
        };
        Ok(DynamicApi {
            client: self.clone(),
            entry,
            namespace,
        })
    }

    /// Creates each object, or replaces it if it exists (keeping its status): what
    /// `kubectl apply` does for objects that are fully specified. Namespaced objects
    /// without a namespace go to `default`.
    ///
    /// # Errors
    /// The first failing object's error; earlier objects stay applied.
    pub async fn apply(&self, objects: Vec<Object>) -> Result<Vec<Obj>, Error> {
        let mut applied = Vec::with_capacity(objects.len());
        for object in objects {
            let mut obj = object.into_any();
            let entry = self.server().kinds.for_object(obj.as_ref())?;
            if obj.as_any().is::<crate::manifest::DynamicObject>() {
                // A registered typed kind read from a manifest: decode it as that type.
                obj = entry.decode(
                    obj.to_json()
                        .map_err(|e| Error::BadRequest(e.to_string()))?,
                )?;
            }
            Server::place(&entry, obj.as_mut(), None)?;
            applied.push(apply_one(self.server(), &entry, obj).await?);
        }
        Ok(applied)
    }

    /// Reads a multi-document manifest (with this client's dynamic kinds) and applies it.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a manifest that does not parse; otherwise as
    /// [`Client::apply`].
    pub async fn apply_yaml(&self, yaml: &str) -> Result<Vec<Obj>, Error> {
        let registry = self.server().kinds.registry();
        let objects = manifest::from_yaml_with(yaml, &registry)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        self.apply(objects).await
    }
}

async fn apply_one(
    server: &Server,
    entry: &KindEntry,
    mut obj: Box<dyn AnyResource>,
) -> Result<Obj, Error> {
    let ns = obj.meta().namespace.clone().unwrap_or_default();
    let name = obj.meta().name.clone().unwrap_or_default();
    if name.is_empty() {
        return server.create(entry, obj).await;
    }
    loop {
        match server.store.get(&entry.key, &ns, &name).await? {
            None => match server.create(entry, obj.clone_boxed()).await {
                Err(Error::AlreadyExists { .. }) => {}
                other => return other,
            },
            Some(current) => {
                obj.meta_mut()
                    .resource_version
                    .clone_from(&current.meta().resource_version);
                match server.update(entry, obj.as_ref(), false).await {
                    Err(Error::Conflict { .. }) => {}
                    other => return other,
                }
            }
        }
    }
}

impl DynamicApi {
    /// The kind served.
    #[must_use]
    pub fn entry(&self) -> &KindEntry {
        &self.entry
    }

    fn ns(&self) -> Result<&str, Error> {
        match (&self.namespace, self.entry.namespaced) {
            (Some(ns), _) => Ok(ns),
            (None, false) => Ok(""),
            (None, true) => Err(Error::BadRequest(format!(
                "{}: a namespace is required to name one object",
                self.entry.plural
            ))),
        }
    }

    /// The object `name`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn get(&self, name: &str) -> Result<Obj, Error> {
        self.client
            .server()
            .get(&self.entry, self.ns()?, name)
            .await
    }

    /// The objects selected.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a bad selector.
    pub async fn list(&self, params: &ListParams) -> Result<Vec<Obj>, Error> {
        let filter = params.filter(self.namespace.as_deref())?;
        Ok(self.client.server().list(&self.entry, &filter).await?.items)
    }

    /// Creates an object from its JSON.
    ///
    /// # Errors
    /// [`Error::BadRequest`] when the JSON is not an object of this kind; otherwise as
    /// [`crate::client::Api::create`].
    pub async fn create(&self, json: serde_json::Value) -> Result<Obj, Error> {
        let mut obj = self.entry.decode(json)?;
        Server::place(&self.entry, obj.as_mut(), self.namespace.as_deref())?;
        self.client.server().create(&self.entry, obj).await
    }

    /// Replaces an object from its JSON (compare-and-swap when it has a version).
    ///
    /// # Errors
    /// As [`crate::client::Api::replace`].
    pub async fn replace(&self, json: serde_json::Value) -> Result<Obj, Error> {
        let mut obj = self.entry.decode(json)?;
        Server::place(&self.entry, obj.as_mut(), self.namespace.as_deref())?;
        self.client
            .server()
            .update(&self.entry, obj.as_ref(), false)
            .await
    }

    /// Deletes `name`; `Ok(true)` when it is gone, `Ok(false)` when terminating.
    ///
    /// # Errors
    /// As [`crate::client::Api::delete`].
    pub async fn delete(&self, name: &str, params: &DeleteParams) -> Result<bool, Error> {
        let outcome = self
            .client
            .server()
            .delete(&self.entry, self.ns()?, name, params)
            .await?;
        Ok(matches!(outcome, Outcome::Gone(_)))
    }
}
