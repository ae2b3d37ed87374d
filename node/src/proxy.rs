//! [`ServiceProxy`]: the kube-proxy role. Watches Services and EndpointSlices and
//! balances each Service port's TCP connections round-robin across its ready
//! endpoints — on the Service's ClusterIP (and NodePort) — with `sessionAffinity:
//! ClientIP`; an endpoint that refuses a connection is skipped and the next one tried.
//! The balancing decision alone is [`Balancer`], which simulations call through
//! [`ServiceProxyHandle::resolve`] without moving bytes.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use keel_core::api::{EndpointSlice, Service};
use keel_core::client::watcher::{self, Event};
use keel_core::client::{Api, Client, ListParams};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// How long a connection to an endpoint may take before the next endpoint is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default ClientIP affinity timeout (3 hours).
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10_800);

/// `namespace/name` and port name of one Service port.
pub type PortKey = (String, String, String);

/// The choice of backends for one Service port.
#[derive(Debug, Default)]
pub struct Balancer {
    endpoints: Vec<SocketAddr>,
    next: usize,
    affinity: Option<Duration>,
    sticky: HashMap<IpAddr, (SocketAddr, Instant)>,
}

impl Balancer {
    /// Replaces the ready endpoints (sorted, so every proxy agrees on the order).
    pub fn set_endpoints(&mut self, mut endpoints: Vec<SocketAddr>) {
        endpoints.sort();
        endpoints.dedup();
        self.sticky.retain(|_, (e, _)| endpoints.contains(e));
        self.endpoints = endpoints;
    }

    /// ClientIP affinity with this timeout, or none.
    pub fn set_affinity(&mut self, timeout: Option<Duration>) {
        self.affinity = timeout;
        if timeout.is_none() {
            self.sticky.clear();
        }
    }

    /// The ready endpoints.
    pub fn endpoints(&self) -> &[SocketAddr] {
        &self.endpoints
    }

    /// The endpoint for a new connection from `client`, skipping `exclude` (endpoints
    /// that just refused); `None` when there is none left.
    pub fn pick(&mut self, client: Option<IpAddr>, exclude: &[SocketAddr]) -> Option<SocketAddr> {
        let now = Instant::now();
        if let (Some(timeout), Some(ip)) = (self.affinity, client)
            && let Some((e, at)) = self.sticky.get(&ip).copied()
            && now.duration_since(at) < timeout
            && !exclude.contains(&e)
        {
            self.sticky.insert(ip, (e, now));
            return Some(e);
        }
        let n = self.endpoints.len();
        for _ in 0..n {
            let e = self.endpoints[self.next % n];
            self.next = self.next.wrapping_add(1);
            if !exclude.contains(&e) {
                if let (Some(_), Some(ip)) = (self.affinity, client) {
                    self.sticky.insert(ip, (e, now));
                }
                return Some(e);
            }
        }
        None
    }
}

type Balancers = Arc<Mutex<HashMap<PortKey, Balancer>>>;

/// Which pod each endpoint address belongs to (from the slices' `targetRef`), and the
/// meter that counts the requests sent to each pod.
#[derive(Clone, Debug, Default)]
struct Load {
    targets: Arc<Mutex<HashMap<SocketAddr, (String, String)>>>,
    meter: Option<keel_runtime::sim::LoadMeter>,
}

impl Load {
    fn record(&self, endpoint: SocketAddr) {
        if let Some(meter) = &self.meter
            && let Some((ns, name)) = lock(&self.targets).get(&endpoint).cloned()
        {
            meter.record(&ns, &name);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The Service proxy of one node.
pub struct ServiceProxy {
    client: Client,
    node_address: Option<IpAddr>,
    balancers: Balancers,
    load: Load,
}

impl std::fmt::Debug for ServiceProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProxy").finish_non_exhaustive()
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct ServiceProxyHandle {
    tasks: JoinSet<()>,
    balancers: Balancers,
    load: Load,
}

impl ServiceProxyHandle {
    /// The endpoint a new connection to `namespace/service`'s port `port` (its name, or
    /// `""` for an unnamed port) would go to now, without connecting: the sim mode's
    /// load balancing.
    pub fn resolve(
        &self,
        namespace: &str,
        service: &str,
        port: &str,
        client: Option<IpAddr>,
    ) -> Option<SocketAddr> {
        let picked = lock(&self.balancers)
            .get_mut(&(namespace.to_owned(), service.to_owned(), port.to_owned()))?
            .pick(client, &[])?;
        self.load.record(picked);
        Some(picked)
    }

    /// The ready endpoints of a Service port.
    pub fn endpoints(&self, namespace: &str, service: &str, port: &str) -> Vec<SocketAddr> {
        lock(&self.balancers)
            .get(&(namespace.to_owned(), service.to_owned(), port.to_owned()))
            .map(|b| b.endpoints().to_vec())
            .unwrap_or_default()
    }

    /// Stops proxying (closes the listeners).
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

impl ServiceProxy {
    /// A proxy reading Services and EndpointSlices through `client`; with
    /// `node_address`, NodePorts are served there too.
    pub fn new(client: &Client, node_address: Option<IpAddr>) -> ServiceProxy {
        ServiceProxy {
            client: client.clone(),
            node_address,
            balancers: Arc::default(),
            load: Load::default(),
        }
    }

    /// Counts every connection (and every [`resolve`](ServiceProxyHandle::resolve))
    /// against the pod it goes to, so simulated containers' CPU can follow their load.
    #[must_use]
    pub fn with_load_meter(mut self, meter: keel_runtime::sim::LoadMeter) -> ServiceProxy {
        self.load.meter = Some(meter);
        self
    }

    /// Starts watching and serving.
    pub fn start(self) -> ServiceProxyHandle {
        let mut tasks = JoinSet::new();
        let balancers = self.balancers.clone();
        let load = self.load.clone();
        tasks.spawn(run(
            self.client,
            self.node_address,
            self.balancers,
            self.load,
        ));
        ServiceProxyHandle {
            tasks,
            balancers,
            load,
        }
    }
}

/// What the proxy knows: Services and the ready endpoints of each.
#[derive(Default)]
struct Known {
    services: BTreeMap<(String, String), Arc<Service>>,
    slices: BTreeMap<(String, String), Arc<EndpointSlice>>,
    listeners: HashMap<SocketAddr, (PortKey, AbortHandle)>,
}

fn affinity(svc: &Service) -> Option<Duration> {
    (svc.spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        svc.spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map_or(DEFAULT_AFFINITY_TIMEOUT, Duration::from_secs)
    })
}

/// Recomputes every balancer and the set of listeners from `known`.
fn reprogram(known: &mut Known, node: Option<IpAddr>, balancers: &Balancers, load: &Load) {
    let mut targets = HashMap::new();
    let mut wanted: HashMap<SocketAddr, PortKey> = HashMap::new();
    let mut live: Vec<PortKey> = Vec::new();
    for ((ns, name), svc) in &known.services {
        let cluster_ip = svc
            .spec
            .cluster_ip
            .as_deref()
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        for p in &svc.spec.ports {
            let port_name = p.name.clone().unwrap_or_default();
            let key = (ns.clone(), name.clone(), port_name.clone());
            let mut endpoints = Vec::new();
            for slice in known.slices.values() {
                if slice.metadata.namespace.as_deref() != Some(ns.as_str())
                    || slice.metadata.labels.get(SERVICE_NAME_LABEL) != Some(name)
                {
                    continue;
                }
                let Some(port) = slice
                    .ports
                    .iter()
                    .find(|sp| sp.name.clone().unwrap_or_default() == port_name)
                    .and_then(|sp| sp.port)
                    .and_then(|p| u16::try_from(p).ok())
                else {
                    continue;
                };
                for e in &slice.endpoints {
                    let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                    if !ready {
                        continue;
                    }
                    for a in &e.addresses {
                        if let Ok(ip) = a.parse::<IpAddr>() {
                            let addr = SocketAddr::new(ip, port);
                            endpoints.push(addr);
                            if let Some(r) = e
                                .target_ref
                                .as_ref()
                                .filter(|r| r.kind.as_deref() == Some("Pod"))
                            {
                                targets.insert(
                                    addr,
                                    (
                                        r.namespace.clone().unwrap_or_else(|| ns.clone()),
                                        r.name.clone().unwrap_or_default(),
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            {
                let mut b = lock(balancers);
                let bal = b.entry(key.clone()).or_default();
                bal.set_endpoints(endpoints);
                bal.set_affinity(affinity(svc));
            }
            live.push(key.clone());
            if let (Some(ip), Ok(port)) = (cluster_ip, u16::try_from(p.port)) {
                wanted.insert(SocketAddr::new(ip, port), key.clone());
            }
            if let (Some(ip), Some(np)) = (node, p.node_port.and_then(|n| u16::try_from(n).ok())) {
                wanted.insert(SocketAddr::new(ip, np), key.clone());
            }
        }
    }
    lock(balancers).retain(|k, _| live.contains(k));
    *lock(&load.targets) = targets;
    known.listeners.retain(|addr, (key, task)| {
        let keep = wanted.get(addr) == Some(key);
        if !keep {
            task.abort();
        }
        keep
    });
    for (addr, key) in wanted {
        if known.listeners.contains_key(&addr) {
            continue;
        }
        let task = tokio::spawn(listen(addr, key.clone(), balancers.clone(), load.clone()));
        known.listeners.insert(addr, (key, task.abort_handle()));
    }
}

async fn listen(addr: SocketAddr, key: PortKey, balancers: Balancers, load: Load) {
    // A listener being replaced may still hold the address for a moment: retry.
    let mut delay = Duration::from_millis(10);
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::warn!(%addr, service = ?key, error = %e, "the proxy cannot listen yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    };
    loop {
        let (inbound, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%addr, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let balancers = balancers.clone();
        let key = key.clone();
        let load = load.clone();
        tokio::spawn(async move {
            let mut refused = Vec::new();
            loop {
                let pick = lock(&balancers)
                    .get_mut(&key)
                    .and_then(|b| b.pick(Some(peer.ip()), &refused));
                let Some(endpoint) = pick else {
                    return;
                };
                match tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    tokio::net::TcpStream::connect(endpoint),
                )
                .await
                {
                    Ok(Ok(mut outbound)) => {
                        load.record(endpoint);
                        let mut inbound = inbound;
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                    Ok(Err(_)) | Err(_) => refused.push(endpoint),
                }
            }
        });
    }
}

async fn run(client: Client, node: Option<IpAddr>, balancers: Balancers, load: Load) {
    let services =
        watcher::watcher(Api::<Service>::all(&client), ListParams::default()).map(Either::Service);
    let slices = watcher::watcher(Api::<EndpointSlice>::all(&client), ListParams::default())
        .map(Either::Slice);
    let merged = futures::stream::select(services, slices);
    futures::pin_mut!(merged);
    let mut known = Known::default();
    while let Some(event) = merged.next().await {
        let key_of = |m: &keel_core::meta::ObjectMeta| {
            (
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default(),
            )
        };
        match event {
            Either::Service(Ok(Event::InitApply(s) | Event::Apply(s))) => {
                known.services.insert(key_of(&s.metadata), s);
            }
            Either::Service(Ok(Event::Delete(s))) => {
                known.services.remove(&key_of(&s.metadata));
            }
            Either::Slice(Ok(Event::InitApply(s) | Event::Apply(s))) => {
                known.slices.insert(key_of(&s.metadata), s);
            }
            Either::Slice(Ok(Event::Delete(s))) => {
                known.slices.remove(&key_of(&s.metadata));
            }
            Either::Service(Ok(_)) | Either::Slice(Ok(_)) => continue,
            Either::Service(Err(e)) | Either::Slice(Err(e)) => {
                tracing::warn!(error = %e, "proxy watch failed");
                continue;
            }
        }
        reprogram(&mut known, node, &balancers, &load);
    }
}

enum Either {
    Service(Result<Event<Service>, keel_core::Error>),
    Slice(Result<Event<EndpointSlice>, keel_core::Error>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn round_robin_skips_refusers_and_sticks_with_client_ip() {
        let mut b = Balancer::default();
        b.set_endpoints(vec![
            addr("10.0.0.2:80"),
            addr("10.0.0.1:80"),
            addr("10.0.0.3:80"),
        ]);
        let picks: Vec<SocketAddr> = (0..4).map(|_| b.pick(None, &[]).unwrap()).collect();
        assert_eq!(
            picks,
            [
                addr("10.0.0.1:80"),
                addr("10.0.0.2:80"),
                addr("10.0.0.3:80"),
                addr("10.0.0.1:80")
            ]
        );
        assert_eq!(
            b.pick(None, &[addr("10.0.0.2:80")]),
            Some(addr("10.0.0.3:80")),
            "skips the refuser"
        );
        let all = [
            addr("10.0.0.1:80"),
            addr("10.0.0.2:80"),
            addr("10.0.0.3:80"),
        ];
        assert_eq!(b.pick(None, &all), None);
        b.set_affinity(Some(Duration::from_secs(60)));
        let client: IpAddr = "192.168.1.9".parse().unwrap();
        let first = b.pick(Some(client), &[]).unwrap();
        for _ in 0..5 {
            assert_eq!(b.pick(Some(client), &[]), Some(first), "ClientIP affinity");
        }
        tokio::time::advance(Duration::from_secs(61)).await;
        b.pick(Some(client), &[]);
        b.set_endpoints(vec![addr("10.0.0.9:80")]);
        assert_eq!(
            b.pick(Some(client), &[]),
            Some(addr("10.0.0.9:80")),
            "a removed endpoint is forgotten"
        );
    }
}
