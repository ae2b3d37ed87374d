//! `Selector`: a conjunction of requirements.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::{Operator, Requirement, SelectorError, parser};

/// A label selector: every requirement must hold (Kubernetes' `labels.Selector`).
///
/// `Display` prints Kubernetes' canonical form; parsing it again gives an equal selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Selector {
    /// Parses Kubernetes' selector syntax (`labels.Parse`).
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        Ok(Selector {
            requirements: parser::parse(s)?,
            nothing: false,
        })
    }

    /// The selector that matches every label set (prints as `""`).
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// The selector that matches nothing (Kubernetes' `labels.Nothing()`; prints as `""`).
    pub fn nothing() -> Selector {
        Selector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Whether this is [`Selector::nothing`].
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether the selector has no requirements (and so matches everything, unless it is
    /// [`Selector::nothing`]).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// An equality selector for each label in `labels` (`SelectorFromValidatedSet`).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Selector {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement::unchecked(k, Operator::Equals, v))
            .collect();
        Selector {
            requirements,
            nothing: false,
        }
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Adds a requirement, keeping requirements sorted by key.
    #[must_use]
    pub fn and(mut self, requirement: Requirement) -> Selector {
        let at = self
            .requirements
            .partition_point(|r| r.key() <= requirement.key());
        self.requirements.insert(at, requirement);
        self
    }

    /// The value `label` must equal for this selector to match, if an `=`, `==` or
    /// single-value `in` requirement pins it (`RequiresExactMatch`).
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        self.requirements.iter().find_map(|r| {
            let pins = matches!(
                r.operator(),
                Operator::Equals | Operator::DoubleEquals | Operator::In
            );
            match r.values() {
                [only] if pins && r.key() == label => Some(only.as_str()),
                _ => None,
            }
        })
    }
}

impl Requirement {
    /// A requirement built from already-valid parts (label sets from objects).
    pub(super) fn unchecked(key: &str, operator: Operator, value: &str) -> Requirement {
        Requirement::new(key, operator, [value])
            .unwrap_or_else(|_| Requirement::raw(key, operator, value))
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}
