//! Defaults of `Namespace` (`SetDefaults_Namespace`, `SetDefaults_NamespaceStatus`, and the
//! namespace strategy's create-time finalizer).

use crate::api::{FINALIZER_KUBERNETES, LABEL_METADATA_NAME, Namespace, NamespaceStatus};

/// Sets the `kubernetes.io/metadata.name` label to the name, `status.phase` to `Active`,
/// and adds the `kubernetes` finalizer to `spec.finalizers`.
///
/// Kubernetes adds the finalizer on create only (the namespace controller removes it
/// while the namespace terminates); here it is added while the namespace is not being
/// deleted, so that defaulting a terminating namespace does not bring it back.
pub fn namespace(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.as_deref().filter(|n| !n.is_empty()) {
        ns.metadata
            .labels
            .insert(LABEL_METADATA_NAME.to_owned(), name.to_owned());
    }
    let status = ns.status.get_or_insert_with(NamespaceStatus::default);
    if status.phase.as_deref().is_none_or(str::is_empty) {
        status.phase = Some(NamespaceStatus::PHASE_ACTIVE.to_owned());
    }
    if ns.metadata.deletion_timestamp.is_none()
        && !ns.spec.finalizers.iter().any(|f| f == FINALIZER_KUBERNETES)
    {
        ns.spec.finalizers.push(FINALIZER_KUBERNETES.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::meta::ObjectMeta;

    #[test]
    fn defaults_label_phase_and_finalizer_idempotently() {
        let mut ns = Namespace {
            metadata: ObjectMeta::named("team-a"),
            ..Namespace::default()
        };
        ns.apply_defaults();
        assert_eq!(ns.metadata.labels[LABEL_METADATA_NAME], "team-a");
        assert_eq!(ns.status.as_ref().unwrap().phase.as_deref(), Some("Active"));
        assert_eq!(ns.spec.finalizers, ["kubernetes"]);
        let once = ns.clone();
        ns.apply_defaults();
        assert_eq!(ns, once);
    }

    #[test]
    fn keeps_other_finalizers_and_phase() {
        let mut ns = Namespace {
            metadata: ObjectMeta::named("x"),
            ..Namespace::default()
        };
        ns.spec.finalizers.push("example.com/cleanup".into());
        ns.status = Some(NamespaceStatus {
            phase: Some("Terminating".into()),
            ..NamespaceStatus::default()
        });
        ns.apply_defaults();
        assert_eq!(ns.spec.finalizers, ["example.com/cleanup", "kubernetes"]);
        assert!(ns.is_terminating());
    }

    #[test]
    fn a_terminating_namespace_does_not_regain_the_finalizer() {
        let mut ns = Namespace {
            metadata: ObjectMeta::named("x"),
            ..Namespace::default()
        };
        ns.metadata.deletion_timestamp = Some(crate::meta::Time::epoch());
        ns.apply_defaults();
        assert!(ns.spec.finalizers.is_empty());
    }

    #[test]
    fn generate_name_only_gets_no_label() {
        let mut ns = Namespace::default();
        ns.metadata.generate_name = Some("tmp-".into());
        ns.apply_defaults();
        assert!(ns.metadata.labels.is_empty());
    }
}
