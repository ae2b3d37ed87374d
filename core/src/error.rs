//! [`Error`]: what the store and the client answer when a request cannot be served, with
//! the messages the Kubernetes API server gives.

use crate::validation::{FieldError, ValidationError};

/// A failed store or client request. Each variant names the object (`resource "name"`,
/// the way `kubectl` prints it) and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// The kind's plural (`pods`).
        resource: String,
        /// `namespace/name` or `name`.
        name: String,
    },
    /// An object of this name exists already.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// The kind's plural.
        resource: String,
        /// `namespace/name` or `name`.
        name: String,
    },
    /// A write carried a stale `resourceVersion` or failed a precondition.
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {reason}")]
    Conflict {
        /// The kind's plural.
        resource: String,
        /// `namespace/name` or `name`.
        name: String,
        /// Why, e.g. "the object has been modified; please apply your changes to the
        /// latest version and try again".
        reason: String,
    },
    /// The object failed validation or an admission hook; `field` is the first bad
    /// field's path and `reason` its message; `causes` holds every field error.
    #[error("{kind} \"{name}\" is invalid: {reason}")]
    Invalid {
        /// The object's kind (`Pod`).
        kind: String,
        /// `namespace/name` or `name`.
        name: String,
        /// The first bad field's path (`spec.containers[0].image`).
        field: String,
        /// Every problem, joined as Kubernetes prints them.
        reason: String,
        /// Every field error.
        causes: Vec<FieldError>,
    },
    /// The request is not allowed (an admission hook, a terminating namespace, …).
    #[error("{resource} \"{name}\" is forbidden: {reason}")]
    Forbidden {
        /// The kind's plural.
        resource: String,
        /// `namespace/name` or `name`.
        name: String,
        /// Why.
        reason: String,
    },
    /// A watch asked for history older than the store keeps: re-list.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version asked for.
        requested: u64,
        /// The oldest version a watch may start from now.
        oldest: u64,
    },
    /// A watch or read asked for a version the store has not reached.
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion {
        /// The version asked for.
        requested: u64,
        /// The store's current version.
        current: u64,
    },
    /// The request itself is malformed (a patch that does not parse, a bad selector, an
    /// unknown kind, a bad resourceVersion string).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The backend failed (I/O, a lost connection); the write may not have happened.
    #[error("store error: {0}")]
    Store(String),
}

impl Error {
    /// The error for an invalid object, from its validation result.
    #[must_use]
    pub fn invalid(err: ValidationError) -> Error {
        let name = err.object();
        let field = err
            .errors
            .first()
            .map(|e| e.path.to_string())
            .unwrap_or_default();
        let reason = err
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let reason = if err.errors.len() > 1 {
            format!("[{reason}]")
        } else {
            reason
        };
        Error::Invalid {
            kind: err.kind,
            name,
            field,
            reason,
            causes: err.errors,
        }
    }

    /// Whether this is [`Error::NotFound`].
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether this is [`Error::Conflict`].
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// Whether this is [`Error::AlreadyExists`].
    #[must_use]
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    /// Whether this is [`Error::Expired`] (the caller should re-list).
    #[must_use]
    pub fn is_expired(&self) -> bool {
        matches!(self, Error::Expired { .. })
    }
}

/// `namespace/name`, or `name` for cluster-scoped objects.
#[must_use]
pub fn object_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}
