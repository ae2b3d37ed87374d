//! Validation of core/v1 `Event` (Kubernetes' `legacyValidateEvent`, which is all the API
//! server checks for events written through core/v1: `type` and `involvedObject`'s
//! fields are free-form there).

use super::common::qualified_name;
use super::{FieldError, FieldPath};
use crate::api::Event;
use crate::names;

/// The longest `reportingInstance`, `action` and `reason` of a new-style event.
pub const FIELD_LENGTH_LIMIT: usize = 128;
/// The longest `message` of a new-style event.
pub const NOTE_LENGTH_LIMIT: usize = 1024;

/// Old-style events (no `eventTime`) must agree on the namespace with their object;
/// new-style events need the reporting fields, `action` and `reason`, within limits.
pub fn event(event: &Event) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let ns = event.metadata.namespace.as_deref().unwrap_or("");
    let object_ns = event.involved_object.namespace.as_deref().unwrap_or("");
    let ns_path = FieldPath::new("involvedObject").child("namespace");
    let mismatch =
        || FieldError::invalid(ns_path.clone(), object_ns, "does not match event.namespace");
    if event.event_time.is_none() {
        if object_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errors.push(mismatch());
            }
        } else if ns != object_ns {
            errors.push(mismatch());
        }
    } else {
        if object_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errors.push(mismatch());
        }
        let controller = event.reporting_component.as_deref().unwrap_or("");
        let cp = FieldPath::new("reportingComponent");
        if controller.is_empty() {
            errors.push(FieldError::required(cp.clone(), ""));
        }
        errors.extend(qualified_name(controller, &cp));
        let limited = [
            (
                "reportingInstance",
                event.reporting_instance.as_deref(),
                FIELD_LENGTH_LIMIT,
                true,
            ),
            ("action", event.action.as_deref(), FIELD_LENGTH_LIMIT, true),
            ("reason", event.reason.as_deref(), FIELD_LENGTH_LIMIT, true),
            (
                "message",
                event.message.as_deref(),
                NOTE_LENGTH_LIMIT,
                false,
            ),
        ];
        for (field, value, limit, required) in limited {
            let value = value.unwrap_or("");
            if required && value.is_empty() {
                errors.push(FieldError::required(FieldPath::new(field), ""));
            }
            if value.len() > limit {
                errors.push(FieldError::invalid(
                    FieldPath::new(field),
                    "",
                    format!("can have at most {limit} characters"),
                ));
            }
        }
    }
    for msg in names::is_dns1123_subdomain(ns) {
        errors.push(FieldError::invalid(FieldPath::new("namespace"), ns, msg));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ObjectReference;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    fn old_style(ns: &str, object_ns: &str) -> Event {
        Event {
            metadata: ObjectMeta::namespaced(ns, "web-0.1"),
            involved_object: ObjectReference {
                kind: Some("Pod".into()),
                name: Some("web-0".into()),
                namespace: Some(object_ns.into()).filter(|n: &String| !n.is_empty()),
                ..ObjectReference::default()
            },
            reason: Some("Pulled".into()),
            type_: Some("Normal".into()),
            ..Event::default()
        }
    }

    #[test]
    fn old_style_events_match_their_object_namespace() {
        assert_eq!(validate(&old_style("prod", "prod")), Ok(()));
        assert_eq!(validate(&old_style("default", "")), Ok(()));
        assert!(has(
            &event(&old_style("prod", "dev")),
            "involvedObject.namespace",
            ErrorType::Invalid
        ));
        assert!(has(
            &event(&old_style("prod", "")),
            "involvedObject.namespace",
            ErrorType::Invalid
        ));
    }

    #[test]
    fn new_style_events_need_reporting_fields() {
        let mut e = old_style("prod", "prod");
        e.event_time = Some("2024-01-01T00:00:00.000000Z".parse().unwrap());
        e.reason = None;
        e.message = Some("x".repeat(NOTE_LENGTH_LIMIT + 1));
        let errs = event(&e);
        assert!(has(&errs, "reportingComponent", ErrorType::Required));
        assert!(has(&errs, "reportingInstance", ErrorType::Required));
        assert!(has(&errs, "action", ErrorType::Required));
        assert!(has(&errs, "reason", ErrorType::Required));
        assert!(has(&errs, "message", ErrorType::Invalid));
        e.reason = Some("Pulled".into());
        e.message = None;
        e.action = Some("Pulling".into());
        e.reporting_component = Some("kubelet".into());
        e.reporting_instance = Some("node-1".into());
        assert!(event(&e).is_empty());
    }
}
