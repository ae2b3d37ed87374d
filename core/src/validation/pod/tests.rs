//! One case per pod validation rule, on defaulted pods.

use crate::Resource;
use crate::api::{Pod, Volume};
use crate::intstr::IntOrString;
use crate::validation::ErrorType::{Duplicate, Forbidden, Invalid, NotSupported, Required};
use crate::validation::testing::{assert_errors, defaulted};

const POD: &str = r"
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  volumes:
  - name: data
    emptyDir: {}
  containers:
  - name: app
    image: nginx:1.27
    ports: [{containerPort: 80, name: http}]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 500m, memory: 128Mi}
    volumeMounts: [{name: data, mountPath: /data}]
    readinessProbe:
      httpGet: {path: /, port: http}
";

fn pod() -> Pod {
    defaulted(POD)
}

fn with(f: impl FnOnce(&mut Pod)) -> Pod {
    let mut p = pod();
    f(&mut p);
    p
}

#[test]
fn a_valid_pod_passes() {
    assert_errors(&pod(), &[]);
}

#[test]
fn containers_are_required_and_named_uniquely() {
    assert_errors(
        &with(|p| p.spec.containers.clear()),
        &[("spec.containers", Required)],
    );
    let dup = with(|p| {
        let c = p.spec.containers[0].clone();
        p.spec.containers.push(c);
    });
    let errors = crate::validation::testing::summary(&dup.validate_fields());
    assert!(
        errors.contains(&("spec.containers[1].name".into(), Duplicate)),
        "{errors:?}"
    );
    // Names are unique across init containers and containers; the later one is named.
    let across = with(|p| {
        let mut init = p.spec.containers[0].clone();
        init.image = Some("busybox:1".into());
        init.readiness_probe = None;
        p.spec.init_containers.push(init.clone());
        init.name = "setup".into();
        p.spec.init_containers.push(init);
    });
    let errors = crate::validation::testing::summary(&across.validate_fields());
    assert_eq!(
        errors,
        [("spec.containers[0].name".to_owned(), Duplicate)],
        "{errors:?}"
    );
    assert_errors(
        &with(|p| p.spec.containers[0].name = "App_1".into()),
        &[("spec.containers[0].name", Invalid)],
    );
    assert_errors(
        &with(|p| p.spec.containers[0].image = None),
        &[("spec.containers[0].image", Required)],
    );
}

#[test]
fn ports_must_be_in_range() {
    assert_errors(
        &with(|p| p.spec.containers[0].ports[0].container_port = 70000),
        &[("spec.containers[0].ports[0].containerPort", Invalid)],
    );
    assert_errors(
        &with(|p| p.spec.containers[0].ports[0].protocol = Some("ICMP".into())),
        &[("spec.containers[0].ports[0].protocol", NotSupported)],
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let p = with(|p| {
        let r = p.spec.containers[0].resources.as_mut().unwrap();
        r.requests.insert("cpu".into(), "2".parse().unwrap());
    });
    assert_errors(
        &p,
        &[("spec.containers[0].resources.requests[cpu]", Invalid)],
    );
}

#[test]
fn mounts_name_existing_volumes() {
    assert_errors(
        &with(|p| p.spec.containers[0].volume_mounts[0].name = "missing".into()),
        &[("spec.containers[0].volumeMounts[0].name", Invalid)],
    );
    let p = with(|p| {
        let v: Volume =
            serde_json::from_str(r#"{"name":"data","hostPath":{"path":"/x"}}"#).unwrap();
        p.spec.volumes.push(v);
    });
    assert_errors(&p, &[("spec.volumes[1].name", Duplicate)]);
    let p = with(|p| p.spec.volumes[0] = serde_json::from_str(r#"{"name":"data"}"#).unwrap());
    assert_errors(&p, &[("spec.volumes[0]", Required)]);
}

#[test]
fn probes_need_one_handler() {
    let p = with(|p| {
        let probe = p.spec.containers[0].readiness_probe.as_mut().unwrap();
        probe.http_get = None;
    });
    assert_errors(&p, &[("spec.containers[0].readinessProbe", Required)]);
    let p = with(|p| {
        let probe = p.spec.containers[0].readiness_probe.as_mut().unwrap();
        probe.http_get.as_mut().unwrap().port = IntOrString::from("no-such_port!");
    });
    assert_errors(
        &p,
        &[("spec.containers[0].readinessProbe.httpGet.port", Invalid)],
    );
}

#[test]
fn restart_policy_and_grace_period() {
    assert_errors(
        &with(|p| p.spec.restart_policy = Some("Sometimes".into())),
        &[("spec.restartPolicy", NotSupported)],
    );
    assert_errors(
        &with(|p| p.spec.termination_grace_period_seconds = Some(-1)),
        &[("spec.terminationGracePeriodSeconds", Invalid)],
    );
    assert_errors(
        &with(|p| p.spec.active_deadline_seconds = Some(0)),
        &[("spec.activeDeadlineSeconds", Invalid)],
    );
}

#[test]
fn node_selector_and_scheduling_names() {
    assert_errors(
        &with(|p| {
            p.spec.node_selector.insert("bad key!".into(), "x".into());
        }),
        &[("spec.nodeSelector", Invalid)],
    );
    assert_errors(
        &with(|p| p.spec.scheduler_name = Some("My Scheduler".into())),
        &[("spec.schedulerName", Invalid)],
    );
}

#[test]
fn tolerations_and_affinity() {
    let p = with(|p| {
        p.spec.tolerations =
            serde_json::from_str(r#"[{"key":"k","operator":"Exists","value":"v"}]"#).unwrap();
    });
    assert_errors(&p, &[("spec.tolerations[0].operator", Invalid)]);
    let p = with(|p| {
        p.spec.affinity = Some(
            serde_json::from_str(
                r#"{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
                    {"matchExpressions":[{"key":"zone","operator":"In","values":[]}]}]}},
                    "podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[
                    {"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":""}]}}"#,
            )
            .unwrap(),
        );
    });
    assert_errors(
        &p,
        &[
            (
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
                Required,
            ),
            (
                "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
                Required,
            ),
        ],
    );
}

#[test]
fn topology_spread_constraints() {
    let p = with(|p| {
        p.spec.topology_spread_constraints = serde_json::from_str(
            r#"[{"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"Maybe"}]"#,
        )
        .unwrap();
    });
    assert_errors(
        &p,
        &[
            ("spec.topologySpreadConstraints[0].maxSkew", Invalid),
            (
                "spec.topologySpreadConstraints[0].whenUnsatisfiable",
                NotSupported,
            ),
        ],
    );
}

#[test]
fn sidecars_are_init_containers_that_restart_always() {
    let p = with(|p| {
        let mut sidecar = p.spec.containers[0].clone();
        sidecar.name = "proxy".into();
        sidecar.ports.clear();
        sidecar.restart_policy = Some("Always".into());
        p.spec.init_containers.push(sidecar);
        p.spec.containers[0].restart_policy = Some("Always".into());
    });
    assert_errors(&p, &[("spec.containers[0].restartPolicy", Forbidden)]);
}

#[test]
fn the_whole_object_is_named_in_the_error() {
    let mut p = with(|p| p.spec.containers.clear());
    p.metadata.name = Some("Bad_Name".into());
    let err = crate::validation::validate(&p).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("Pod default/Bad_Name:"), "{text}");
    assert!(text.contains("metadata.name"), "{text}");
    assert!(text.contains("spec.containers"), "{text}");
}
