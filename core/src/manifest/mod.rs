//! Manifests: multi-document YAML (or JSON) in, typed [`Object`]s out, and back.
//!
//! ```
//! let objects = keel_core::manifest::from_yaml(r"
//! apiVersion: v1
//! kind: ConfigMap
//! metadata: {name: settings, namespace: default}
//! data: {mode: fast}
//! ").unwrap();
//! assert_eq!(objects[0].kind(), "ConfigMap");
//! assert_eq!(objects[0].name(), "settings");
//! ```

mod dynamic;
mod error;
mod object;

pub use dynamic::{DynamicObject, KindInfo, KindRegistry};
pub use error::ManifestError;
pub use object::{BUILTIN_KINDS, Object};

use serde_json::Value;

/// Reads every object of a multi-document YAML (or JSON) manifest, for the built-in kinds.
///
/// Empty documents are skipped; a `kind: List` document contributes its `items`. An
/// unknown field, a wrong type or an unknown kind is an error naming the document, the
/// field path and the reason.
pub fn from_yaml(input: &str) -> Result<Vec<Object>, ManifestError> {
    from_yaml_with(input, &KindRegistry::default())
}

/// Like [`from_yaml`], also accepting the kinds in `registry` (as [`Object::Dynamic`]).
pub fn from_yaml_with(input: &str, registry: &KindRegistry) -> Result<Vec<Object>, ManifestError> {
    let documents = parse_documents(input)?;
    let mut objects = Vec::with_capacity(documents.len());
    for (i, doc) in documents.into_iter().enumerate() {
        let index = i + 1;
        if doc.is_null() {
            continue;
        }
        if doc.get("kind").and_then(Value::as_str) == Some("List") {
            let Some(Value::Array(items)) = doc.get("items").cloned() else {
                return Err(ManifestError {
                    path: "items".into(),
                    ..ManifestError::document(index, "a List needs an `items` array")
                });
            };
            for item in items {
                objects.push(decode(index, item, registry)?);
            }
        } else {
            objects.push(decode(index, doc, registry)?);
        }
    }
    Ok(objects)
}

/// Writes objects as a multi-document YAML manifest (`---` between documents).
pub fn to_yaml(objects: &[Object]) -> Result<String, ManifestError> {
    serde_saphyr::to_string_multiple(objects).map_err(|e| ManifestError::document(0, e.to_string()))
}

/// Writes objects as JSON: one object as itself, several as a `kind: List`.
pub fn to_json(objects: &[Object]) -> Result<String, ManifestError> {
    let result = match objects {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(&serde_json::json!({
            "apiVersion": "v1", "kind": "List", "items": many,
        })),
    };
    result.map_err(|e| ManifestError::document(0, e.to_string()))
}

fn parse_documents(input: &str) -> Result<Vec<Value>, ManifestError> {
    let trimmed = input.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut docs = Vec::new();
        for (i, doc) in serde_json::Deserializer::from_str(input)
            .into_iter::<Value>()
            .enumerate()
        {
            match doc {
                Ok(Value::Array(items)) => docs.extend(items),
                Ok(v) => docs.push(v),
                Err(e) => return Err(ManifestError::document(i + 1, format!("invalid JSON: {e}"))),
            }
        }
        return Ok(docs);
    }
    serde_saphyr::from_multiple::<Value>(input)
        .map_err(|e| ManifestError::document(0, format!("invalid YAML: {e}")))
}

fn identity(doc: &Value) -> Option<String> {
    let meta = doc.get("metadata")?;
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    Some(match meta.get("namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    })
}

fn decode(index: usize, doc: Value, registry: &KindRegistry) -> Result<Object, ManifestError> {
    if !doc.is_object() {
        return Err(ManifestError::document(
            index,
            "a document must be a mapping with apiVersion and kind",
        ));
    }
    let object = identity(&doc);
    let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
    let kind = field("kind");
    let fail = |path: &str, reason: String| ManifestError {
        document: index,
        kind: kind.clone(),
        object: object.clone(),
        path: path.to_owned(),
        reason,
    };
    let Some(kind_name) = kind.clone().filter(|k| !k.is_empty()) else {
        return Err(fail("kind", "Required value".into()));
    };
    let Some(api_version) = field("apiVersion").filter(|v| !v.is_empty()) else {
        return Err(fail("apiVersion", "Required value".into()));
    };
    if let Some(result) = Object::decode_builtin(&api_version, &kind_name, doc.clone()) {
        return result.map_err(|e| fail(&e.path().to_string(), e.into_inner().to_string()));
    }
    if let Some(info) = registry.get(&api_version, &kind_name) {
        info.check(&doc)
            .map_err(|(path, reason)| fail(&path, reason))?;
        let dynamic: DynamicObject = serde_path_to_error::deserialize(doc)
            .map_err(|e| fail(&e.path().to_string(), e.into_inner().to_string()))?;
        return Ok(Object::Dynamic(dynamic));
    }
    let served: Vec<&str> = BUILTIN_KINDS
        .iter()
        .filter(|(_, k)| *k == kind_name)
        .map(|(v, _)| *v)
        .chain(
            registry
                .iter()
                .filter(|i| i.kind == kind_name)
                .map(|i| i.api_version.as_str()),
        )
        .collect();
    if !served.is_empty() {
        return Err(fail(
            "apiVersion",
            format!(
                "{kind_name} is served as {}, not {api_version:?}",
                served.join(", ")
            ),
        ));
    }
    let mut known: Vec<&str> = BUILTIN_KINDS.iter().map(|(_, k)| *k).collect();
    known.extend(registry.iter().map(|i| i.kind.as_str()));
    known.sort_unstable();
    Err(fail(
        "kind",
        format!(
            "unknown kind {kind_name:?} ({api_version}); known kinds: {}",
            known.join(", ")
        ),
    ))
}
