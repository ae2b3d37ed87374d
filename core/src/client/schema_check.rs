//! A JSON Schema checker for dynamic kinds: the subset CRD structural schemas use
//! (`type`, `properties`, `required`, `additionalProperties`, `items`, `enum`,
//! `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`).

use serde_json::Value;

use super::kinds::schema_error;
use crate::validation::{FieldError, FieldPath};

/// Adds an error for every place `value` breaks `schema`.
pub(crate) fn check(schema: &Value, value: &Value, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        };
        if !ok {
            errors.push(schema_error(path, value, format!("must be of type {t}")));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        errors.push(schema_error(
            path,
            value,
            format!("supported values: {}", list.join(", ")),
        ));
    }
    bounds(schema, value, path, errors);
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = req.as_str()
                && !obj.contains_key(name)
            {
                errors.push(FieldError::required(path.child(name), ""));
            }
        }
        for (k, v) in obj {
            let child = path.child(k);
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, v, &child, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(FieldError::forbidden(child, "unknown field"));
                    }
                    Some(s @ Value::Object(_)) => check(s, v, &child, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, v, &path.index(i), errors);
        }
    }
}

fn bounds(
    schema: &serde_json::Map<String, Value>,
    value: &Value,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let len = |k: &str| schema.get(k).and_then(Value::as_u64);
    if let Some(v) = value.as_f64() {
        if let Some(min) = num("minimum").filter(|m| v < *m) {
            errors.push(schema_error(
                path,
                value,
                format!("should be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = num("maximum").filter(|m| v > *m) {
            errors.push(schema_error(
                path,
                value,
                format!("should be less than or equal to {max}"),
            ));
        }
    }
    let size = match value {
        Value::String(s) => Some((s.chars().count() as u64, "Length", "chars long")),
        Value::Array(a) => Some((a.len() as u64, "Items", "items")),
        _ => None,
    };
    if let Some((n, suffix, unit)) = size {
        if let Some(min) = len(&format!("min{suffix}")).filter(|m| n < *m) {
            errors.push(schema_error(
                path,
                value,
                format!("should be at least {min} {unit}"),
            ));
        }
        if let Some(max) = len(&format!("max{suffix}")).filter(|m| n > *m) {
            errors.push(schema_error(
                path,
                value,
                format!("may not be more than {max} {unit}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: &Value, value: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        check(schema, value, &FieldPath::root(), &mut errs);
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn checks_the_structural_subset() {
        let schema = json!({"type": "object", "required": ["spec"], "properties": {"spec": {
            "type": "object", "additionalProperties": false, "required": ["size"],
            "properties": {"size": {"type": "integer", "minimum": 1, "maximum": 10},
                           "mode": {"type": "string", "enum": ["fast", "safe"]},
                           "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 1}}}}}});
        assert!(
            errors(
                &schema,
                &json!({"spec": {"size": 3, "mode": "fast", "tags": ["a"]}})
            )
            .is_empty()
        );
        let errs = errors(
            &schema,
            &json!({"spec": {"size": 0, "mode": "slow", "tags": ["", "b", "c"], "x": 1}}),
        );
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.starts_with("spec.size: Invalid value")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.starts_with("spec.x: Forbidden")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.starts_with("spec.tags[0]")),
            "{errs:?}"
        );
        assert_eq!(errors(&schema, &json!({})), ["spec: Required value"]);
        assert_eq!(errors(&schema, &json!({"spec": {"size": "3"}})).len(), 1);
    }
}
