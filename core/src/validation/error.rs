//! Validation errors: one [`FieldError`] per bad field, gathered in a [`ValidationError`]
//! that names the object.

use std::fmt;

use super::FieldPath;

/// What is wrong with a field (Kubernetes' `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A required field is missing.
    Required,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of the supported values.
    NotSupported,
    /// The value repeats one that must be unique.
    Duplicate,
    /// The value is too long.
    TooLong,
    /// The field may not be set (or changed) here.
    Forbidden,
}

/// One bad field: where, what kind of problem, the offending value and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where the error is.
    pub path: FieldPath,
    /// What kind of error it is.
    pub kind: ErrorType,
    /// The offending value as the user wrote it (empty for `Required`/`Forbidden`).
    pub value: String,
    /// Why it is wrong.
    pub detail: String,
}

impl FieldError {
    /// A required field is missing.
    pub fn required(path: FieldPath, detail: impl Into<String>) -> FieldError {
        FieldError {
            path,
            kind: ErrorType::Required,
            value: String::new(),
            detail: detail.into(),
        }
    }

    /// A value is malformed.
    pub fn invalid(
        path: FieldPath,
        value: impl fmt::Display,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError {
            path,
            kind: ErrorType::Invalid,
            value: value.to_string(),
            detail: detail.into(),
        }
    }

    /// A value is not one of `supported`.
    pub fn not_supported(
        path: FieldPath,
        value: impl fmt::Display,
        supported: &[&str],
    ) -> FieldError {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        FieldError {
            path,
            kind: ErrorType::NotSupported,
            value: value.to_string(),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    /// A value repeats one that must be unique.
    pub fn duplicate(path: FieldPath, value: impl fmt::Display) -> FieldError {
        FieldError {
            path,
            kind: ErrorType::Duplicate,
            value: value.to_string(),
            detail: String::new(),
        }
    }

    /// A value is longer than `max`.
    pub fn too_long(path: FieldPath, max: usize) -> FieldError {
        FieldError {
            path,
            kind: ErrorType::TooLong,
            value: String::new(),
            detail: format!("may not be more than {max} bytes"),
        }
    }

    /// A field may not be set here.
    pub fn forbidden(path: FieldPath, detail: impl Into<String>) -> FieldError {
        FieldError {
            path,
            kind: ErrorType::Forbidden,
            value: String::new(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.kind {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::TooLong => "Too long",
            ErrorType::Forbidden => "Forbidden",
        };
        write!(f, "{}: {label}", self.path)?;
        if matches!(
            self.kind,
            ErrorType::Invalid | ErrorType::NotSupported | ErrorType::Duplicate
        ) {
            write!(f, ": {:?}", self.value)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An object failed validation: which object, and every bad field.
///
/// Displays as `Pod default/web-0: spec.containers[0].name: Required value`, one
/// field error after another separated by `; `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The object's kind.
    pub kind: String,
    /// The object's namespace, if namespaced.
    pub namespace: Option<String>,
    /// The object's name (or `generateName` prefix).
    pub name: String,
    /// Every bad field, in the order found.
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// The object's identity as printed: `default/web-0` or `node-1`.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.kind, self.object())?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_like_kubernetes() {
        let p = FieldPath::new("spec").child("restartPolicy");
        let e = FieldError::not_supported(p, "Sometimes", &["Always", "OnFailure", "Never"]);
        assert_eq!(
            e.to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
        let err = ValidationError {
            kind: "Pod".into(),
            namespace: Some("default".into()),
            name: "web-0".into(),
            errors: vec![
                FieldError::required(FieldPath::new("spec").child("containers"), ""),
                FieldError::invalid(FieldPath::new("metadata").child("name"), "Web", "bad"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "Pod default/web-0: spec.containers: Required value; metadata.name: Invalid value: \"Web\": bad"
        );
    }
}
