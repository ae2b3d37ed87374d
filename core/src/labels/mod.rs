//! STUB — replaced by the real module (same public API).
#![allow(missing_docs, clippy::pedantic)]
use std::collections::BTreeMap;
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LabelSelectorOperator { #[default] In, NotIn, Exists, DoesNotExist }
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement { pub key: String, pub operator: LabelSelectorOperator, #[serde(default, skip_serializing_if = "Vec::is_empty")] pub values: Vec<String> }
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector;
impl Selector {
    pub fn parse(_s: &str) -> Result<Selector, SelectorError> { Ok(Selector) }
    pub fn everything() -> Selector { Selector }
    pub fn is_empty(&self) -> bool { true }
    pub fn matches(&self, _l: &BTreeMap<String, String>) -> bool { true }
}
impl LabelSelector {
    pub fn to_selector(&self) -> Result<Selector, SelectorError> { Ok(Selector) }
    pub fn matches(&self, _l: &BTreeMap<String, String>) -> bool { true }
}
