//! [`RuntimeError`]: what the plug-in points return when they cannot do what was asked.

/// An error from a runtime, network, volume or metrics backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No such sandbox, container, volume, … (`kind` names which).
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// `sandbox`, `container`, `volume`, `image`, …
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The image could not be pulled.
    #[error("failed to pull image {image:?}: {reason}")]
    ImagePull {
        /// The image.
        image: String,
        /// Why.
        reason: String,
    },
    /// The object is not in a state that allows the operation (e.g. starting a
    /// container twice, creating one in a stopped sandbox).
    #[error("{0}")]
    InvalidState(String),
    /// Addresses, space or another resource ran out.
    #[error("{0}")]
    Exhausted(String),
    /// The operation did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Anything else the backend reports.
    #[error("{0}")]
    Other(String),
}

impl RuntimeError {
    /// A [`RuntimeError::NotFound`].
    pub fn not_found(kind: &'static str, id: &str) -> RuntimeError {
        RuntimeError::NotFound {
            kind,
            id: id.to_owned(),
        }
    }

    /// Whether this is [`RuntimeError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, RuntimeError::NotFound { .. })
    }
}
