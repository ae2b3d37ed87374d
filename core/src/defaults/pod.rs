//! Defaults of `Pod` and of every pod template (Kubernetes' `SetDefaults_Pod`,
//! `SetDefaults_PodSpec`, `SetDefaults_Container`, probes, ports and volumes).

use crate::api::{
    Container, HttpGetAction, Pod, PodSpec, Probe, ResourceRequirements, Volume, VolumeProjection,
};

/// The grace period between SIGTERM and SIGKILL when none is given.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// The scheduler a pod goes to when it names none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// File mode of projected keys when none is given (0644).
pub const DEFAULT_MODE: i32 = 0o644;

/// Defaults a pod: its spec as any pod template, plus what only a `Pod` gets
/// (requests from limits, `enableServiceLinks`, host-network ports).
pub fn pod(pod: &mut Pod) {
    let spec = &mut pod.spec;
    pod_spec(spec);
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut())
    {
        if let Some(resources) = c.resources.as_mut() {
            requests_from_limits(resources);
        }
    }
    if let Some(resources) = spec.resources.as_mut() {
        requests_from_limits(resources);
    }
    spec.enable_service_links.get_or_insert(true);
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut())
        {
            for port in &mut c.ports {
                if port.host_port.unwrap_or(0) == 0 {
                    port.host_port = Some(port.container_port);
                }
            }
        }
    }
}

fn requests_from_limits(resources: &mut ResourceRequirements) {
    for (name, limit) in &resources.limits {
        resources
            .requests
            .entry(name.clone())
            .or_insert_with(|| limit.clone());
    }
}

/// Defaults a pod spec, wherever it appears (a `Pod` or a workload's template).
pub fn pod_spec(spec: &mut PodSpec) {
    set_if_empty(&mut spec.dns_policy, "ClusterFirst");
    set_if_empty(&mut spec.restart_policy, "Always");
    spec.security_context.get_or_insert_with(Box::default);
    spec.termination_grace_period_seconds
        .get_or_insert(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    set_if_empty(&mut spec.scheduler_name, DEFAULT_SCHEDULER_NAME);
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut())
    {
        container(c);
    }
    for v in &mut spec.volumes {
        volume(v);
    }
}

fn set_if_empty(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_owned());
    }
}

/// The tag of an image reference: `latest` when it has neither tag nor digest
/// (Kubernetes' `parsers.ParseImageName`), `""` when it has only a digest.
pub fn image_tag(image: &str) -> &str {
    let (name, has_digest) = match image.split_once('@') {
        Some((name, _)) => (name, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag,
        None if has_digest => "",
        None => "latest",
    }
}

fn container(c: &mut Container) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        let tag = image_tag(c.image.as_deref().unwrap_or(""));
        let policy = if tag == "latest" {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.image_pull_policy = Some(policy.to_owned());
    }
    set_if_empty(&mut c.termination_message_path, "/dev/termination-log");
    set_if_empty(&mut c.termination_message_policy, "File");
    for port in &mut c.ports {
        set_if_empty(&mut port.protocol, "TCP");
    }
    for env in &mut c.env {
        if let Some(field) = env.value_from.as_mut().and_then(|f| f.field_ref.as_mut()) {
            set_if_empty(&mut field.api_version, "v1");
        }
    }
    for probe in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        self::probe(probe);
    }
    if let Some(lifecycle) = c.lifecycle.as_mut() {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop]
            .into_iter()
            .flatten()
        {
            if let Some(get) = handler.http_get.as_mut() {
                http_get(get);
            }
        }
    }
}

fn probe(p: &mut Probe) {
    for (field, default) in [
        (&mut p.timeout_seconds, 1),
        (&mut p.period_seconds, 10),
        (&mut p.success_threshold, 1),
        (&mut p.failure_threshold, 3),
    ] {
        if field.unwrap_or(0) == 0 {
            *field = Some(default);
        }
    }
    if let Some(get) = p.http_get.as_mut() {
        http_get(get);
    }
}

fn http_get(get: &mut HttpGetAction) {
    set_if_empty(&mut get.path, "/");
    set_if_empty(&mut get.scheme, "HTTP");
}

fn volume(v: &mut Volume) {
    let no_source = v.empty_dir.is_none()
        && v.host_path.is_none()
        && v.persistent_volume_claim.is_none()
        && v.config_map.is_none()
        && v.secret.is_none()
        && v.projected.is_none()
        && v.downward_api.is_none()
        && v.nfs.is_none()
        && v.csi.is_none()
        && v.ephemeral.is_none()
        && v.image.is_none()
        && !has_legacy_source(v);
    if no_source {
        v.empty_dir = Some(crate::api::EmptyDirVolumeSource::default());
    }
    if let Some(cm) = v.config_map.as_mut() {
        cm.default_mode.get_or_insert(DEFAULT_MODE);
    }
    if let Some(secret) = v.secret.as_mut() {
        secret.default_mode.get_or_insert(DEFAULT_MODE);
    }
    if let Some(d) = v.downward_api.as_mut() {
        d.default_mode.get_or_insert(DEFAULT_MODE);
        for item in &mut d.items {
            if let Some(f) = item.field_ref.as_mut() {
                set_if_empty(&mut f.api_version, "v1");
            }
        }
    }
    if let Some(p) = v.projected.as_mut() {
        p.default_mode.get_or_insert(DEFAULT_MODE);
        for source in &mut p.sources {
            projection(source);
        }
    }
    if let Some(h) = v.host_path.as_mut() {
        h.type_.get_or_insert_with(String::new);
    }
    if let Some(e) = v
        .ephemeral
        .as_mut()
        .and_then(|e| e.volume_claim_template.as_mut())
    {
        e.spec
            .volume_mode
            .get_or_insert_with(|| "Filesystem".to_owned());
    }
}

fn projection(source: &mut VolumeProjection) {
    if let Some(token) = source.service_account_token.as_mut() {
        token.expiration_seconds.get_or_insert(3600);
    }
    if let Some(d) = source.downward_api.as_mut() {
        for item in &mut d.items {
            if let Some(f) = item.field_ref.as_mut() {
                set_if_empty(&mut f.api_version, "v1");
            }
        }
    }
}

/// Whether a volume uses one of the sources Keel keeps as written.
pub(crate) fn has_legacy_source(v: &Volume) -> bool {
    [
        &v.iscsi,
        &v.fc,
        &v.aws_elastic_block_store,
        &v.gce_persistent_disk,
        &v.azure_disk,
        &v.azure_file,
        &v.cephfs,
        &v.rbd,
        &v.git_repo,
        &v.glusterfs,
        &v.flex_volume,
        &v.cinder,
        &v.flocker,
        &v.vsphere_volume,
        &v.quobyte,
        &v.photon_persistent_disk,
        &v.portworx_volume,
        &v.scale_io,
        &v.storageos,
    ]
    .iter()
    .any(|s| s.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector, SecretVolumeSource,
    };

    fn web_pod() -> Pod {
        let mut pod = Pod::default();
        pod.spec.containers.push(Container {
            name: "web".into(),
            image: Some("nginx".into()),
            ports: vec![ContainerPort {
                container_port: 80,
                ..ContainerPort::default()
            }],
            resources: Some(ResourceRequirements {
                limits: [("cpu".to_owned(), "1".parse().unwrap())].into(),
                ..ResourceRequirements::default()
            }),
            readiness_probe: Some(Box::new(Probe {
                http_get: Some(HttpGetAction {
                    port: 80.into(),
                    ..HttpGetAction::default()
                }),
                ..Probe::default()
            })),
            env: vec![EnvVar {
                name: "POD".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.name".into(),
                        ..ObjectFieldSelector::default()
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            }],
            ..Container::default()
        });
        pod.spec.volumes.push(Volume {
            name: "scratch".into(),
            ..Volume::default()
        });
        pod.spec.volumes.push(Volume {
            name: "creds".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some("s".into()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        pod
    }

    #[test]
    fn pod_defaults_match_kubernetes() {
        let mut p = web_pod();
        pod(&mut p);
        let s = &p.spec;
        assert_eq!(s.restart_policy.as_deref(), Some("Always"));
        assert_eq!(s.dns_policy.as_deref(), Some("ClusterFirst"));
        assert_eq!(s.termination_grace_period_seconds, Some(30));
        assert_eq!(s.scheduler_name.as_deref(), Some("default-scheduler"));
        assert_eq!(s.enable_service_links, Some(true));
        assert_eq!(
            s.security_context.as_deref(),
            Some(&crate::api::PodSecurityContext::default())
        );
        let c = &s.containers[0];
        assert_eq!(
            c.image_pull_policy.as_deref(),
            Some("Always"),
            "no tag means latest"
        );
        assert_eq!(
            c.termination_message_path.as_deref(),
            Some("/dev/termination-log")
        );
        assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
        assert_eq!(c.ports[0].protocol.as_deref(), Some("TCP"));
        assert_eq!(c.ports[0].host_port, None);
        let r = c.resources.as_ref().unwrap();
        assert_eq!(
            r.requests["cpu"].to_string(),
            "1",
            "requests default to limits"
        );
        let probe = c.readiness_probe.as_ref().unwrap();
        assert_eq!(
            (
                probe.timeout_seconds,
                probe.period_seconds,
                probe.success_threshold,
                probe.failure_threshold
            ),
            (Some(1), Some(10), Some(1), Some(3))
        );
        let get = probe.http_get.as_ref().unwrap();
        assert_eq!(
            (get.path.as_deref(), get.scheme.as_deref()),
            (Some("/"), Some("HTTP"))
        );
        let field = c.env[0]
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap();
        assert_eq!(field.api_version.as_deref(), Some("v1"));
        assert!(
            s.volumes[0].empty_dir.is_some(),
            "a volume without a source is an emptyDir"
        );
        assert_eq!(
            s.volumes[1].secret.as_ref().unwrap().default_mode,
            Some(420)
        );
    }

    #[test]
    fn defaulting_is_idempotent_and_keeps_given_values() {
        let mut p = web_pod();
        p.spec.restart_policy = Some("Never".into());
        p.spec.containers[0].image = Some("nginx:1.27".into());
        pod(&mut p);
        let once = p.clone();
        pod(&mut p);
        assert_eq!(p, once);
        assert_eq!(p.spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(
            p.spec.containers[0].image_pull_policy.as_deref(),
            Some("IfNotPresent")
        );
    }

    #[test]
    fn templates_do_not_get_pod_only_defaults() {
        let mut spec = web_pod().spec;
        pod_spec(&mut spec);
        assert_eq!(spec.enable_service_links, None);
        assert!(
            spec.containers[0]
                .resources
                .as_ref()
                .unwrap()
                .requests
                .is_empty()
        );
    }

    #[test]
    fn host_network_pods_get_host_ports() {
        let mut p = web_pod();
        p.spec.host_network = Some(true);
        pod(&mut p);
        assert_eq!(p.spec.containers[0].ports[0].host_port, Some(80));
    }

    #[test]
    fn image_tags_parse_like_kubernetes() {
        for (image, tag) in [
            ("nginx", "latest"),
            ("nginx:1.27", "1.27"),
            ("nginx:latest", "latest"),
            ("registry:5000/team/app", "latest"),
            ("registry:5000/team/app:v2", "v2"),
            ("app@sha256:abc", ""),
            ("app:v1@sha256:abc", "v1"),
            ("", "latest"),
        ] {
            assert_eq!(image_tag(image), tag, "{image}");
        }
    }
}
