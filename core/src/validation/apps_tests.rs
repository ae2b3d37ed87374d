//! One case per apps/v1 validation rule, on defaulted workloads.

use crate::api::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use crate::intstr::IntOrString;
use crate::validation::ErrorType::{Forbidden, Invalid, NotSupported, Required};
use crate::validation::testing::{assert_errors, defaulted};

const TEMPLATE: &str = r"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: web
        image: nginx
";

fn deployment() -> Deployment {
    defaulted(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\nspec:\n  replicas: 3{TEMPLATE}"
    ))
}

fn replica_set() -> ReplicaSet {
    defaulted(&format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: web}}\nspec:{TEMPLATE}"
    ))
}

fn daemon_set() -> DaemonSet {
    defaulted(&format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: web}}\nspec:{TEMPLATE}"
    ))
}

fn stateful_set() -> StatefulSet {
    defaulted(&format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n  serviceName: db{TEMPLATE}  volumeClaimTemplates:\n  - metadata: {{name: data}}\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources: {{requests: {{storage: 1Gi}}}}\n"
    ))
}

#[test]
fn valid_workloads_pass() {
    assert_errors(&deployment(), &[]);
    assert_errors(&replica_set(), &[]);
    assert_errors(&daemon_set(), &[]);
    assert_errors(&stateful_set(), &[]);
}

#[test]
fn selector_must_match_template_labels() {
    let mut d = deployment();
    d.spec
        .selector
        .match_labels
        .insert("app".into(), "api".into());
    assert_errors(&d, &[("spec.template.metadata.labels", Invalid)]);
    let mut rs = replica_set();
    rs.spec.template.metadata.labels.clear();
    assert_errors(&rs, &[("spec.template.metadata.labels", Invalid)]);
}

#[test]
fn empty_or_invalid_selectors_are_rejected() {
    let mut d = deployment();
    d.spec.selector = crate::labels::LabelSelector::default();
    assert_errors(&d, &[("spec.selector", Invalid)]);
    let mut ss = stateful_set();
    ss.spec
        .selector
        .match_labels
        .insert("bad key!".into(), "web".into());
    ss.spec
        .template
        .metadata
        .labels
        .insert("bad key!".into(), "web".into());
    assert_errors(
        &ss,
        &[
            ("spec.selector.matchLabels", Invalid),
            ("spec.template.metadata.labels", Invalid),
        ],
    );
}

#[test]
fn replicas_and_counters_are_non_negative() {
    let mut d = deployment();
    d.spec.replicas = Some(-1);
    d.spec.revision_history_limit = Some(-1);
    assert_errors(
        &d,
        &[
            ("spec.replicas", Invalid),
            ("spec.revisionHistoryLimit", Invalid),
        ],
    );
    let mut rs = replica_set();
    rs.spec.min_ready_seconds = Some(-5);
    assert_errors(&rs, &[("spec.minReadySeconds", Invalid)]);
}

#[test]
fn templates_restart_always_without_deadlines() {
    let mut d = deployment();
    d.spec.template.spec.restart_policy = Some("Never".into());
    d.spec.template.spec.active_deadline_seconds = Some(30);
    assert_errors(
        &d,
        &[
            ("spec.template.spec.restartPolicy", NotSupported),
            ("spec.template.spec.activeDeadlineSeconds", Forbidden),
        ],
    );
    let mut ds = daemon_set();
    ds.spec.template.spec.containers[0].image = None;
    assert_errors(&ds, &[("spec.template.spec.containers[0].image", Required)]);
}

#[test]
fn deployment_strategies() {
    let mut d = deployment();
    let rolling = d
        .spec
        .strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    rolling.max_surge = Some(IntOrString::Int(0));
    rolling.max_unavailable = Some(IntOrString::from("0%"));
    assert_errors(
        &d,
        &[("spec.strategy.rollingUpdate.maxUnavailable", Invalid)],
    );

    let mut d = deployment();
    let rolling = d
        .spec
        .strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    rolling.max_unavailable = Some(IntOrString::from("150%"));
    rolling.max_surge = Some(IntOrString::from("200%"));
    assert_errors(
        &d,
        &[("spec.strategy.rollingUpdate.maxUnavailable", Invalid)],
    );

    let mut d = deployment();
    d.spec.strategy.as_mut().unwrap().type_ = Some("Recreate".into());
    assert_errors(&d, &[("spec.strategy.rollingUpdate", Forbidden)]);

    let mut d = deployment();
    d.spec.strategy.as_mut().unwrap().type_ = Some("BlueGreen".into());
    assert_errors(&d, &[("spec.strategy.type", NotSupported)]);
}

#[test]
fn progress_deadline_exceeds_min_ready() {
    let mut d = deployment();
    d.spec.min_ready_seconds = Some(600);
    assert_errors(&d, &[("spec.progressDeadlineSeconds", Invalid)]);
}

#[test]
fn daemon_set_rolling_updates_surge_or_unavailable() {
    let mut ds = daemon_set();
    let r = ds
        .spec
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    r.max_surge = Some(IntOrString::Int(1));
    assert_errors(
        &ds,
        &[("spec.updateStrategy.rollingUpdate.maxSurge", Invalid)],
    );
    let mut ds = daemon_set();
    let r = ds
        .spec
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    r.max_unavailable = Some(IntOrString::Int(0));
    assert_errors(
        &ds,
        &[("spec.updateStrategy.rollingUpdate.maxUnavailable", Required)],
    );
}

#[test]
fn stateful_set_policies_and_claims() {
    let mut ss = stateful_set();
    ss.spec.pod_management_policy = Some("Random".into());
    ss.spec.update_strategy.as_mut().unwrap().type_ = Some("OnDelete".into());
    assert_errors(
        &ss,
        &[
            ("spec.podManagementPolicy", Invalid),
            ("spec.updateStrategy.rollingUpdate", Invalid),
        ],
    );
    let mut ss = stateful_set();
    ss.spec
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap()
        .partition = Some(-1);
    ss.spec.volume_claim_templates[0].spec.access_modes.clear();
    assert_errors(
        &ss,
        &[
            ("spec.updateStrategy.rollingUpdate.partition", Invalid),
            ("spec.volumeClaimTemplates[0].spec.accessModes", Required),
        ],
    );
}
