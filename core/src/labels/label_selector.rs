//! `LabelSelector`: the API form of a selector (`matchLabels`, `matchExpressions`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Operator, Requirement, Selector, SelectorError};

/// A selector as written in manifests (`metav1.LabelSelector`). The requirements are
/// ANDed; an empty `LabelSelector` selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Each `key: value` is an equality requirement (`key=value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(default)]
    pub key: String,
    /// How the key relates to the values.
    pub operator: LabelSelectorOperator,
    /// The values: non-empty for `In`/`NotIn`, empty for `Exists`/`DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The operator of a [`LabelSelectorRequirement`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LabelSelectorOperator {
    /// The label's value is one of the values.
    #[default]
    In,
    /// The label is absent or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl LabelSelector {
    /// A selector of `matchLabels` only.
    pub fn from_match_labels<K, V>(labels: impl IntoIterator<Item = (K, V)>) -> LabelSelector
    where
        K: Into<String>,
        V: Into<String>,
    {
        LabelSelector {
            match_labels: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            match_expressions: Vec::new(),
        }
    }

    /// Whether the selector has no requirements (it then selects everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Converts to a [`Selector`] (Kubernetes' `LabelSelectorAsSelector`): an empty
    /// `LabelSelector` selects everything. (Where the API allows the selector to be absent,
    /// an absent one selects nothing: use [`Selector::nothing`] for `None`.)
    pub fn to_selector(&self) -> Result<Selector, SelectorError> {
        if self.is_empty() {
            return Ok(Selector::everything());
        }
        let mut selector = Selector::everything();
        for (k, v) in &self.match_labels {
            selector = selector.and(Requirement::new(k, Operator::Equals, [v.as_str()])?);
        }
        for expr in &self.match_expressions {
            let op = match expr.operator {
                LabelSelectorOperator::In => Operator::In,
                LabelSelectorOperator::NotIn => Operator::NotIn,
                LabelSelectorOperator::Exists => Operator::Exists,
                LabelSelectorOperator::DoesNotExist => Operator::DoesNotExist,
            };
            selector = selector.and(Requirement::new(
                &expr.key,
                op,
                expr.values.iter().map(String::as_str),
            )?);
        }
        Ok(selector)
    }

    /// Whether `labels` match; an invalid selector matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.to_selector().is_ok_and(|s| s.matches(labels))
    }
}
