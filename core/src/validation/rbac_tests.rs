//! Tests of RBAC validation.

use super::*;
use crate::Resource;
use crate::api::AggregationRule;
use crate::meta::ObjectMeta;
use crate::validation::{ErrorType, validate};

fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
    errs.iter()
        .any(|e| e.path.as_str() == path && e.kind == kind)
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], urls: &[&str]) -> PolicyRule {
    let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect();
    PolicyRule {
        verbs: v(verbs),
        api_groups: v(groups),
        resources: v(resources),
        non_resource_urls: v(urls),
        ..PolicyRule::default()
    }
}

fn subject(kind: &str, name: &str) -> Subject {
    Subject {
        kind: kind.into(),
        name: name.into(),
        ..Subject::default()
    }
}

#[test]
fn valid_objects_pass_and_names_are_path_segments() {
    let role = Role {
        metadata: ObjectMeta::namespaced("default", "system:pod-reader"),
        rules: vec![rule(&["get"], &[""], &["pods"], &[])],
    };
    assert_eq!(validate(&role), Ok(()));
    let cr = ClusterRole {
        metadata: ObjectMeta::named("health"),
        rules: vec![rule(&["get"], &[], &[], &["/healthz"])],
        aggregation_rule: None,
    };
    assert_eq!(validate(&cr), Ok(()));
    assert_eq!(Role::validate_name("a/b"), ["may not contain '/'"]);
    assert_eq!(ClusterRoleBinding::validate_name("."), ["may not be '.'"]);
}

#[test]
fn rule_rules() {
    let role = Role {
        rules: vec![
            rule(&[], &[], &[], &[]),
            rule(&["get"], &[], &[], &["/healthz"]),
            rule(&["get"], &[""], &["pods"], &["/x"]),
        ],
        ..Role::default()
    };
    let errs = super::role(&role);
    assert!(has(&errs, "rules[0].verbs", ErrorType::Required));
    assert!(has(&errs, "rules[0].apiGroups", ErrorType::Required));
    assert!(has(&errs, "rules[0].resources", ErrorType::Required));
    assert!(
        has(&errs, "rules[1].nonResourceURLs", ErrorType::Invalid),
        "namespaced"
    );
    assert_eq!(
        errs.iter()
            .filter(|e| e.path.as_str() == "rules[2].nonResourceURLs")
            .count(),
        2
    );
    let cr = ClusterRole {
        aggregation_rule: Some(AggregationRule::default()),
        ..ClusterRole::default()
    };
    assert!(has(
        &cluster_role(&cr),
        "aggregationRule.clusterRoleSelectors",
        ErrorType::Required
    ));
}

#[test]
fn binding_rules() {
    let mut rb = RoleBinding {
        metadata: ObjectMeta::namespaced("default", "b"),
        subjects: vec![
            subject("User", "jane"),
            subject("ServiceAccount", "bot"),
            subject("Robot", "r2"),
            subject("Group", ""),
        ],
        role_ref: RoleRef {
            api_group: String::new(),
            kind: "Role".into(),
            name: "reader".into(),
        },
    };
    rb.apply_defaults();
    rb.subjects[1].api_group = "v1".into();
    let errs = role_binding(&rb);
    assert!(has(&errs, "subjects[1].apiGroup", ErrorType::NotSupported));
    assert!(has(&errs, "subjects[2].kind", ErrorType::NotSupported));
    assert!(has(&errs, "subjects[3].name", ErrorType::Required));
    assert!(!has(&errs, "subjects[1].namespace", ErrorType::Required));
    rb.role_ref = RoleRef {
        api_group: "example.com".into(),
        kind: "Policy".into(),
        name: String::new(),
    };
    let errs = role_binding(&rb);
    assert!(has(&errs, "roleRef.apiGroup", ErrorType::NotSupported));
    assert!(has(&errs, "roleRef.kind", ErrorType::NotSupported));
    assert!(has(&errs, "roleRef.name", ErrorType::Required));
    let mut crb = ClusterRoleBinding {
        metadata: ObjectMeta::named("b"),
        subjects: vec![subject("ServiceAccount", "bot")],
        role_ref: RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: "Role".into(),
            name: "reader".into(),
        },
    };
    crb.apply_defaults();
    let errs = cluster_role_binding(&crb);
    assert!(has(&errs, "roleRef.kind", ErrorType::NotSupported));
    assert!(has(&errs, "subjects[0].namespace", ErrorType::Required));
}
