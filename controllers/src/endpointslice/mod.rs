//! The EndpointSlice controller: publishes the addresses of the pods a Service selects
//! (Kubernetes' `endpointslice` controller).
//!
//! For each Service with a selector it keeps EndpointSlices labelled
//! `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
//! endpointslice-controller.k8s.io` and owned by the Service: one endpoint per pod
//! address (per address family in `spec.ipFamilies`), with the `ready`, `serving` and
//! `terminating` conditions, the pod as `targetRef`, its node and (for a pod whose
//! subdomain is the Service) its hostname; ports resolved per pod (named target
//! ports looked up in the pod's container ports); at most 100 endpoints per slice.
//! Services without a selector are left to their users.

mod desired;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use keel_core::Error;
use keel_core::api::{EndpointSlice, Pod, Service};
use keel_core::client::{Api, Client, DeleteParams};
use keel_core::labels::Selector;
use keel_core::meta::ObjectMeta;

pub use desired::{MAX_ENDPOINTS_PER_SLICE, SliceContent, desired};

use crate::manager::{ManagedController, Shutdown};
use crate::runtime::cache::BY_CONTROLLER_UID;
use crate::runtime::{Action, Cache, Config, Controller, Informers, ObjectRef};
use crate::workload::controller_ref;

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "endpointslice";

/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming a slice's manager.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// The EndpointSlice controller. `default()` runs 5 workers, as
/// `--concurrent-service-endpoint-syncs`.
#[derive(Clone, Debug)]
pub struct EndpointSliceController {
    workers: usize,
}

impl Default for EndpointSliceController {
    fn default() -> Self {
        EndpointSliceController { workers: 5 }
    }
}

impl EndpointSliceController {
    /// Reconciles up to `n` Services at once.
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let services = informers.cache::<Service>();
        let selecting = services.clone();
        let controller = Controller::new(
            Api::<Service>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers.clone()),
        )
        .owns::<EndpointSlice>()
        .watches::<Pod, _>(move |pod| services_selecting(&selecting, pod))
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            client,
            pods: informers.cache::<Pod>(),
            slices: informers.cache::<EndpointSlice>(),
        });
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
    }
}

impl ManagedController for EndpointSliceController {
    fn name(&self) -> &str {
        NAME
    }

    fn run(self: Box<Self>, client: Client, shutdown: Shutdown) -> BoxFuture<'static, ()> {
        Box::pin((*self).run(client, shutdown))
    }
}

struct Ctx {
    client: Client,
    pods: Cache<Pod>,
    slices: Cache<EndpointSlice>,
}

fn selector_of(svc: &Service) -> Option<Selector> {
    if svc.spec.selector.is_empty() {
        return None;
    }
    Some(Selector::from_labels(&svc.spec.selector))
}

/// The Services whose selector matches the pod (the cache calls this with the old and
/// the new state, so a pod that stops matching updates its former Service too).
fn services_selecting(services: &Cache<Service>, pod: &Pod) -> Vec<ObjectRef> {
    let Some(ns) = pod.metadata.namespace_str() else {
        return Vec::new();
    };
    services
        .list_in(ns)
        .iter()
        .filter(|s| selector_of(s).is_some_and(|sel| sel.matches(&pod.metadata.labels)))
        .map(|s| ObjectRef::from_obj(&**s))
        .collect()
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let Some(selector) = selector_of(&svc) else {
        return Ok(Action::await_change());
    };
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = svc.metadata.namespace_str().unwrap_or("default").to_owned();
    let pods = ctx.pods.select(Some(&ns), &selector);
    let want = desired(&svc, &pods);
    let uid = svc.metadata.uid.as_deref().unwrap_or("");
    let mut have: Vec<Arc<EndpointSlice>> = ctx
        .slices
        .by_index(BY_CONTROLLER_UID, uid)
        .into_iter()
        .filter(|s| s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY))
        .collect();
    have.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let api: Api<EndpointSlice> = Api::namespaced(&ctx.client, &ns);
    let mut unused: Vec<Arc<EndpointSlice>> = Vec::new();
    let mut todo: Vec<SliceContent> = want;
    // Keep slices whose content is already right; re-use the others for what is left.
    have.retain(|s| {
        let content = SliceContent {
            address_type: s.address_type.clone(),
            ports: s.ports.clone(),
            endpoints: s.endpoints.clone(),
        };
        match todo.iter().position(|c| *c == content) {
            Some(i) => {
                todo.remove(i);
                false
            }
            None => true,
        }
    });
    unused.extend(have);
    for content in todo {
        let reuse = unused
            .iter()
            .position(|s| s.address_type == content.address_type)
            .map(|i| unused.remove(i));
        match reuse {
            Some(old) => {
                let mut next = (*old).clone();
                next.ports = content.ports;
                next.endpoints = content.endpoints;
                api.replace(old.metadata.name_str(), &next).await?;
            }
            None => {
                api.create(&new_slice(&svc, content)).await?;
            }
        }
    }
    for old in unused {
        match api
            .delete(old.metadata.name_str(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Action::await_change())
}

fn new_slice(svc: &Service, content: SliceContent) -> EndpointSlice {
    let name = svc.metadata.name_str();
    let mut labels = svc.metadata.labels.clone();
    labels.insert(SERVICE_NAME_LABEL.to_owned(), name.to_owned());
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned());
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: svc.metadata.namespace.clone(),
            labels,
            owner_references: vec![controller_ref(svc)],
            ..ObjectMeta::default()
        },
        address_type: content.address_type,
        endpoints: content.endpoints,
        ports: content.ports,
    }
}
