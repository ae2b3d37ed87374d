//! The error of reading or writing a manifest.

use std::fmt;

/// A manifest could not be read (or written): which document, which object, which field,
/// and why.
///
/// Displays as `document 2 (Deployment default/web): spec.replicas: invalid type: string "three", expected i32`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// The 1-based index of the document in the input (0 when not tied to one document).
    pub document: usize,
    /// The document's `kind`, when it could be read.
    pub kind: Option<String>,
    /// The object's `namespace/name` (or `name`), when it could be read.
    pub object: Option<String>,
    /// The path of the bad field, e.g. `spec.template.spec.containers[0].image`
    /// (empty when the whole document is at fault).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl ManifestError {
    pub(crate) fn document(document: usize, reason: impl Into<String>) -> ManifestError {
        ManifestError {
            document,
            kind: None,
            object: None,
            path: String::new(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document > 0 {
            write!(f, "document {}", self.document)?;
            match (&self.kind, &self.object) {
                (Some(k), Some(o)) => write!(f, " ({k} {o})")?,
                (Some(k), None) => write!(f, " ({k})")?,
                _ => {}
            }
            f.write_str(": ")?;
        }
        if !self.path.is_empty() && self.path != "." {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.reason)
    }
}
