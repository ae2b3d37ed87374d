//! Request and response types of the typed client: list, watch, patch and delete.

use std::sync::Arc;

use crate::error::Error;
use crate::labels::Selector;
use crate::meta::ListMeta;
use crate::store::{FieldSelector, Filter};

/// What to list or watch: label and field selectors in Kubernetes' string syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// A label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// A field selector (`spec.nodeName=node-1`).
    pub field_selector: Option<String>,
    /// Ask watches for bookmarks (a minute of silence gets one).
    pub bookmarks: bool,
}

impl ListParams {
    /// Selects by labels.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> ListParams {
        self.label_selector = Some(selector.to_owned());
        self
    }

    /// Selects by fields.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> ListParams {
        self.field_selector = Some(selector.to_owned());
        self
    }

    /// Asks for bookmarks on watches.
    #[must_use]
    pub fn bookmarks(mut self) -> ListParams {
        self.bookmarks = true;
        self
    }

    /// The store filter, within `namespace`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a selector that does not parse.
    pub fn filter(&self, namespace: Option<&str>) -> Result<Filter, Error> {
        let labels = match self.label_selector.as_deref() {
            None | Some("") => Selector::everything(),
            Some(s) => Selector::parse(s)
                .map_err(|e| Error::BadRequest(format!("invalid label selector {s:?}: {e}")))?,
        };
        let fields = match self.field_selector.as_deref() {
            None | Some("") => FieldSelector::everything(),
            Some(s) => FieldSelector::parse(s)?,
        };
        Ok(Filter {
            namespace: namespace.map(str::to_owned),
            labels,
            fields,
        })
    }
}

/// A list: the objects and the version to watch from.
#[derive(Debug, Clone)]
pub struct ObjectList<K> {
    /// The list's metadata; `resource_version` is the store version of the snapshot.
    pub metadata: ListMeta,
    /// The objects, sorted by namespace and name.
    pub items: Vec<Arc<K>>,
}

impl<K> ObjectList<K> {
    /// The snapshot's version as a string (for [`crate::client::Api::watch`]).
    #[must_use]
    pub fn resource_version(&self) -> &str {
        self.metadata.resource_version.as_deref().unwrap_or("")
    }
}

/// One change delivered by [`crate::client::Api::watch`].
#[derive(Debug, Clone)]
pub enum WatchEvent<K> {
    /// Created, or moved into the selection.
    Added(Arc<K>),
    /// Changed.
    Modified(Arc<K>),
    /// Deleted (last state), or moved out of the selection.
    Deleted(Arc<K>),
    /// Nothing selected changed up to this version.
    Bookmark {
        /// The version to resume from.
        resource_version: String,
    },
}

/// A patch, as `kubectl patch --type` takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// RFC 7386 JSON merge patch (`--type merge`): objects merge, `null` deletes, lists
    /// are replaced.
    Merge(serde_json::Value),
    /// Strategic merge patch (`--type strategic`): as a merge patch, but lists of
    /// objects keyed by `name` (containers, ports, volumes, env, …) merge by that key,
    /// and `$patch: delete` in an element removes it.
    Strategic(serde_json::Value),
    /// RFC 6902 JSON patch (`--type json`): `add`, `remove`, `replace`, `test`, `move`,
    /// `copy` operations.
    Json(serde_json::Value),
}

/// How deletion propagates to dependents (recorded for the garbage collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PropagationPolicy {
    /// Delete now; the garbage collector deletes dependents in the background.
    #[default]
    Background,
    /// Keep the object (finalizer `foregroundDeletion`) until its blocking dependents
    /// are gone.
    Foreground,
    /// Keep the object (finalizer `orphan`) until its dependents' owner references to it
    /// are removed.
    Orphan,
}

/// Conditions a delete must meet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The object's uid must be this.
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    pub resource_version: Option<String>,
}

/// How to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteParams {
    /// Seconds the object (a pod) gets to terminate; `None`: the pod's
    /// `terminationGracePeriodSeconds` (30 by default). `Some(0)` deletes at once.
    pub grace_period_seconds: Option<i64>,
    /// How dependents are handled.
    pub propagation_policy: Option<PropagationPolicy>,
    /// Conditions the object must meet.
    pub preconditions: Option<Preconditions>,
}

impl DeleteParams {
    /// Delete now, without a grace period.
    #[must_use]
    pub fn immediate() -> DeleteParams {
        DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        }
    }

    /// Foreground deletion.
    #[must_use]
    pub fn foreground() -> DeleteParams {
        DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            ..DeleteParams::default()
        }
    }

    /// Orphan the dependents.
    #[must_use]
    pub fn orphan() -> DeleteParams {
        DeleteParams {
            propagation_policy: Some(PropagationPolicy::Orphan),
            ..DeleteParams::default()
        }
    }
}

/// What a delete did.
#[derive(Debug, Clone)]
pub enum Deleted<K> {
    /// The object is gone; this was its last state.
    Gone(Arc<K>),
    /// The object is terminating (`deletionTimestamp` set) until its finalizers are
    /// removed or its grace period ends.
    Terminating(Arc<K>),
}

impl<K> Deleted<K> {
    /// Whether the object is gone.
    #[must_use]
    pub fn is_gone(&self) -> bool {
        matches!(self, Deleted::Gone(_))
    }

    /// The object (last or current state).
    #[must_use]
    pub fn object(&self) -> &Arc<K> {
        match self {
            Deleted::Gone(o) | Deleted::Terminating(o) => o,
        }
    }
}
