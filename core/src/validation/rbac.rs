//! Validation of RBAC objects (rbac `ValidateRole`, `ValidateClusterRole`,
//! `ValidateRoleBinding`, `ValidateClusterRoleBinding`).

pub use super::common::is_valid_path_segment_name;
use super::common::{dns1123_subdomain, validate_label_selector};
use super::{FieldError, FieldPath};
use crate::api::{
    ClusterRole, ClusterRoleBinding, PolicyRule, RBAC_GROUP, Role, RoleBinding, RoleRef, Subject,
};

/// Each rule has verbs, and either resources with API groups, or (cluster roles only)
/// non-resource URLs.
pub fn role(role: &Role) -> Vec<FieldError> {
    rules(&role.rules, true)
}

/// As [`role`], plus the aggregation rule's selectors.
pub fn cluster_role(role: &ClusterRole) -> Vec<FieldError> {
    let mut errors = rules(&role.rules, false);
    if let Some(aggregation) = &role.aggregation_rule {
        let p = FieldPath::new("aggregationRule").child("clusterRoleSelectors");
        if aggregation.cluster_role_selectors.is_empty() {
            errors.push(FieldError::required(
                p.clone(),
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, selector) in aggregation.cluster_role_selectors.iter().enumerate() {
            errors.extend(validate_label_selector(selector, &p.index(i)));
        }
    }
    errors
}

fn rules(rules: &[PolicyRule], namespaced: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        errors.extend(policy_rule(
            rule,
            namespaced,
            &FieldPath::new("rules").index(i),
        ));
    }
    errors
}

/// `ValidatePolicyRule`.
pub fn policy_rule(rule: &PolicyRule, namespaced: bool, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if rule.verbs.is_empty() {
        errors.push(FieldError::required(
            p.child("verbs"),
            "verbs must contain at least one value",
        ));
    }
    if !rule.non_resource_urls.is_empty() {
        let urls = format!("[{}]", rule.non_resource_urls.join(" "));
        if namespaced {
            errors.push(FieldError::invalid(
                p.child("nonResourceURLs"),
                &urls,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !rule.api_groups.is_empty()
            || !rule.resources.is_empty()
            || !rule.resource_names.is_empty()
        {
            errors.push(FieldError::invalid(
                p.child("nonResourceURLs"),
                &urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errors;
    }
    if rule.api_groups.is_empty() {
        errors.push(FieldError::required(
            p.child("apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if rule.resources.is_empty() {
        errors.push(FieldError::required(
            p.child("resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errors
}

/// `roleRef` to a `Role` or `ClusterRole` of the RBAC group; valid subjects.
pub fn role_binding(rb: &RoleBinding) -> Vec<FieldError> {
    binding(&rb.role_ref, &rb.subjects, true)
}

/// `roleRef` to a `ClusterRole`; service account subjects need a namespace.
pub fn cluster_role_binding(crb: &ClusterRoleBinding) -> Vec<FieldError> {
    binding(&crb.role_ref, &crb.subjects, false)
}

fn binding(role_ref: &RoleRef, subjects: &[Subject], namespaced: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let rp = FieldPath::new("roleRef");
    if role_ref.api_group != RBAC_GROUP {
        errors.push(FieldError::not_supported(
            rp.child("apiGroup"),
            &role_ref.api_group,
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errors.push(FieldError::not_supported(
            rp.child("kind"),
            &role_ref.kind,
            kinds,
        ));
    }
    if role_ref.name.is_empty() {
        errors.push(FieldError::required(rp.child("name"), ""));
    } else {
        for msg in is_valid_path_segment_name(&role_ref.name) {
            errors.push(FieldError::invalid(rp.child("name"), &role_ref.name, msg));
        }
    }
    for (i, subject) in subjects.iter().enumerate() {
        errors.extend(subject_errors(
            subject,
            namespaced,
            &FieldPath::new("subjects").index(i),
        ));
    }
    errors
}

/// `ValidateRoleBindingSubject`.
fn subject_errors(subject: &Subject, namespaced: bool, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if subject.name.is_empty() {
        errors.push(FieldError::required(p.child("name"), ""));
    }
    match subject.kind.as_str() {
        Subject::SERVICE_ACCOUNT => {
            if !subject.name.is_empty() {
                errors.extend(dns1123_subdomain(&subject.name, &p.child("name")));
            }
            if !subject.api_group.is_empty() {
                errors.push(FieldError::not_supported(
                    p.child("apiGroup"),
                    &subject.api_group,
                    &[""],
                ));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or("").is_empty() {
                errors.push(FieldError::required(p.child("namespace"), ""));
            }
        }
        Subject::USER | Subject::GROUP => {
            if subject.api_group != RBAC_GROUP {
                errors.push(FieldError::not_supported(
                    p.child("apiGroup"),
                    &subject.api_group,
                    &[RBAC_GROUP],
                ));
            }
        }
        other => errors.push(FieldError::not_supported(
            p.child("kind"),
            other,
            &[Subject::SERVICE_ACCOUNT, Subject::USER, Subject::GROUP],
        )),
    }
    errors
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
