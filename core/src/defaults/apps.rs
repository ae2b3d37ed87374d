//! Defaults of the apps/v1 workloads (Kubernetes' `apps/v1` `SetDefaults_*`).

use super::pod::pod_spec;
use crate::api::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet,
    RollingUpdateDaemonSet, RollingUpdateDeployment, RollingUpdateStatefulSetStrategy, StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetUpdateStrategy,
};
use crate::intstr::IntOrString;

/// Old revisions kept when none is given.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

/// `ReplicaSet`: one replica; the template's pod spec defaults.
pub fn replica_set(rs: &mut ReplicaSet) {
    rs.spec.replicas.get_or_insert(1);
    pod_spec(&mut rs.spec.template.spec);
}

/// `Deployment`: one replica, `RollingUpdate` with 25% / 25%, 10 revisions, 600 s
/// progress deadline.
pub fn deployment(d: &mut Deployment) {
    let spec = &mut d.spec;
    spec.replicas.get_or_insert(1);
    let strategy = spec
        .strategy
        .get_or_insert_with(DeploymentStrategy::default);
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some("RollingUpdate".to_owned());
    }
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let rolling = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        rolling
            .max_unavailable
            .get_or_insert_with(|| IntOrString::from("25%"));
        rolling
            .max_surge
            .get_or_insert_with(|| IntOrString::from("25%"));
    }
    spec.revision_history_limit
        .get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    spec.progress_deadline_seconds.get_or_insert(600);
    pod_spec(&mut spec.template.spec);
}

/// `DaemonSet`: `RollingUpdate` with maxUnavailable 1 and maxSurge 0, 10 revisions.
pub fn daemon_set(ds: &mut DaemonSet) {
    let spec = &mut ds.spec;
    let strategy = spec
        .update_strategy
        .get_or_insert_with(DaemonSetUpdateStrategy::default);
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some("RollingUpdate".to_owned());
    }
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let rolling = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDaemonSet::default);
        rolling.max_unavailable.get_or_insert(IntOrString::Int(1));
        rolling.max_surge.get_or_insert(IntOrString::Int(0));
    }
    spec.revision_history_limit
        .get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    pod_spec(&mut spec.template.spec);
}

/// `StatefulSet`: one replica, `OrderedReady`, `RollingUpdate` with partition 0, claims
/// retained, 10 revisions; claim templates default like claims.
pub fn stateful_set(ss: &mut StatefulSet) {
    let spec = &mut ss.spec;
    spec.replicas.get_or_insert(1);
    if spec
        .pod_management_policy
        .as_deref()
        .is_none_or(str::is_empty)
    {
        spec.pod_management_policy = Some("OrderedReady".to_owned());
    }
    let strategy = spec
        .update_strategy
        .get_or_insert_with(StatefulSetUpdateStrategy::default);
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some("RollingUpdate".to_owned());
        strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateStatefulSetStrategy::default);
    }
    if strategy.type_.as_deref() == Some("RollingUpdate")
        && let Some(rolling) = strategy.rolling_update.as_mut()
    {
        rolling.partition.get_or_insert(0);
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    for field in [&mut retention.when_deleted, &mut retention.when_scaled] {
        if field.as_deref().is_none_or(str::is_empty) {
            *field = Some("Retain".to_owned());
        }
    }
    spec.revision_history_limit
        .get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    for claim in &mut spec.volume_claim_templates {
        crate::Resource::apply_defaults(claim);
    }
    pod_spec(&mut spec.template.spec);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults() {
        let mut d = Deployment::default();
        deployment(&mut d);
        assert_eq!(d.spec.replicas, Some(1));
        let s = d.spec.strategy.as_ref().unwrap();
        assert_eq!(s.type_.as_deref(), Some("RollingUpdate"));
        let r = s.rolling_update.as_ref().unwrap();
        assert_eq!(r.max_surge, Some(IntOrString::from("25%")));
        assert_eq!(r.max_unavailable, Some(IntOrString::from("25%")));
        assert_eq!(d.spec.revision_history_limit, Some(10));
        assert_eq!(d.spec.progress_deadline_seconds, Some(600));
        assert_eq!(
            d.spec.template.spec.restart_policy.as_deref(),
            Some("Always")
        );
        let once = d.clone();
        deployment(&mut d);
        assert_eq!(d, once);
    }

    #[test]
    fn recreate_deployments_get_no_rolling_parameters() {
        let mut d = Deployment::default();
        d.spec.strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
        deployment(&mut d);
        assert!(d.spec.strategy.unwrap().rolling_update.is_none());
    }

    #[test]
    fn daemon_set_and_replica_set_defaults() {
        let mut ds = DaemonSet::default();
        daemon_set(&mut ds);
        let r = ds.spec.update_strategy.unwrap().rolling_update.unwrap();
        assert_eq!(
            (r.max_unavailable, r.max_surge),
            (Some(IntOrString::Int(1)), Some(IntOrString::Int(0)))
        );
        assert_eq!(ds.spec.revision_history_limit, Some(10));
        let mut rs = ReplicaSet::default();
        replica_set(&mut rs);
        assert_eq!(rs.spec.replicas, Some(1));
        let mut rs = ReplicaSet::default();
        rs.spec.replicas = Some(0);
        replica_set(&mut rs);
        assert_eq!(rs.spec.replicas, Some(0), "zero is kept");
    }

    #[test]
    fn stateful_set_defaults() {
        let mut ss = StatefulSet::default();
        ss.spec
            .volume_claim_templates
            .push(crate::api::PersistentVolumeClaim::default());
        stateful_set(&mut ss);
        assert_eq!(ss.spec.replicas, Some(1));
        assert_eq!(
            ss.spec.pod_management_policy.as_deref(),
            Some("OrderedReady")
        );
        let u = ss.spec.update_strategy.as_ref().unwrap();
        assert_eq!(u.rolling_update.as_ref().unwrap().partition, Some(0));
        let p = ss
            .spec
            .persistent_volume_claim_retention_policy
            .as_ref()
            .unwrap();
        assert_eq!(
            (p.when_deleted.as_deref(), p.when_scaled.as_deref()),
            (Some("Retain"), Some("Retain"))
        );
        assert_eq!(
            ss.spec.volume_claim_templates[0]
                .spec
                .volume_mode
                .as_deref(),
            Some("Filesystem")
        );
    }
}
