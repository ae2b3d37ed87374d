//! Container probes: what to check ([`ProbeAction`]), who checks ([`Prober`]), and the
//! per-container bookkeeping of startup, liveness and readiness ([`ProbeState`]) with
//! Kubernetes' timing fields and thresholds.

use std::sync::Arc;
use std::time::Duration;

use keel_core::api::{Container, Probe};
use keel_core::intstr::IntOrString;
use keel_runtime::ContainerRuntime;
use tokio::time::Instant;

/// One probe's check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    /// Run a command in the container; exit code 0 passes.
    Exec(Vec<String>),
    /// `GET` `path` on `host:port`; a status in 200–399 passes.
    Http {
        /// The address (the pod's IP unless the probe names a host).
        host: String,
        /// The port.
        port: u16,
        /// The path.
        path: String,
    },
    /// Open a TCP connection to `host:port`.
    Tcp {
        /// The address.
        host: String,
        /// The port.
        port: u16,
    },
}

/// Runs probes.
#[async_trait::async_trait]
pub trait Prober: Send + Sync + 'static {
    /// Whether the probe passes within `timeout`.
    async fn probe(&self, container_id: &str, action: &ProbeAction, timeout: Duration) -> bool;
}

/// Probes through the runtime only: every kind of probe is an exec in the container —
/// how the sim runtime answers probes (its behaviours decide pass or fail).
pub struct RuntimeProber {
    runtime: Arc<dyn ContainerRuntime>,
}

impl RuntimeProber {
    /// Probes through `runtime`.
    pub fn new(runtime: Arc<dyn ContainerRuntime>) -> RuntimeProber {
        RuntimeProber { runtime }
    }
}

impl std::fmt::Debug for RuntimeProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeProber").finish_non_exhaustive()
    }
}

async fn exec(
    runtime: &dyn ContainerRuntime,
    id: &str,
    command: &[String],
    timeout: Duration,
) -> bool {
    matches!(tokio::time::timeout(timeout, runtime.exec(id, command, timeout)).await, Ok(Ok(r)) if r.exit_code == 0)
}

#[async_trait::async_trait]
impl Prober for RuntimeProber {
    async fn probe(&self, container_id: &str, action: &ProbeAction, timeout: Duration) -> bool {
        let command = match action {
            ProbeAction::Exec(c) => c.clone(),
            ProbeAction::Http { port, path, .. } => {
                vec!["http-get".into(), port.to_string(), path.clone()]
            }
            ProbeAction::Tcp { port, .. } => vec!["tcp-connect".into(), port.to_string()],
        };
        exec(&*self.runtime, container_id, &command, timeout).await
    }
}

/// Probes over the network (real HTTP and TCP to the pod's address) and execs through
/// the runtime: the process runtime's prober.
pub struct NetworkProber {
    runtime: Arc<dyn ContainerRuntime>,
}

impl NetworkProber {
    /// Execs through `runtime`, the rest over TCP.
    pub fn new(runtime: Arc<dyn ContainerRuntime>) -> NetworkProber {
        NetworkProber { runtime }
    }
}

impl std::fmt::Debug for NetworkProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkProber").finish_non_exhaustive()
    }
}

async fn http_get(host: &str, port: u16, path: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect((host, port)).await else {
        return false;
    };
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/keel\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0_u8; 64];
    let Ok(n) = s.read(&mut head).await else {
        return false;
    };
    let line = String::from_utf8_lossy(&head[..n]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (200..400).contains(&code)
}

#[async_trait::async_trait]
impl Prober for NetworkProber {
    async fn probe(&self, container_id: &str, action: &ProbeAction, timeout: Duration) -> bool {
        match action {
            ProbeAction::Exec(c) => exec(&*self.runtime, container_id, c, timeout).await,
            ProbeAction::Http { host, port, path } => {
                tokio::time::timeout(timeout, http_get(host, *port, path))
                    .await
                    .unwrap_or(false)
            }
            ProbeAction::Tcp { host, port } => {
                matches!(
                    tokio::time::timeout(
                        timeout,
                        tokio::net::TcpStream::connect((host.as_str(), *port))
                    )
                    .await,
                    Ok(Ok(_))
                )
            }
        }
    }
}

fn resolve_port(port: &IntOrString, container: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => container
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

/// The check of `probe` for `container` of a pod at `pod_ip`.
pub fn action(probe: &Probe, container: &Container, pod_ip: &str) -> Option<ProbeAction> {
    if let Some(e) = &probe.exec {
        return Some(ProbeAction::Exec(e.command.clone()));
    }
    if let Some(h) = &probe.http_get {
        return Some(ProbeAction::Http {
            host: h.host.clone().unwrap_or_else(|| pod_ip.to_owned()),
            port: resolve_port(&h.port, container)?,
            path: h.path.clone().unwrap_or_else(|| "/".into()),
        });
    }
    if let Some(t) = &probe.tcp_socket {
        return Some(ProbeAction::Tcp {
            host: t.host.clone().unwrap_or_else(|| pod_ip.to_owned()),
            port: resolve_port(&t.port, container)?,
        });
    }
    None
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(v.unwrap_or(default).max(0)).unwrap_or(0))
}

/// The timing of one probe.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Before the first check, after the container started.
    pub initial_delay: Duration,
    /// Between checks (10 s).
    pub period: Duration,
    /// Per check (1 s).
    pub timeout: Duration,
    /// Consecutive passes to count as passing (1).
    pub success_threshold: u32,
    /// Consecutive failures to count as failing (3).
    pub failure_threshold: u32,
}

impl Timing {
    /// Kubernetes' defaults filled in.
    pub fn of(p: &Probe) -> Timing {
        Timing {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: u32::try_from(p.success_threshold.unwrap_or(1).max(1)).unwrap_or(1),
            failure_threshold: u32::try_from(p.failure_threshold.unwrap_or(3).max(1)).unwrap_or(3),
        }
    }
}

/// One probe's running tally.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// When it is next due.
    pub next: Option<Instant>,
    /// Consecutive passes.
    pub successes: u32,
    /// Consecutive failures.
    pub failures: u32,
}

impl Tally {
    /// Records one result.
    pub fn record(&mut self, passed: bool, now: Instant, timing: &Timing) {
        if passed {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        self.next = Some(now + timing.period);
    }

    /// Whether it is due now (the first check after the initial delay from `started`).
    pub fn due(&self, started: Instant, timing: &Timing, now: Instant) -> Option<Duration> {
        let at = self.next.unwrap_or(started + timing.initial_delay);
        at.checked_duration_since(now).filter(|d| !d.is_zero())
    }
}

/// The probes of one container instance.
#[derive(Clone, Debug, Default)]
pub struct ProbeState {
    /// The startup probe's tally.
    pub startup: Tally,
    /// Whether the startup probe passed (or there is none).
    pub started: bool,
    /// The liveness probe's tally.
    pub liveness: Tally,
    /// The readiness probe's tally.
    pub readiness: Tally,
    /// Whether the container counts as ready.
    pub ready: bool,
    /// Set when a failed startup or liveness probe had the container killed: no probe
    /// runs on this instance before then (Kubernetes' prober worker `onHold`), so a slow
    /// graceful stop is not killed again and again; a container still running after
    /// its grace period is probed — and killed — again.
    pub on_hold_until: Option<Instant>,
}
