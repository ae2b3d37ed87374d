//! What a list or watch selects: a namespace, a label selector and a field selector.

use std::fmt;
use std::str::FromStr;

use super::AnyResource;
use crate::error::Error;
use crate::labels::Selector;

/// A field selector (`spec.nodeName=node-1,status.phase!=Succeeded`): `=`, `==` and
/// `!=` on the fields a kind makes selectable, as Kubernetes' `fields.Selector`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// One `field=value` or `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field's path, e.g. `spec.nodeName`.
    pub field: String,
    /// The value compared with.
    pub value: String,
    /// `!=` rather than `=`.
    pub negated: bool,
}

impl FieldSelector {
    /// Selects everything.
    #[must_use]
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// Parses Kubernetes' field selector syntax; `\,`, `\=` and `\\` escape.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the bad term.
    pub fn parse(s: &str) -> Result<FieldSelector, Error> {
        let mut terms = Vec::new();
        for raw in split_unescaped(s, ',') {
            if raw.trim().is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some(i) = find_unescaped(&raw, "!=") {
                (&raw[..i], &raw[i + 2..], true)
            } else if let Some(i) = find_unescaped(&raw, "==") {
                (&raw[..i], &raw[i + 2..], false)
            } else if let Some(i) = find_unescaped(&raw, "=") {
                (&raw[..i], &raw[i + 1..], false)
            } else {
                return Err(Error::BadRequest(format!(
                    "invalid field selector: invalid selector: '{raw}'; can't understand '{raw}'"
                )));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(Error::BadRequest(format!(
                    "invalid field selector: empty field in '{raw}'"
                )));
            }
            terms.push(FieldTerm {
                field: field.to_owned(),
                value: unescape(value.trim()),
                negated,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// Adds `field=value`.
    #[must_use]
    pub fn equals(mut self, field: impl Into<String>, value: impl Into<String>) -> FieldSelector {
        self.terms.push(FieldTerm {
            field: field.into(),
            value: value.into(),
            negated: false,
        });
        self
    }

    /// The terms.
    #[must_use]
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// Whether it selects everything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value `field` must equal, if a term requires it.
    #[must_use]
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| !t.negated && t.field == field)
            .map(|t| t.value.as_str())
    }

    /// Whether `obj` satisfies every term; a field the kind does not support fails.
    #[must_use]
    pub fn matches(&self, obj: &dyn AnyResource) -> bool {
        self.terms.iter().all(|t| {
            obj.field(&t.field)
                .is_some_and(|v| (v == t.value) != t.negated)
        })
    }

    /// Checks that `obj`'s kind supports every field named.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field, as Kubernetes'
    /// `field label not supported`.
    pub fn check_supported(&self, obj: &dyn AnyResource) -> Result<(), Error> {
        match self.terms.iter().find(|t| obj.field(&t.field).is_none()) {
            Some(t) => Err(Error::BadRequest(format!(
                "field label not supported: {} (kind {})",
                t.field,
                obj.kind()
            ))),
            None => Ok(()),
        }
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

fn find_unescaped(s: &str, op: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(op) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.negated { "!=" } else { "=" };
            write!(f, "{}{op}{}", t.field, escape(&t.value))?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// The objects a list or watch selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this namespace (`None`: all namespaces).
    pub namespace: Option<String>,
    /// Objects whose labels match.
    pub labels: Selector,
    /// Objects whose fields match.
    pub fields: FieldSelector,
}

impl Filter {
    /// Everything of a kind.
    #[must_use]
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Whether `obj` is selected.
    #[must_use]
    pub fn matches(&self, obj: &dyn AnyResource) -> bool {
        let meta = obj.meta();
        if let Some(ns) = &self.namespace
            && meta.namespace.as_deref().unwrap_or("") != ns
        {
            return false;
        }
        self.labels.matches(&meta.labels) && self.fields.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Pod;
    use crate::meta::ObjectMeta;

    #[test]
    fn parses_prints_and_matches() {
        let s = FieldSelector::parse("spec.nodeName=node-1, status.phase!=Failed").unwrap();
        assert_eq!(s.to_string(), "spec.nodeName=node-1,status.phase!=Failed");
        assert_eq!(s.exact("spec.nodeName"), Some("node-1"));
        let mut pod = Pod {
            metadata: ObjectMeta::namespaced("default", "web"),
            ..Pod::default()
        };
        assert!(!s.matches(&pod));
        pod.spec.node_name = Some("node-1".into());
        assert!(s.matches(&pod));
        assert!(
            FieldSelector::parse("spec.nodeName=")
                .unwrap()
                .matches(&Pod::default())
        );
        assert!(
            FieldSelector::parse("metadata.name==web")
                .unwrap()
                .matches(&pod)
        );
        let escaped = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
        assert_eq!(escaped.terms()[0].value, "a,b");
        assert_eq!(FieldSelector::parse(&escaped.to_string()).unwrap(), escaped);
    }

    #[test]
    fn bad_selectors_and_unsupported_fields_are_errors() {
        assert!(FieldSelector::parse("spec.nodeName").is_err());
        assert!(FieldSelector::parse("=x").is_err());
        let s = FieldSelector::parse("spec.replicas=3").unwrap();
        let err = s.check_supported(&Pod::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("field label not supported: spec.replicas"),
            "{err}"
        );
    }
}
