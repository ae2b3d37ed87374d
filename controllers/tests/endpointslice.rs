//! The EndpointSlice controller against the in-memory store: endpoints per selected
//! pod with their conditions, named target ports, dual-stack slices, slices of at most
//! 100 endpoints, updates as pods come, go and change readiness.

mod support;

use std::sync::Arc;

use keel_controllers::ControllerManager;
use keel_core::api::{ContainerPort, EndpointSlice, Pod, PodIp, Service, ServicePort, ServiceSpec};
use keel_core::client::{Api, Client, DeleteParams};
use keel_core::intstr::IntOrString;
use support::*;

fn service(name: &str, app: &str, target: IntOrString) -> Service {
    Service {
        metadata: meta(name),
        spec: ServiceSpec {
            selector: [("app".to_owned(), app.to_owned())].into(),
            ports: vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(target),
                ..ServicePort::default()
            }],
            ..ServiceSpec::default()
        },
        ..Service::default()
    }
}

/// A pod of `app` with addresses and readiness, as its node would report them.
async fn pod(client: &Client, name: &str, app: &str, ips: &[&str], ready: bool) -> Arc<Pod> {
    let pods: Api<Pod> = Api::default_namespaced(client);
    let mut p = Pod {
        metadata: meta(name).with_label("app", app),
        ..Pod::default()
    };
    let mut c = container("web");
    c.ports.push(ContainerPort {
        name: Some("web".into()),
        container_port: 8080,
        ..ContainerPort::default()
    });
    p.spec.containers.push(c);
    p.spec.node_name = Some("node-1".into());
    let created = pods.create(&p).await.unwrap();
    let p = set_pod_status(client, &created, "Running", ready).await;
    let mut next = (*p).clone();
    let status = next.status.as_mut().unwrap();
    status.pod_ip = ips.first().map(|s| (*s).to_owned());
    status.pod_ips = ips
        .iter()
        .map(|ip| PodIp {
            ip: (*ip).to_owned(),
        })
        .collect();
    pods.replace_status(name, &next).await.unwrap()
}

fn start(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("endpointslice")
        .unwrap()
        .start()
}

fn endpoints(slices: &[Arc<EndpointSlice>], family: &str) -> Vec<(String, bool, bool, bool)> {
    let mut out: Vec<(String, bool, bool, bool)> = slices
        .iter()
        .filter(|s| s.address_type == family)
        .flat_map(|s| s.endpoints.iter())
        .map(|e| {
            let c = e.conditions.clone().unwrap_or_default();
            (
                e.target_ref
                    .as_ref()
                    .and_then(|r| r.name.clone())
                    .unwrap_or_default(),
                c.ready.unwrap_or(false),
                c.serving.unwrap_or(false),
                c.terminating.unwrap_or(false),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(start_paused = true)]
async fn publishes_the_selected_pods_with_their_readiness() {
    let client = Client::in_memory();
    let manager = start(&client);
    let slices: Api<EndpointSlice> = Api::default_namespaced(&client);
    pod(&client, "web-1", "web", &["10.0.0.1"], true).await;
    pod(&client, "web-2", "web", &["10.0.0.2"], false).await;
    pod(&client, "db-1", "db", &["10.0.0.3"], true).await;
    let svc = Api::<Service>::default_namespaced(&client)
        .create(&service("web", "web", IntOrString::from("web")))
        .await
        .unwrap();

    let all = wait_for(&slices, "two endpoints", |s| {
        endpoints(s, "IPv4").len() == 2
    })
    .await;
    assert_eq!(
        endpoints(&all, "IPv4"),
        [
            ("web-1".into(), true, true, false),
            ("web-2".into(), false, false, false)
        ]
    );
    let s = &all[0];
    assert_eq!(s.metadata.labels["kubernetes.io/service-name"], "web");
    assert_eq!(
        s.metadata.labels["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(
        s.metadata.controller_owner().unwrap().uid,
        svc.metadata.uid.clone().unwrap()
    );
    assert_eq!(
        s.ports[0].port,
        Some(8080),
        "the named target port is resolved"
    );
    assert_eq!(s.ports[0].name.as_deref(), Some("http"));
    let e = s
        .endpoints
        .iter()
        .find(|e| e.addresses == ["10.0.0.1"])
        .unwrap();
    assert_eq!(e.node_name.as_deref(), Some("node-1"));

    // Readiness changes, a new pod, a deleted pod.
    let web2 = Api::<Pod>::default_namespaced(&client)
        .get("web-2")
        .await
        .unwrap();
    set_pod_status(&client, &web2, "Running", true).await;
    pod(&client, "web-3", "web", &["10.0.0.4"], true).await;
    Api::<Pod>::default_namespaced(&client)
        .delete("web-1", &DeleteParams::default())
        .await
        .unwrap();
    let all = wait_for(&slices, "updated endpoints", |s| {
        endpoints(s, "IPv4")
            == [
                ("web-1".to_owned(), false, true, true),
                ("web-2".to_owned(), true, true, false),
                ("web-3".to_owned(), true, true, false),
            ]
    })
    .await;
    assert_eq!(all.len(), 1, "one slice is updated in place");
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dual_stack_services_get_a_slice_per_family() {
    let client = Client::in_memory();
    let manager = start(&client);
    pod(&client, "web-1", "web", &["10.0.0.1", "fd00::1"], true).await;
    let mut svc = service("web", "web", IntOrString::from(8080));
    svc.spec.ip_families = vec!["IPv4".into(), "IPv6".into()];
    svc.spec.ip_family_policy = Some("RequireDualStack".into());
    Api::<Service>::default_namespaced(&client)
        .create(&svc)
        .await
        .unwrap();
    let slices: Api<EndpointSlice> = Api::default_namespaced(&client);
    let all = wait_for(&slices, "two families", |s| {
        s.len() == 2 && s.iter().all(|s| s.endpoints.len() == 1)
    })
    .await;
    let v6 = all.iter().find(|s| s.address_type == "IPv6").unwrap();
    assert_eq!(v6.endpoints[0].addresses, ["fd00::1"]);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn large_services_are_cut_into_slices_of_100() {
    let client = Client::in_memory();
    let manager = start(&client);
    for i in 0..230 {
        let ip = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        pod(&client, &format!("web-{i:03}"), "web", &[&ip], true).await;
    }
    Api::<Service>::default_namespaced(&client)
        .create(&service("web", "web", IntOrString::from(8080)))
        .await
        .unwrap();
    let slices: Api<EndpointSlice> = Api::default_namespaced(&client);
    let all = wait_for(&slices, "230 endpoints", |s| {
        endpoints(s, "IPv4").len() == 230
    })
    .await;
    let mut sizes: Vec<usize> = all.iter().map(|s| s.endpoints.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [30, 100, 100]);
    // With no pods left, one empty slice remains.
    Api::<Service>::default_namespaced(&client)
        .replace("web", &{
            let mut s = (*Api::<Service>::default_namespaced(&client)
                .get("web")
                .await
                .unwrap())
            .clone();
            s.spec.selector = [("app".to_owned(), "none".to_owned())].into();
            s
        })
        .await
        .unwrap();
    let all = wait_for(&slices, "one empty slice", |s| {
        s.len() == 1 && s[0].endpoints.is_empty()
    })
    .await;
    assert_eq!(all[0].address_type, "IPv4");
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn publish_not_ready_addresses_marks_unready_pods_ready_but_not_serving() {
    let client = Client::in_memory();
    let manager = start(&client);
    pod(&client, "web-1", "web", &["10.0.0.1"], false).await;
    let mut svc = service("web", "web", IntOrString::from(8080));
    svc.spec.publish_not_ready_addresses = Some(true);
    svc.spec.cluster_ip = Some("None".into());
    Api::<Service>::default_namespaced(&client)
        .create(&svc)
        .await
        .unwrap();
    let slices: Api<EndpointSlice> = Api::default_namespaced(&client);
    let all = wait_for(&slices, "an endpoint", |s| endpoints(s, "IPv4").len() == 1).await;
    assert_eq!(
        endpoints(&all, "IPv4"),
        [("web-1".to_owned(), true, false, false)]
    );
    assert_eq!(
        all[0]
            .metadata
            .labels
            .get("service.kubernetes.io/headless")
            .map(String::as_str),
        Some("")
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slice_held_by_a_finalizer_does_not_stop_updates() {
    let client = Client::in_memory();
    let manager = start(&client);
    for i in 0..101 {
        pod(
            &client,
            &format!("web-{i:03}"),
            "web",
            &[&format!("10.0.1.{}", i + 1)],
            true,
        )
        .await;
    }
    Api::<Service>::default_namespaced(&client)
        .create(&service("web", "web", IntOrString::from(8080)))
        .await
        .unwrap();
    let slices: Api<EndpointSlice> = Api::default_namespaced(&client);
    let all = wait_for(&slices, "two slices", |s| endpoints(s, "IPv4").len() == 101).await;
    assert_eq!(all.len(), 2);
    // Someone else holds every slice with a finalizer.
    for s in &all {
        let mut held = (**s).clone();
        held.metadata.finalizers.push("example.com/hold".into());
        slices.replace(s.metadata.name_str(), &held).await.unwrap();
    }
    // Down to 100 pods: one slice is deleted (and stays, terminating).
    let pods: Api<Pod> = Api::default_namespaced(&client);
    pods.delete("web-100", &keel_core::client::DeleteParams::immediate())
        .await
        .unwrap();
    wait_for(&slices, "one slice terminating", |s| {
        s.iter().any(|s| s.metadata.deletion_timestamp.is_some())
    })
    .await;
    // Later changes still reach the live slice.
    pod(&client, "web-new", "web", &["10.0.2.1"], true).await;
    wait_for(&slices, "the new pod published", |s| {
        s.iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .flat_map(|s| &s.endpoints)
            .any(|e| e.addresses == ["10.0.2.1"])
    })
    .await;
    manager.shutdown().await;
}
