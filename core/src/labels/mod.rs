//! Labels and label selectors, as Kubernetes' `k8s.io/apimachinery/pkg/labels`.
//!
//! [`Selector`] is the parsed form of the string syntax
//! (`app=web,tier in (a,b),!canary,replicas>2`); it prints canonically (requirements sorted
//! by key, values sorted) and matches label sets. [`LabelSelector`] is the API form written
//! in manifests (`matchLabels`, `matchExpressions`) and converts into a `Selector`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use keel_core::labels::Selector;
//!
//! let s: Selector = "tier in (web, api), !canary ,env=prod".parse().unwrap();
//! assert_eq!(s.to_string(), "!canary,env=prod,tier in (api,web)");
//! let labels = BTreeMap::from([("tier".to_owned(), "web".to_owned()), ("env".to_owned(), "prod".to_owned())]);
//! assert!(s.matches(&labels));
//! ```

mod label_selector;
mod lexer;
mod parser;
mod requirement;
mod selector;
#[cfg(test)]
mod tests;

pub use label_selector::{LabelSelector, LabelSelectorOperator, LabelSelectorRequirement};
pub use requirement::{Operator, Requirement};
pub use selector::Selector;

/// A set of labels: key to value.
pub type Labels = std::collections::BTreeMap<String, String>;

/// A selector (or requirement) that does not parse or is not valid; the message is
/// Kubernetes' wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    message: String,
}

impl SelectorError {
    pub(crate) fn new(message: impl Into<String>) -> SelectorError {
        SelectorError {
            message: message.into(),
        }
    }

    /// The message, as Kubernetes words it.
    pub fn message(&self) -> &str {
        &self.message
    }
}
