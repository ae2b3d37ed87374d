//! A container's environment as the kubelet builds it: Keel's downward values
//! (`POD_NAME`, `POD_NAMESPACE`, `POD_IP`, `NODE_NAME`), the Docker-links-style Service
//! variables (`{SVC}_SERVICE_HOST`, `{SVC}_PORT_80_TCP`, … — unless
//! `enableServiceLinks: false`), `envFrom`, then `env` with `fieldRef`,
//! `configMapKeyRef` and `secretKeyRef` resolved. Later entries win.

use std::collections::BTreeMap;

use keel_core::api::{ConfigMap, Container, Pod, Secret, Service};
use keel_core::client::{Api, Client, ListParams};

fn env_name(service: &str) -> String {
    service.to_ascii_uppercase().replace('-', "_")
}

/// The variables Kubernetes sets for each Service of the pod's namespace that has a
/// cluster IP.
pub fn service_links(services: &[std::sync::Arc<Service>]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for svc in services {
        let Some(ip) = svc
            .spec
            .cluster_ip
            .as_deref()
            .filter(|ip| !ip.is_empty() && *ip != "None")
        else {
            continue;
        };
        let Some(first) = svc.spec.ports.first() else {
            continue;
        };
        let name = env_name(svc.metadata.name.as_deref().unwrap_or_default());
        out.push((format!("{name}_SERVICE_HOST"), ip.to_owned()));
        out.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
        for p in &svc.spec.ports {
            if let Some(port_name) = &p.name {
                out.push((
                    format!("{name}_SERVICE_PORT_{}", env_name(port_name)),
                    p.port.to_string(),
                ));
            }
        }
        let proto =
            |p: &keel_core::api::ServicePort| p.protocol.clone().unwrap_or_else(|| "TCP".into());
        out.push((
            format!("{name}_PORT"),
            format!(
                "{}://{ip}:{}",
                proto(first).to_ascii_lowercase(),
                first.port
            ),
        ));
        for p in &svc.spec.ports {
            let proto = proto(p);
            let prefix = format!("{name}_PORT_{}_{}", p.port, proto.to_ascii_uppercase());
            out.push((
                prefix.clone(),
                format!("{}://{ip}:{}", proto.to_ascii_lowercase(), p.port),
            ));
            out.push((format!("{prefix}_PROTO"), proto.to_ascii_lowercase()));
            out.push((format!("{prefix}_PORT"), p.port.to_string()));
            out.push((format!("{prefix}_ADDR"), ip.to_owned()));
        }
    }
    out
}

/// The value of a `fieldRef` path for `pod` (with its current IP).
pub fn field(pod: &Pod, path: &str, pod_ip: &str, host_ip: &str) -> Option<String> {
    let meta = &pod.metadata;
    let keyed = |prefix: &str, map: &BTreeMap<String, String>| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix("['").and_then(|r| r.strip_suffix("']")))
            .map(|k| map.get(k).cloned().unwrap_or_default())
    };
    match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => pod.spec.node_name.clone(),
        "spec.serviceAccountName" => pod.spec.service_account_name.clone(),
        "status.podIP" | "status.podIPs" => Some(pod_ip.to_owned()),
        "status.hostIP" | "status.hostIPs" => Some(host_ip.to_owned()),
        _ => keyed("metadata.labels", &meta.labels)
            .or_else(|| keyed("metadata.annotations", &meta.annotations)),
    }
}

async fn config_map(client: &Client, ns: &str, name: &str) -> Option<std::sync::Arc<ConfigMap>> {
    Api::<ConfigMap>::namespaced(client, ns)
        .get_opt(name)
        .await
        .ok()
        .flatten()
}

async fn secret(client: &Client, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let s = Api::<Secret>::namespaced(client, ns)
        .get_opt(name)
        .await
        .ok()
        .flatten()?;
    let mut out: BTreeMap<String, String> = s
        .data
        .iter()
        .filter_map(|(k, v)| {
            keel_core::api::base64::decode(v)
                .ok()
                .map(|b| (k.clone(), String::from_utf8_lossy(&b).into_owned()))
        })
        .collect();
    out.extend(s.string_data.clone());
    Some(out)
}

/// Builds the environment of container `c`. A missing, non-optional ConfigMap or Secret
/// key is an error (the kubelet's `CreateContainerConfigError`).
pub async fn container_env(
    client: &Client,
    pod: &Pod,
    c: &Container,
    pod_ip: &str,
    host_ip: &str,
) -> Result<Vec<(String, String)>, String> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let mut env: Vec<(String, String)> = vec![
        (
            "POD_NAME".into(),
            pod.metadata.name.clone().unwrap_or_default(),
        ),
        ("POD_NAMESPACE".into(), ns.clone()),
        ("POD_IP".into(), pod_ip.to_owned()),
        (
            "NODE_NAME".into(),
            pod.spec.node_name.clone().unwrap_or_default(),
        ),
    ];
    if pod.spec.enable_service_links != Some(false) {
        let services = Api::<Service>::namespaced(client, &ns)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        env.extend(service_links(&services));
    }
    for from in &c.env_from {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            let name = r.name.clone().unwrap_or_default();
            match config_map(client, &ns, &name).await {
                Some(cm) => env.extend(
                    cm.data
                        .iter()
                        .map(|(k, v)| (format!("{prefix}{k}"), v.clone())),
                ),
                None if r.optional == Some(true) => {}
                None => return Err(format!("configmap \"{name}\" not found")),
            }
        }
        if let Some(r) = &from.secret_ref {
            let name = r.name.clone().unwrap_or_default();
            match secret(client, &ns, &name).await {
                Some(data) => {
                    env.extend(data.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)));
                }
                None if r.optional == Some(true) => {}
                None => return Err(format!("secret \"{name}\" not found")),
            }
        }
    }
    for e in &c.env {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(src)) => {
                if let Some(f) = &src.field_ref {
                    field(pod, &f.field_path, pod_ip, host_ip)
                } else if let Some(k) = &src.config_map_key_ref {
                    let name = k.name.clone().unwrap_or_default();
                    let v = config_map(client, &ns, &name)
                        .await
                        .and_then(|cm| cm.data.get(&k.key).cloned());
                    match v {
                        None if k.optional != Some(true) => {
                            return Err(format!(
                                "couldn't find key {} in ConfigMap {ns}/{name}",
                                k.key
                            ));
                        }
                        v => v,
                    }
                } else if let Some(k) = &src.secret_key_ref {
                    let name = k.name.clone().unwrap_or_default();
                    let v = secret(client, &ns, &name)
                        .await
                        .and_then(|s| s.get(&k.key).cloned());
                    match v {
                        None if k.optional != Some(true) => {
                            return Err(format!(
                                "couldn't find key {} in Secret {ns}/{name}",
                                k.key
                            ));
                        }
                        v => v,
                    }
                } else {
                    None
                }
            }
            (None, None) => Some(String::new()),
        };
        if let Some(v) = value {
            env.retain(|(k, _)| *k != e.name);
            env.push((e.name.clone(), v));
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_links_are_named_like_kubernetes() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis-primary", "namespace": "default"},
            "spec": {"clusterIP": "10.0.0.11", "ports": [{"name": "redis", "port": 6379}]}
        }))
        .unwrap();
        let env: BTreeMap<String, String> = service_links(&[std::sync::Arc::new(svc)])
            .into_iter()
            .collect();
        assert_eq!(env["REDIS_PRIMARY_SERVICE_HOST"], "10.0.0.11");
        assert_eq!(env["REDIS_PRIMARY_SERVICE_PORT"], "6379");
        assert_eq!(env["REDIS_PRIMARY_SERVICE_PORT_REDIS"], "6379");
        assert_eq!(env["REDIS_PRIMARY_PORT"], "tcp://10.0.0.11:6379");
        assert_eq!(env["REDIS_PRIMARY_PORT_6379_TCP"], "tcp://10.0.0.11:6379");
        assert_eq!(env["REDIS_PRIMARY_PORT_6379_TCP_PROTO"], "tcp");
        assert_eq!(env["REDIS_PRIMARY_PORT_6379_TCP_PORT"], "6379");
        assert_eq!(env["REDIS_PRIMARY_PORT_6379_TCP_ADDR"], "10.0.0.11");
    }

    #[test]
    fn field_refs() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}
        }))
        .unwrap();
        assert_eq!(field(&pod, "metadata.name", "", "").as_deref(), Some("p"));
        assert_eq!(
            field(&pod, "status.podIP", "10.1.0.2", "").as_deref(),
            Some("10.1.0.2")
        );
        assert_eq!(
            field(&pod, "metadata.labels['app']", "", "").as_deref(),
            Some("web")
        );
        assert_eq!(field(&pod, "spec.nodeName", "", "").as_deref(), Some("n1"));
        assert_eq!(
            field(&pod, "status.hostIP", "", "192.168.0.1").as_deref(),
            Some("192.168.0.1")
        );
    }
}
