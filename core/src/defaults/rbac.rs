//! Defaults of role bindings (`SetDefaults_RoleBinding`, `SetDefaults_ClusterRoleBinding`,
//! `SetDefaults_Subject`).

use crate::api::{ClusterRoleBinding, RBAC_GROUP, RoleBinding, RoleRef, Subject};

/// `roleRef.apiGroup` and user/group subjects' `apiGroup` default to
/// `rbac.authorization.k8s.io`.
pub fn role_binding(rb: &mut RoleBinding) {
    binding(&mut rb.role_ref, &mut rb.subjects);
}

/// As [`role_binding`].
pub fn cluster_role_binding(crb: &mut ClusterRoleBinding) {
    binding(&mut crb.role_ref, &mut crb.subjects);
}

fn binding(role_ref: &mut RoleRef, subjects: &mut [Subject]) {
    if role_ref.api_group.is_empty() {
        RBAC_GROUP.clone_into(&mut role_ref.api_group);
    }
    for subject in subjects {
        if subject.api_group.is_empty()
            && matches!(subject.kind.as_str(), Subject::USER | Subject::GROUP)
        {
            RBAC_GROUP.clone_into(&mut subject.api_group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    fn subject(kind: &str) -> Subject {
        Subject {
            kind: kind.into(),
            name: "x".into(),
            ..Subject::default()
        }
    }

    #[test]
    fn api_groups_are_filled_for_users_and_groups_only() {
        let mut rb = RoleBinding {
            subjects: vec![
                subject("User"),
                subject("Group"),
                subject("ServiceAccount"),
                subject("Robot"),
            ],
            ..RoleBinding::default()
        };
        rb.apply_defaults();
        let once = rb.clone();
        assert_eq!(rb.role_ref.api_group, RBAC_GROUP);
        let groups: Vec<&str> = rb.subjects.iter().map(|s| s.api_group.as_str()).collect();
        assert_eq!(groups, [RBAC_GROUP, RBAC_GROUP, "", ""]);
        rb.apply_defaults();
        assert_eq!(rb, once);
        let mut crb = ClusterRoleBinding {
            subjects: vec![subject("Group")],
            ..ClusterRoleBinding::default()
        };
        crb.apply_defaults();
        assert_eq!(crb.role_ref.api_group, RBAC_GROUP);
        assert_eq!(crb.subjects[0].api_group, RBAC_GROUP);
    }
}
