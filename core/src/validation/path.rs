//! Field paths (`spec.containers[0].ports[1].containerPort`), as Kubernetes' `field.Path`.

use std::fmt;

/// A path to a field inside an object, printed as Kubernetes prints it:
/// `spec.containers[0].resources.requests[cpu]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
}

impl FieldPath {
    /// A path starting at the top-level field `name`.
    pub fn new(name: &str) -> FieldPath {
        FieldPath {
            text: name.to_owned(),
        }
    }

    /// The empty path (the object itself).
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// `self.name`.
    #[must_use]
    pub fn child(&self, name: &str) -> FieldPath {
        let mut text = String::with_capacity(self.text.len() + name.len() + 1);
        text.push_str(&self.text);
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str(name);
        FieldPath { text }
    }

    /// `self[index]`, for list elements.
    #[must_use]
    pub fn index(&self, index: usize) -> FieldPath {
        FieldPath {
            text: format!("{}[{index}]", self.text),
        }
    }

    /// `self[key]`, for map entries.
    #[must_use]
    pub fn key(&self, key: &str) -> FieldPath {
        FieldPath {
            text: format!("{}[{key}]", self.text),
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_kubernetes() {
        let p = FieldPath::new("spec").child("containers").index(0);
        assert_eq!(p.child("name").to_string(), "spec.containers[0].name");
        assert_eq!(
            p.child("resources")
                .child("requests")
                .key("cpu")
                .to_string(),
            "spec.containers[0].resources.requests[cpu]"
        );
        assert_eq!(FieldPath::root().child("metadata").as_str(), "metadata");
    }
}
