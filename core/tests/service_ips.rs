//! Services get their cluster IPs and node ports from the API server: unique while the
//! Service exists, kept across updates, immutable, free again after deletion.

use keel_core::Error;
use keel_core::api::{Service, ServicePort, ServiceSpec};
use keel_core::client::{Api, Client, DeleteParams, ServiceCidr, ServiceNetwork};
use keel_core::meta::ObjectMeta;
use keel_core::store::MemoryStore;

fn service(name: &str, type_: &str) -> Service {
    Service {
        metadata: ObjectMeta::namespaced("default", name),
        spec: ServiceSpec {
            type_: Some(type_.into()),
            selector: [("app".to_owned(), name.to_owned())].into(),
            ports: vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }],
            ..ServiceSpec::default()
        },
        ..Service::default()
    }
}

#[tokio::test]
async fn cluster_ips_are_allocated_kept_and_freed() {
    // A tiny range: two addresses.
    let client = Client::builder(MemoryStore::new())
        .service_network(ServiceNetwork {
            cidrs: vec![ServiceCidr::parse("127.1.0.0/30").unwrap()],
            node_ports: 30000..=30001,
        })
        .build();
    let api: Api<Service> = Api::default_namespaced(&client);
    let a = api.create(&service("a", "ClusterIP")).await.unwrap();
    let b = api.create(&service("b", "NodePort")).await.unwrap();
    let (ip_a, ip_b) = (
        a.spec.cluster_ip.clone().unwrap(),
        b.spec.cluster_ip.clone().unwrap(),
    );
    assert_ne!(ip_a, ip_b);
    assert!(ip_a.starts_with("127.1.0."), "{ip_a}");
    assert_eq!(a.spec.cluster_ips, std::slice::from_ref(&ip_a));
    assert_eq!(a.spec.ip_families, ["IPv4"]);
    assert!(
        b.spec.ports[0]
            .node_port
            .is_some_and(|p| (30000..=30001).contains(&p))
    );

    // Full: the next one is refused, naming the field.
    match api.create(&service("c", "ClusterIP")).await {
        Err(Error::Invalid { field, reason, .. }) => {
            assert_eq!(field, "spec.clusterIPs[0]");
            assert!(reason.contains("range is full"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // An update that leaves the address out keeps it; one that changes it is refused.
    let mut next = (*a).clone();
    next.spec.cluster_ip = None;
    next.spec.cluster_ips.clear();
    next.spec.ports[0].port = 8080;
    let updated = api.replace("a", &next).await.unwrap();
    assert_eq!(updated.spec.cluster_ip.as_deref(), Some(ip_a.as_str()));
    let mut moved = (*updated).clone();
    moved.spec.cluster_ip = Some(ip_b.clone());
    moved.spec.cluster_ips = vec![ip_b.clone()];
    match api.replace("a", &moved).await {
        Err(Error::Invalid { field, reason, .. }) => {
            assert_eq!(field, "spec.clusterIPs[0]");
            assert!(reason.contains("may not change once set"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Deleting frees the address for the next Service.
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let c = api.create(&service("c", "ClusterIP")).await.unwrap();
    assert_eq!(c.spec.cluster_ip.as_deref(), Some(ip_a.as_str()));
}

#[tokio::test]
async fn asked_for_addresses_must_be_free_and_in_range() {
    let client = Client::in_memory();
    let api: Api<Service> = Api::default_namespaced(&client);
    let mut fixed = service("dns", "ClusterIP");
    fixed.spec.cluster_ip = Some("10.96.0.10".into());
    let dns = api.create(&fixed).await.unwrap();
    assert_eq!(dns.spec.cluster_ips, ["10.96.0.10"]);
    let mut again = service("dns2", "ClusterIP");
    again.spec.cluster_ip = Some("10.96.0.10".into());
    let err = api.create(&again).await.unwrap_err();
    assert!(
        err.to_string().contains("provided IP is already allocated"),
        "{err}"
    );
    let mut outside = service("far", "ClusterIP");
    outside.spec.cluster_ip = Some("192.168.0.1".into());
    let err = api.create(&outside).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("The range of valid IPs is 10.96.0.0/12"),
        "{err}"
    );
    let mut dual = service("dual", "ClusterIP");
    dual.spec.ip_family_policy = Some("RequireDualStack".into());
    let dual = api.create(&dual).await.unwrap();
    assert_eq!(dual.spec.ip_families, ["IPv4", "IPv6"]);
    assert!(
        dual.spec.cluster_ips[1].starts_with("fd00:10:96::"),
        "{:?}",
        dual.spec.cluster_ips
    );
}

#[tokio::test]
async fn changing_the_type_allocates_and_releases() {
    let client = Client::in_memory();
    let api: Api<Service> = Api::default_namespaced(&client);
    let svc = api.create(&service("web", "ClusterIP")).await.unwrap();
    let ip = svc.spec.cluster_ip.clone().unwrap();
    assert_eq!(svc.spec.ports[0].node_port, None);

    // ClusterIP → NodePort: the same address, and a node port now.
    let mut np = (*svc).clone();
    np.spec.type_ = Some("NodePort".into());
    let np = api.replace("web", &np).await.unwrap();
    assert_eq!(np.spec.cluster_ip.as_deref(), Some(ip.as_str()));
    let port = np.spec.ports[0].node_port.expect("a node port");
    assert!((30000..=32767).contains(&port));

    // Another Service cannot take that node port.
    let mut other = service("other", "NodePort");
    other.spec.ports[0].node_port = Some(port);
    let err = api.create(&other).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("provided port is already allocated"),
        "{err}"
    );

    // NodePort → ClusterIP: the node port (and the external traffic policy, both left
    // as they were) go; the port is free for others.
    let mut back = (*np).clone();
    back.spec.type_ = Some("ClusterIP".into());
    let back = api.replace("web", &back).await.unwrap();
    assert_eq!(back.spec.ports[0].node_port, None);
    assert_eq!(back.spec.external_traffic_policy, None);
    api.create(&other).await.expect("the port is free again");

    // ExternalName → ClusterIP: an address is allocated.
    let mut ext = service("ext", "ExternalName");
    ext.spec.external_name = Some("example.com".into());
    ext.spec.selector.clear();
    let ext = api.create(&ext).await.unwrap();
    assert_eq!(ext.spec.cluster_ip, None);
    let mut internal = (*ext).clone();
    internal.spec.type_ = Some("ClusterIP".into());
    internal.spec.external_name = None;
    let internal = api.replace("ext", &internal).await.unwrap();
    assert!(
        internal
            .spec
            .cluster_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10."))
    );
}

#[tokio::test]
async fn one_port_number_over_two_protocols_shares_its_node_port() {
    let client = Client::in_memory();
    let api: Api<Service> = Api::default_namespaced(&client);
    let mut dns = service("dns", "NodePort");
    dns.spec.ports = vec![
        ServicePort {
            name: Some("dns".into()),
            port: 53,
            protocol: Some("UDP".into()),
            ..ServicePort::default()
        },
        ServicePort {
            name: Some("dns-tcp".into()),
            port: 53,
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        },
    ];
    let auto = api.create(&dns).await.unwrap();
    assert!(auto.spec.ports[0].node_port.is_some());
    assert_eq!(auto.spec.ports[0].node_port, auto.spec.ports[1].node_port);
    let mut fixed = dns.clone();
    fixed.metadata.name = Some("dns2".into());
    for p in &mut fixed.spec.ports {
        p.node_port = Some(30053);
    }
    let fixed = api.create(&fixed).await.unwrap();
    assert_eq!(fixed.spec.ports[1].node_port, Some(30053));
}

#[tokio::test]
async fn updates_may_name_the_cluster_ip_alone_and_may_turn_into_external_names() {
    let client = Client::in_memory();
    let api: Api<Service> = Api::default_namespaced(&client);
    let svc = api.create(&service("web", "ClusterIP")).await.unwrap();
    // A client that only knows `clusterIP` keeps it.
    let mut old_style = (*svc).clone();
    old_style.spec.cluster_ips.clear();
    let kept = api.replace("web", &old_style).await.unwrap();
    assert_eq!(kept.spec.cluster_ips, svc.spec.cluster_ips);
    // GET, set the type to ExternalName, PUT: the address and families go.
    let mut ext = (*kept).clone();
    ext.spec.type_ = Some("ExternalName".into());
    ext.spec.external_name = Some("example.com".into());
    ext.spec.selector.clear();
    let ext = api.replace("web", &ext).await.unwrap();
    assert_eq!(ext.spec.cluster_ip, None);
    assert!(ext.spec.cluster_ips.is_empty() && ext.spec.ip_families.is_empty());
}
