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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{EndpointSlice, Node, Pod, Service};
use keel_core::client::{Api, Client, DeleteParams};
use keel_core::labels::Selector;
use keel_core::meta::ObjectMeta;
use keel_core::store::parse_version;

pub use desired::{MAX_ENDPOINTS_PER_SLICE, SliceContent, desired};

use crate::manager::Shutdown;
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
/// The label (empty value) on the slices of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// The node label naming its zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

worker_controller!(
    /// The EndpointSlice controller. `default()` runs 5 workers, as
    /// `--concurrent-service-endpoint-syncs`.
    EndpointSliceController,
    name: NAME, workers: 5, objects: "Services");

impl EndpointSliceController {
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
            nodes: informers.cache::<Node>(),
            written: std::sync::Mutex::default(),
        });
        let tracker = tokio::spawn(track_deletions(ctx.clone(), services));
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
        tracker.abort();
    }
}

struct Ctx {
    client: Client,
    pods: Cache<Pod>,
    slices: Cache<EndpointSlice>,
    nodes: Cache<Node>,
    /// Per Service uid, the slices this controller wrote (→ version, 0 for deleted)
    /// that its cache may not show yet (Kubernetes' `endpointSliceTracker`).
    written: std::sync::Mutex<Written>,
}

type Written = HashMap<String, HashMap<ObjectRef, u64>>;

impl Ctx {
    fn written(&self) -> std::sync::MutexGuard<'_, Written> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the cache lags behind this controller's own writes for the Service
    /// `uid`; entries it has caught up with are dropped.
    fn cache_lags(&self, uid: &str) -> bool {
        let mut written = self.written();
        let Some(slices) = written.get_mut(uid) else {
            return false;
        };
        slices.retain(|key, version| {
            let slice = self.slices.get(key);
            // Deleted, but kept by someone's finalizer: as good as gone for us.
            let terminating = slice
                .as_ref()
                .is_some_and(|s| s.metadata.deletion_timestamp.is_some());
            let cached =
                slice.map(|s| parse_version(s.metadata.resource_version.as_deref()).unwrap_or(0));
            match (cached, *version) {
                (None, 0) => false,
                (Some(_), 0) if terminating => false,
                (Some(have), want) if want > 0 && have >= want => false,
                _ => true,
            }
        });
        let lags = !slices.is_empty();
        if !lags {
            written.remove(uid);
        }
        lags
    }

    fn wrote(&self, uid: &str, slice: &EndpointSlice, deleted: bool) {
        let version = if deleted {
            0
        } else {
            parse_version(slice.metadata.resource_version.as_deref()).unwrap_or(0)
        };
        self.written()
            .entry(uid.to_owned())
            .or_default()
            .insert(ObjectRef::from_obj(slice), version);
    }

    /// A slice is gone (whoever deleted it): nothing waits for it any more.
    fn slice_gone(&self, slice: &EndpointSlice) {
        let key = ObjectRef::from_obj(slice);
        let mut written = self.written();
        for slices in written.values_mut() {
            slices.remove(&key);
        }
        written.retain(|_, slices| !slices.is_empty());
    }
}

/// Forgets tracked writes of slices that were deleted, and of Services that were.
async fn track_deletions(ctx: Arc<Ctx>, services: Cache<Service>) {
    let mut slices = ctx.slices.subscribe();
    let mut svcs = services.subscribe();
    loop {
        tokio::select! {
            change = slices.recv() => {
                let Some(change) = change else { return };
                if let (Some(old), None) = (&change.old, &change.new) {
                    ctx.slice_gone(old);
                }
            }
            change = svcs.recv() => {
                let Some(change) = change else { return };
                if let (Some(old), None) = (&change.old, &change.new) {
                    ctx.written().remove(old.metadata.uid.as_deref().unwrap_or(""));
                }
            }
        }
    }
}

/// The labels of a Service's slices: the Service's own, the Service name, the manager,
/// and the headless mark.
fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone();
    labels.insert(
        SERVICE_NAME_LABEL.to_owned(),
        svc.metadata.name_str().to_owned(),
    );
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned());
    if svc.spec.cluster_ip.as_deref() == Some(Service::CLUSTER_IP_NONE) {
        labels.insert(HEADLESS_LABEL.to_owned(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
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
    let key = svc.metadata.uid.clone().unwrap_or_default();
    if ctx.cache_lags(&key) {
        // Our last writes are not in the cache yet; their events will queue us again.
        return Ok(Action::await_change());
    }
    let ns = svc.metadata.namespace_str().unwrap_or("default").to_owned();
    let pods = ctx.pods.select(Some(&ns), &selector);
    let zone_of = |pod: &Pod| {
        let node = ctx
            .nodes
            .get(&ObjectRef::new(pod.spec.node_name.clone()?))?;
        node.metadata.labels.get(ZONE_LABEL).cloned()
    };
    let want = desired(&svc, &pods, &zone_of);
    let labels = slice_labels(&svc);
    let uid = svc.metadata.uid.as_deref().unwrap_or("");
    let mut have: Vec<Arc<EndpointSlice>> = ctx
        .slices
        .by_index(BY_CONTROLLER_UID, uid)
        .into_iter()
        .filter(|s| s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY))
        // Slices being deleted are neither kept nor re-used (`dropEndpointSlicesPendingDeletion`).
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .collect();
    have.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let api: Api<EndpointSlice> = Api::namespaced(&ctx.client, &ns);
    let mut unused: Vec<Arc<EndpointSlice>> = Vec::new();
    let mut todo: Vec<SliceContent> = want;
    // Keep slices whose content is already right; re-use the others for what is left.
    have.retain(|s| {
        if s.metadata.labels != labels {
            return true;
        }
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
        let written = if let Some(old) = reuse {
            let mut next = (*old).clone();
            next.metadata.labels.clone_from(&labels);
            next.ports = content.ports;
            next.endpoints = content.endpoints;
            api.replace(old.metadata.name_str(), &next).await?
        } else {
            api.create_owned(new_slice(&svc, labels.clone(), content))
                .await?
        };
        ctx.wrote(&key, &written, false);
    }
    for old in unused {
        match api
            .delete(old.metadata.name_str(), &DeleteParams::default())
            .await
        {
            Ok(_) => ctx.wrote(&key, &old, true),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Action::await_change())
}

fn new_slice(
    svc: &Service,
    labels: BTreeMap<String, String>,
    content: SliceContent,
) -> EndpointSlice {
    let name = svc.metadata.name_str();
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
