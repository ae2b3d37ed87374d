//! Applying [`Patch`]es to an object's JSON.

use serde_json::{Map, Value};

use super::Patch;
use crate::error::Error;

/// Applies `patch` to `target`.
///
/// # Errors
/// [`Error::BadRequest`] when the patch is malformed or a JSON-patch operation fails.
pub fn apply(target: &mut Value, patch: &Patch) -> Result<(), Error> {
    match patch {
        Patch::Merge(p) => {
            ensure_object(p)?;
            merge(target, p, false);
            Ok(())
        }
        Patch::Strategic(p) => {
            ensure_object(p)?;
            merge(target, p, true);
            Ok(())
        }
        Patch::Json(ops) => json_patch(target, ops),
    }
}

fn ensure_object(p: &Value) -> Result<(), Error> {
    if p.is_object() {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "a merge patch must be a JSON object, got {p}"
        )))
    }
}

/// RFC 7386, plus (when `strategic`) lists of objects keyed by `name` merged by key.
fn merge(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v) {
            (Some(Value::Array(current)), Value::Array(items))
                if strategic && keyed_by_name(current, items) =>
            {
                merge_named_list(current, items);
            }
            (Some(existing), _) if v.is_object() => merge(existing, v, strategic),
            _ => {
                let mut fresh = Value::Null;
                merge(&mut fresh, v, strategic);
                if !v.is_object() {
                    fresh = strip_directives(v.clone());
                }
                t.insert(k.clone(), fresh);
            }
        }
    }
}

fn keyed_by_name(current: &[Value], items: &[Value]) -> bool {
    let named = |v: &Value| v.get("name").is_some_and(Value::is_string);
    !items.is_empty() && items.iter().all(named) && current.iter().all(named)
}

fn strip_directives(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                .map(strip_directives)
                .collect(),
        ),
        other => other,
    }
}

fn merge_named_list(current: &mut Vec<Value>, items: &[Value]) {
    for item in items {
        let name = item.get("name").cloned();
        let pos = current.iter().position(|c| c.get("name") == name.as_ref());
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                current.remove(i);
            }
            (Some(i), false) => merge(&mut current[i], item, true),
            (None, false) => current.push(item.clone()),
            (None, true) => {}
        }
    }
}

fn pointer_parts(path: &str) -> Result<Vec<String>, Error> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Error::BadRequest(format!(
            "json patch: path {path:?} must start with '/'"
        )));
    };
    Ok(rest
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent_and_key<'a>(target: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), Error> {
    let mut parts = pointer_parts(path)?;
    let last = parts
        .pop()
        .ok_or_else(|| Error::BadRequest("json patch: cannot target the whole object".into()))?;
    let mut cur = target;
    for p in &parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| Error::BadRequest(format!("json patch: path {path:?} does not exist")))?;
    }
    Ok((cur, last))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), Error> {
    let (parent, key) = parent_and_key(target, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(key, value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if key == "-" {
                a.len()
            } else {
                key.parse().map_err(|_| bad_index(path))?
            };
            if i > a.len() {
                return Err(bad_index(path));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(Error::BadRequest(format!(
            "json patch: cannot add at {path:?}"
        ))),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, Error> {
    let (parent, key) = parent_and_key(target, path)?;
    let removed = match parent {
        Value::Object(m) => m.remove(&key),
        Value::Array(a) => key
            .parse::<usize>()
            .ok()
            .filter(|i| *i < a.len())
            .map(|i| a.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| Error::BadRequest(format!("json patch: path {path:?} does not exist")))
}

fn bad_index(path: &str) -> Error {
    Error::BadRequest(format!("json patch: bad array index in {path:?}"))
}

fn json_patch(target: &mut Value, ops: &Value) -> Result<(), Error> {
    let ops = ops
        .as_array()
        .ok_or_else(|| Error::BadRequest("a JSON patch must be a list of operations".into()))?;
    for (i, op) in ops.iter().enumerate() {
        let field = |name: &str| {
            op.get(name).and_then(Value::as_str).ok_or_else(|| {
                Error::BadRequest(format!("json patch: operation {i} has no {name:?}"))
            })
        };
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                Error::BadRequest(format!("json patch: operation {i} has no \"value\""))
            })
        };
        let path = field("path")?;
        match field("op")? {
            "add" => add(target, path, value()?)?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                remove(target, path)?;
                add(target, path, value()?)?;
            }
            "test" => {
                if target.pointer(path) != Some(&value()?) {
                    return Err(Error::BadRequest(format!(
                        "json patch: test of {path:?} failed"
                    )));
                }
            }
            "move" => {
                let v = remove(target, field("from")?)?;
                add(target, path, v)?;
            }
            "copy" => {
                let from = field("from")?;
                let v = target.pointer(from).cloned().ok_or_else(|| {
                    Error::BadRequest(format!("json patch: path {from:?} does not exist"))
                })?;
                add(target, path, v)?;
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "json patch: unknown operation {other:?}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patches_follow_rfc_7386() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "k": "x"});
        apply(
            &mut v,
            &Patch::Merge(json!({"a": {"b": null, "d": 3}, "l": [3], "k": null})),
        )
        .unwrap();
        assert_eq!(v, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
        assert!(apply(&mut v, &Patch::Merge(json!([1]))).is_err());
    }

    #[test]
    fn strategic_patches_merge_named_lists() {
        let mut v =
            json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]});
        let p = json!({"containers": [{"name": "a", "image": "z"}, {"name": "c", "image": "w"}, {"name": "b", "$patch": "delete"}]});
        apply(&mut v, &Patch::Strategic(p)).unwrap();
        assert_eq!(
            v,
            json!({"containers": [{"name": "a", "image": "z"}, {"name": "c", "image": "w"}]})
        );
    }

    #[test]
    fn json_patches_follow_rfc_6902() {
        let mut v = json!({"a": [1, 2], "b": {"c": 1}});
        let ops = json!([
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "test", "path": "/b/c", "value": 2},
            {"op": "copy", "from": "/b", "path": "/d"},
            {"op": "move", "from": "/d/c", "path": "/e"},
            {"op": "remove", "path": "/a/0"}
        ]);
        apply(&mut v, &Patch::Json(ops)).unwrap();
        assert_eq!(v, json!({"a": [2, 3], "b": {"c": 2}, "d": {}, "e": 2}));
        for bad in [
            json!({}),
            json!([{"op": "remove", "path": "/zz"}]),
            json!([{"op": "nope", "path": "/a"}]),
            json!([{"op": "test", "path": "/a", "value": 0}]),
        ] {
            assert!(apply(&mut v, &Patch::Json(bad.clone())).is_err(), "{bad}");
        }
    }
}
