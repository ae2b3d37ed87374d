//! Containers: names, images, ports, environment, resources, mounts, probes.

use std::collections::BTreeSet;

use super::super::common::{non_negative_quantity_at, qualified_name_at};
use super::super::{FieldError, FieldPath};
use crate::api::{Container, EnvVar, PodSpec, Probe, ResourceRequirements};
use crate::intstr::IntOrString;
use crate::names;

/// Checks the init containers and containers of `spec` (under `path`).
pub(super) fn containers(
    spec: &PodSpec,
    volumes: &BTreeSet<&str>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if spec.containers.is_empty() {
        errors.push(FieldError::required(path.child("containers"), ""));
    }
    let host_network = spec.host_network == Some(true);
    // Pods have a handful of containers: scanning the ones before for a duplicate name
    // beats building a set.
    let mut seen = 0;
    for (field, list, init) in [
        ("initContainers", &spec.init_containers, true),
        ("containers", &spec.containers, false),
    ] {
        for (i, c) in list.iter().enumerate() {
            let p = path.child(field).index(i);
            if c.name.is_empty() {
                errors.push(FieldError::required(p.child("name"), ""));
            } else {
                for msg in names::is_dns1123_label(&c.name) {
                    errors.push(FieldError::invalid(p.child("name"), &c.name, msg));
                }
                let mut before = spec.init_containers.iter().chain(&spec.containers);
                if before.by_ref().take(seen).any(|o| o.name == c.name) {
                    errors.push(FieldError::duplicate(p.child("name"), &c.name));
                }
            }
            container(c, volumes, host_network, init, &p, errors);
            seen += 1;
        }
    }
}

fn container(
    c: &Container,
    volumes: &BTreeSet<&str>,
    host_network: bool,
    init: bool,
    p: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
        errors.push(FieldError::required(p.child("image"), ""));
    }
    one_of(
        errors,
        p,
        "imagePullPolicy",
        c.image_pull_policy.as_deref(),
        &["Always", "IfNotPresent", "Never"],
    );
    one_of(
        errors,
        p,
        "terminationMessagePolicy",
        c.termination_message_policy.as_deref(),
        &["File", "FallbackToLogsOnError"],
    );
    if let Some(policy) = c.restart_policy.as_deref() {
        if !init {
            errors.push(FieldError::forbidden(
                p.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        } else if policy != "Always" {
            errors.push(FieldError::not_supported(
                p.child("restartPolicy"),
                policy,
                &["Always"],
            ));
        }
    }
    ports(c, host_network, p, errors);
    for (i, env) in c.env.iter().enumerate() {
        env_var(env, &p.child("env").index(i), errors);
    }
    for (i, from) in c.env_from.iter().enumerate() {
        let fp = p.child("envFrom").index(i);
        if let Some(prefix) = from.prefix.as_deref().filter(|s| !s.is_empty()) {
            for msg in names::is_env_var_name(prefix) {
                errors.push(FieldError::invalid(fp.child("prefix"), prefix, msg));
            }
        }
        match (from.config_map_ref.is_some(), from.secret_ref.is_some()) {
            (false, false) => errors.push(FieldError::invalid(
                fp,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            )),
            (true, true) => errors.push(FieldError::invalid(
                fp,
                "",
                "may not have more than one field specified at a time",
            )),
            _ => {}
        }
    }
    if let Some(r) = &c.resources {
        resources(r, &p.child("resources"), errors);
    }
    mounts(c, volumes, p, errors);
    let probes = [
        ("livenessProbe", &c.liveness_probe, true),
        ("readinessProbe", &c.readiness_probe, false),
        ("startupProbe", &c.startup_probe, true),
    ];
    for (field, probe_opt, single_success) in probes {
        if let Some(pr) = probe_opt {
            if init && c.restart_policy.as_deref() != Some("Always") {
                errors.push(FieldError::forbidden(
                    p.child(field),
                    "may not be set for init containers without restartPolicy=Always",
                ));
            } else {
                probe(pr, single_success, &p.child(field), errors);
            }
        }
    }
}

/// The field `field` of `parent` is one of `allowed` (its path is built only for an error).
fn one_of(
    errors: &mut Vec<FieldError>,
    parent: &FieldPath,
    field: &str,
    value: Option<&str>,
    allowed: &[&str],
) {
    match value {
        None | Some("") => errors.push(FieldError::required(parent.child(field), "")),
        Some(v) if !allowed.contains(&v) => {
            errors.push(FieldError::not_supported(parent.child(field), v, allowed));
        }
        Some(_) => {}
    }
}

fn port_range(value: i64, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for msg in names::is_valid_port_num(value) {
        errors.push(FieldError::invalid(path.clone(), value, msg));
    }
}

fn ports(c: &Container, host_network: bool, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut port_names = BTreeSet::new();
    for (i, port) in c.ports.iter().enumerate() {
        let pp = p.child("ports").index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            for msg in names::is_valid_port_name(name) {
                errors.push(FieldError::invalid(pp.child("name"), name, msg));
            }
            if !port_names.insert(name) {
                errors.push(FieldError::duplicate(pp.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errors.push(FieldError::required(pp.child("containerPort"), ""));
        } else {
            port_range(
                i64::from(port.container_port),
                &pp.child("containerPort"),
                errors,
            );
        }
        if let Some(host) = port.host_port.filter(|h| *h != 0) {
            port_range(i64::from(host), &pp.child("hostPort"), errors);
        }
        if host_network && port.host_port.is_some_and(|h| h != port.container_port) {
            errors.push(FieldError::invalid(
                pp.child("hostPort"),
                port.host_port.unwrap_or(0),
                "must match `containerPort` when `hostNetwork` is true",
            ));
        }
        one_of(
            errors,
            &pp,
            "protocol",
            port.protocol.as_deref(),
            &["SCTP", "TCP", "UDP"],
        );
        if let Some(ip) = port.host_ip.as_deref().filter(|s| !s.is_empty()) {
            for msg in names::is_valid_ip(ip) {
                errors.push(FieldError::invalid(pp.child("hostIP"), ip, msg));
            }
        }
    }
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

fn env_var(env: &EnvVar, p: &FieldPath, errors: &mut Vec<FieldError>) {
    if env.name.is_empty() {
        errors.push(FieldError::required(p.child("name"), ""));
    } else {
        for msg in names::is_env_var_name(&env.name) {
            errors.push(FieldError::invalid(p.child("name"), &env.name, msg));
        }
    }
    let Some(from) = &env.value_from else {
        return;
    };
    let vp = p.child("valueFrom");
    let sources = [
        from.field_ref.is_some(),
        from.resource_field_ref.is_some(),
        from.config_map_key_ref.is_some(),
        from.secret_key_ref.is_some(),
        from.file_key_ref.is_some(),
    ];
    match sources.iter().filter(|s| **s).count() {
        0 => errors.push(FieldError::invalid(vp.clone(), "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")),
        1 => {}
        _ => errors.push(FieldError::invalid(vp.clone(), "", "may not have more than one field specified at a time")),
    }
    if env.value.as_deref().is_some_and(|v| !v.is_empty()) {
        errors.push(FieldError::invalid(
            vp.clone(),
            "",
            "may not be specified when `value` is not empty",
        ));
    }
    if let Some(f) = &from.field_ref {
        let path = f.field_path.as_str();
        let base = path.split_once('[').map_or(path, |(b, _)| b);
        let keyed = matches!(base, "metadata.labels" | "metadata.annotations");
        if path.is_empty() {
            errors.push(FieldError::required(
                vp.child("fieldRef").child("fieldPath"),
                "",
            ));
        } else if !ENV_FIELD_PATHS.contains(&base)
            || (keyed && !path.ends_with("']") && path != base)
        {
            errors.push(FieldError::not_supported(
                vp.child("fieldRef").child("fieldPath"),
                path,
                ENV_FIELD_PATHS,
            ));
        }
    }
    if let Some(r) = &from.resource_field_ref {
        let supported = [
            "limits.cpu",
            "limits.memory",
            "limits.ephemeral-storage",
            "requests.cpu",
            "requests.memory",
            "requests.ephemeral-storage",
        ];
        if r.resource.is_empty() {
            errors.push(FieldError::required(
                vp.child("resourceFieldRef").child("resource"),
                "",
            ));
        } else if !supported.contains(&r.resource.as_str())
            && !r.resource.starts_with("limits.hugepages-")
            && !r.resource.starts_with("requests.hugepages-")
        {
            errors.push(FieldError::not_supported(
                vp.child("resourceFieldRef").child("resource"),
                &r.resource,
                &supported,
            ));
        }
    }
    for (field, key) in [
        (
            "configMapKeyRef",
            from.config_map_key_ref.as_ref().map(|k| &k.key),
        ),
        ("secretKeyRef", from.secret_key_ref.as_ref().map(|k| &k.key)),
    ] {
        if let Some(key) = key {
            if key.is_empty() {
                errors.push(FieldError::required(vp.child(field).child("key"), ""));
            } else {
                for msg in names::is_config_map_key(key) {
                    errors.push(FieldError::invalid(vp.child(field).child("key"), key, msg));
                }
            }
        }
    }
}

fn standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name.starts_with("hugepages-")
        || name.contains('/')
}

/// Resource names, non-negative quantities, and requests no larger than limits.
pub(super) fn resources(r: &ResourceRequirements, p: &FieldPath, errors: &mut Vec<FieldError>) {
    for (field, list) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (name, q) in list {
            let kp = || p.child(field).key(name);
            errors.extend(qualified_name_at(name, kp));
            if !standard_container_resource(name) {
                errors.push(FieldError::invalid(
                    kp(),
                    name,
                    "must be a standard resource for containers",
                ));
            }
            errors.extend(non_negative_quantity_at(q, kp));
        }
    }
    for (name, request) in &r.requests {
        if let Some(limit) = r.limits.get(name)
            && request > limit
        {
            errors.push(FieldError::invalid(
                p.child("requests").key(name),
                request,
                format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
}

fn mounts(c: &Container, volumes: &BTreeSet<&str>, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut paths = BTreeSet::new();
    for (i, m) in c.volume_mounts.iter().enumerate() {
        let mp = p.child("volumeMounts").index(i);
        if m.name.is_empty() {
            errors.push(FieldError::required(mp.child("name"), ""));
        } else if !volumes.contains(m.name.as_str()) {
            errors.push(FieldError::invalid(
                mp.child("name"),
                &m.name,
                "not found: no volume of this name in the pod",
            ));
        }
        if m.mount_path.is_empty() {
            errors.push(FieldError::required(mp.child("mountPath"), ""));
        } else if !paths.insert(m.mount_path.as_str()) {
            errors.push(FieldError::invalid(
                mp.child("mountPath"),
                &m.mount_path,
                "must be unique",
            ));
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            super::volume::relative_path(sub, &mp.child("subPath"), errors);
        }
        if let Some(prop) = m.mount_propagation.as_deref()
            && !matches!(prop, "None" | "HostToContainer" | "Bidirectional")
        {
            errors.push(FieldError::not_supported(
                mp.child("mountPropagation"),
                prop,
                &["Bidirectional", "HostToContainer", "None"],
            ));
        }
    }
}

fn probe(pr: &Probe, single_success: bool, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let handlers = [
        pr.exec.is_some(),
        pr.http_get.is_some(),
        pr.tcp_socket.is_some(),
        pr.grpc.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errors.push(FieldError::required(
            p.clone(),
            "must specify a handler type",
        )),
        1 => {}
        _ => errors.push(FieldError::forbidden(
            p.clone(),
            "may not specify more than 1 handler type",
        )),
    }
    for (field, value) in [
        ("initialDelaySeconds", pr.initial_delay_seconds),
        ("timeoutSeconds", pr.timeout_seconds),
        ("periodSeconds", pr.period_seconds),
        ("successThreshold", pr.success_threshold),
        ("failureThreshold", pr.failure_threshold),
    ] {
        if let Some(v) = value
            && v < 0
        {
            errors.push(FieldError::invalid(
                p.child(field),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if single_success && pr.success_threshold.is_some_and(|s| s != 1) {
        errors.push(FieldError::invalid(
            p.child("successThreshold"),
            pr.success_threshold.unwrap_or(0),
            "must be 1",
        ));
    }
    if let Some(exec) = &pr.exec
        && exec.command.is_empty()
    {
        errors.push(FieldError::required(p.child("exec").child("command"), ""));
    }
    if let Some(get) = &pr.http_get {
        port_num_or_name(&get.port, &p.child("httpGet").child("port"), errors);
        if let Some(scheme) = get.scheme.as_deref()
            && !matches!(scheme, "HTTP" | "HTTPS")
        {
            errors.push(FieldError::not_supported(
                p.child("httpGet").child("scheme"),
                scheme,
                &["HTTP", "HTTPS"],
            ));
        }
    }
    if let Some(tcp) = &pr.tcp_socket {
        port_num_or_name(&tcp.port, &p.child("tcpSocket").child("port"), errors);
    }
    if let Some(grpc) = &pr.grpc {
        port_range(i64::from(grpc.port), &p.child("grpc").child("port"), errors);
    }
}

fn port_num_or_name(port: &IntOrString, p: &FieldPath, errors: &mut Vec<FieldError>) {
    match port {
        IntOrString::Int(n) => port_range(i64::from(*n), p, errors),
        IntOrString::String(name) => {
            for msg in names::is_valid_port_name(name) {
                errors.push(FieldError::invalid(p.clone(), name, msg));
            }
        }
    }
}
