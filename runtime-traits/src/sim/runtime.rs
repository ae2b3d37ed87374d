//! [`SimRuntime`]: an in-memory, deterministic container runtime in `tokio` time.
//! Containers follow a [`Behavior`] chosen by image or by command; failures are
//! injected with [`SimRuntime::crash`], [`SimRuntime::fail_pulls`] and
//! [`SimRuntime::set_exec_result`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::stream::BoxStream;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::container::{
    ContainerConfig, ContainerEvent, ContainerEventKind, ContainerFilter, ContainerRuntime,
    ContainerState, ContainerStatus, ExecResult, ImageInfo, SandboxConfig, SandboxState,
    SandboxStatus,
};
use crate::error::RuntimeError;
use crate::metrics::{MetricsSource, Usage};

/// The exit code of a container killed after its grace period (128 + SIGKILL).
pub const KILLED_EXIT_CODE: i32 = 137;
/// The size of an image whose behaviour does not say (10 MiB).
pub const DEFAULT_IMAGE_SIZE: i64 = 10 * 1024 * 1024;

/// How a simulated container behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    /// Exits by itself after this long, with this code (`None`: runs until stopped).
    pub exit_after: Option<(Duration, i32)>,
    /// How long `start_container` takes.
    pub startup_latency: Duration,
    /// How long it takes to exit after SIGTERM (`None`: ignores it, so it is killed
    /// when the grace period ends).
    pub term_delay: Option<Duration>,
    /// Its exit code after SIGTERM.
    pub term_exit_code: i32,
    /// The exit code of every exec in it (exec probes): 0 passes.
    pub exec_exit_code: i32,
    /// CPU it uses while running, in millicores.
    pub cpu_milli: i64,
    /// Memory it uses while running, in bytes.
    pub memory_bytes: i64,
    /// The size of its image.
    pub image_size: i64,
    /// Extra CPU per request a second its pod receives (see [`LoadMeter`](super::LoadMeter)).
    pub cpu_milli_per_rps: i64,
}

impl Default for Behavior {
    /// Runs until stopped, starts at once, exits 0 at once on SIGTERM, passes probes.
    fn default() -> Self {
        Behavior {
            exit_after: None,
            startup_latency: Duration::ZERO,
            term_delay: Some(Duration::ZERO),
            term_exit_code: 0,
            exec_exit_code: 0,
            cpu_milli: 0,
            memory_bytes: 0,
            image_size: DEFAULT_IMAGE_SIZE,
            cpu_milli_per_rps: 0,
        }
    }
}

impl Behavior {
    /// Runs until stopped.
    pub fn run_forever() -> Behavior {
        Behavior::default()
    }

    /// Exits with `code` after `after` (0: completes, like a batch job).
    pub fn exit_after(after: Duration, code: i32) -> Behavior {
        Behavior {
            exit_after: Some((after, code)),
            ..Behavior::default()
        }
    }

    /// Crashes (exit code 1) after `after`.
    pub fn crash_after(after: Duration) -> Behavior {
        Behavior::exit_after(after, 1)
    }

    /// Every exec probe in it fails.
    #[must_use]
    pub fn failing_probes(mut self) -> Behavior {
        self.exec_exit_code = 1;
        self
    }

    /// Ignores SIGTERM (it is killed when the grace period ends).
    #[must_use]
    pub fn ignoring_sigterm(mut self) -> Behavior {
        self.term_delay = None;
        self
    }

    /// Takes `latency` to start.
    #[must_use]
    pub fn starting_in(mut self, latency: Duration) -> Behavior {
        self.startup_latency = latency;
        self
    }

    /// Uses `per_rps` more millicores for each request a second its pod receives.
    #[must_use]
    pub fn load_proportional(mut self, per_rps: i64) -> Behavior {
        self.cpu_milli_per_rps = per_rps;
        self
    }

    /// Uses `cpu_milli` and `memory_bytes` while running.
    #[must_use]
    pub fn using(mut self, cpu_milli: i64, memory_bytes: i64) -> Behavior {
        self.cpu_milli = cpu_milli;
        self.memory_bytes = memory_bytes;
        self
    }
}

#[derive(Debug)]
struct Container {
    status: ContainerStatus,
    config: ContainerConfig,
    behavior: Behavior,
    logs: String,
    exec_override: Option<i32>,
    exit_task: Option<AbortHandle>,
}

#[derive(Debug, Default)]
struct State {
    image_behaviors: HashMap<String, Behavior>,
    command_behaviors: HashMap<String, Behavior>,
    failing_pulls: HashSet<String>,
    images: BTreeMap<String, i64>,
    sandboxes: crate::support::Sandboxes,
    containers: BTreeMap<String, Container>,
    next_id: u64,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    events: crate::support::EventHub,
    load: Mutex<Option<super::LoadMeter>>,
}

/// The simulated runtime of one node. Cloning shares it.
#[derive(Clone, Debug)]
pub struct SimRuntime {
    inner: Arc<Inner>,
}

impl Default for SimRuntime {
    fn default() -> Self {
        SimRuntime::new()
    }
}

impl SimRuntime {
    /// An empty runtime where every container runs until stopped.
    pub fn new() -> SimRuntime {
        SimRuntime {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                events: crate::support::EventHub::default(),
                load: Mutex::new(None),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, container_id: &str, sandbox_id: &str, kind: ContainerEventKind) {
        self.inner.events.emit(container_id, sandbox_id, kind);
    }

    /// Containers of `image` behave like `behavior`.
    pub fn set_image_behavior(&self, image: &str, behavior: Behavior) {
        self.lock()
            .image_behaviors
            .insert(image.to_owned(), behavior);
    }

    /// Containers whose command starts with `command` behave like `behavior` (this wins
    /// over the image's behaviour).
    pub fn set_command_behavior(&self, command: &str, behavior: Behavior) {
        self.lock()
            .command_behaviors
            .insert(command.to_owned(), behavior);
    }

    /// Containers with a load-proportional behaviour read their pod's load from `meter`
    /// (share it with the proxy that sends the load).
    pub fn set_load_meter(&self, meter: super::LoadMeter) {
        *self
            .inner
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(meter);
    }

    /// Pulls of `image` fail from now on.
    pub fn fail_pulls(&self, image: &str) {
        self.lock().failing_pulls.insert(image.to_owned());
    }

    /// Pulls of `image` succeed again.
    pub fn allow_pulls(&self, image: &str) {
        self.lock().failing_pulls.remove(image);
    }

    /// Execs in container `id` exit with `code` from now on (`None`: its behaviour's).
    pub fn set_exec_result(&self, id: &str, code: Option<i32>) {
        if let Some(c) = self.lock().containers.get_mut(id) {
            c.exec_override = code;
        }
    }

    /// Appends a line to container `id`'s log.
    pub fn write_log(&self, id: &str, line: &str) {
        if let Some(c) = self.lock().containers.get_mut(id) {
            c.logs.push_str(line);
            c.logs.push('\n');
        }
    }

    /// What container `id` was created from (its command, environment, mounts).
    pub fn container_config(&self, id: &str) -> Option<ContainerConfig> {
        self.lock().containers.get(id).map(|c| c.config.clone())
    }

    /// Makes running container `id` exit now with `code` (a crash, an OOM kill, …).
    pub fn crash(&self, id: &str, code: i32) {
        self.exit(id, code);
    }

    fn exit(&self, id: &str, code: i32) {
        let mut st = self.lock();
        let Some(c) = st.containers.get_mut(id) else {
            return;
        };
        let ContainerState::Running { started_at } = c.status.state else {
            return;
        };
        if let Some(t) = c.exit_task.take() {
            t.abort();
        }
        c.status.state = ContainerState::Exited {
            started_at: Some(started_at),
            finished_at: Instant::now(),
            exit_code: code,
            reason: if code == 0 {
                "Completed".into()
            } else {
                "Error".into()
            },
        };
        let _ = writeln!(c.logs, "{} exited with code {code}", c.status.name);
        let sandbox = c.status.sandbox_id.clone();
        drop(st);
        self.emit(id, &sandbox, ContainerEventKind::Exited(code));
    }

    fn container<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Container) -> T,
    ) -> Result<T, RuntimeError> {
        let mut st = self.lock();
        st.containers
            .get_mut(id)
            .map(f)
            .ok_or_else(|| RuntimeError::not_found("container", id))
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for SimRuntime {
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        Ok(self.lock().sandboxes.create(config))
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        let running: Vec<String> = {
            let mut st = self.lock();
            st.sandboxes.stop(id)?;
            st.containers
                .iter()
                .filter(|(_, c)| c.status.sandbox_id == id && c.status.state.is_running())
                .map(|(k, _)| k.clone())
                .collect()
        };
        for c in running {
            self.exit(&c, KILLED_EXIT_CODE);
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        self.stop_pod_sandbox(id).await?;
        let removed: Vec<String> = {
            let mut st = self.lock();
            st.sandboxes.remove(id);
            let ids: Vec<String> = st
                .containers
                .iter()
                .filter(|(_, c)| c.status.sandbox_id == id)
                .map(|(k, _)| k.clone())
                .collect();
            for c in &ids {
                st.containers.remove(c);
            }
            ids
        };
        for c in removed {
            self.emit(&c, id, ContainerEventKind::Removed);
        }
        Ok(())
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        Ok(self.lock().sandboxes.list())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
    ) -> Result<String, RuntimeError> {
        let id = {
            let mut st = self.lock();
            st.sandboxes.require_ready(sandbox_id)?;
            if !st.images.contains_key(&config.image) {
                return Err(RuntimeError::not_found("image", &config.image));
            }
            let behavior = config
                .command
                .first()
                .and_then(|c| st.command_behaviors.get(c))
                .or_else(|| st.image_behaviors.get(&config.image))
                .cloned()
                .unwrap_or_default();
            st.next_id += 1;
            let id = format!("container-{}", st.next_id);
            st.containers.insert(
                id.clone(),
                Container {
                    status: ContainerStatus {
                        id: id.clone(),
                        sandbox_id: sandbox_id.to_owned(),
                        name: config.name.clone(),
                        image: config.image.clone(),
                        attempt: config.attempt,
                        state: ContainerState::Created,
                    },
                    behavior,
                    config: config.clone(),
                    logs: String::new(),
                    exec_override: None,
                    exit_task: None,
                },
            );
            id
        };
        self.emit(&id, sandbox_id, ContainerEventKind::Created);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let (latency, state) =
            self.container(id, |c| (c.behavior.startup_latency, c.status.state.clone()))?;
        if state != ContainerState::Created {
            return Err(RuntimeError::InvalidState(format!(
                "container {id} was already started"
            )));
        }
        tokio::time::sleep(latency).await;
        let (sandbox, exit) = self.container(id, |c| {
            c.status.state = ContainerState::Running {
                started_at: Instant::now(),
            };
            let _ = writeln!(c.logs, "{} started", c.status.name);
            (c.status.sandbox_id.clone(), c.behavior.exit_after)
        })?;
        if let Some((after, code)) = exit {
            let me = self.clone();
            let task_id = id.to_owned();
            let task = tokio::spawn(async move {
                tokio::time::sleep(after).await;
                me.exit(&task_id, code);
            });
            self.container(id, |c| c.exit_task = Some(task.abort_handle()))?;
        }
        self.emit(id, &sandbox, ContainerEventKind::Started);
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        let (running, term_delay, term_code) = self.container(id, |c| {
            (
                c.status.state.is_running(),
                c.behavior.term_delay,
                c.behavior.term_exit_code,
            )
        })?;
        if !running {
            return Ok(());
        }
        match term_delay {
            Some(d) if d <= grace => {
                tokio::time::sleep(d).await;
                self.exit(id, term_code);
            }
            _ => {
                tokio::time::sleep(grace).await;
                self.exit(id, KILLED_EXIT_CODE);
            }
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let sandbox = {
            let mut st = self.lock();
            let c = st
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            if c.status.state.is_running() {
                return Err(RuntimeError::InvalidState(format!(
                    "container {id} is running"
                )));
            }
            let sandbox = c.status.sandbox_id.clone();
            st.containers.remove(id);
            sandbox
        };
        self.emit(id, &sandbox, ContainerEventKind::Removed);
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        self.container(id, |c| c.status.clone())
    }

    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, RuntimeError> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|c| crate::support::selects(filter, &c.status))
            .map(|c| c.status.clone())
            .collect())
    }

    fn events(&self) -> BoxStream<'static, ContainerEvent> {
        self.inner.events.stream()
    }

    async fn logs(&self, id: &str) -> Result<String, RuntimeError> {
        self.container(id, |c| c.logs.clone())
    }

    async fn exec(
        &self,
        id: &str,
        command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        let (running, code) = self.container(id, |c| {
            (
                c.status.state.is_running(),
                c.exec_override.unwrap_or(c.behavior.exec_exit_code),
            )
        })?;
        if !running {
            return Err(RuntimeError::InvalidState(format!(
                "container {id} is not running"
            )));
        }
        Ok(ExecResult {
            exit_code: code,
            stdout: command.join(" "),
            stderr: String::new(),
        })
    }

    async fn pull_image(&self, image: &str) -> Result<ImageInfo, RuntimeError> {
        let mut st = self.lock();
        if st.failing_pulls.contains(image) {
            return Err(RuntimeError::ImagePull {
                image: image.to_owned(),
                reason: "injected pull failure".into(),
            });
        }
        let size = st
            .image_behaviors
            .get(image)
            .map_or(DEFAULT_IMAGE_SIZE, |b| b.image_size);
        st.images.insert(image.to_owned(), size);
        Ok(ImageInfo {
            name: image.to_owned(),
            size_bytes: size,
        })
    }

    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError> {
        Ok(crate::support::image_list(&self.lock().images))
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn load_cpu(per_rps: i64, rate: f64) -> i64 {
    (per_rps as f64 * rate).round() as i64
}

#[async_trait::async_trait]
impl MetricsSource for SimRuntime {
    async fn pod_usage(&self, namespace: &str, name: &str) -> Result<Option<Usage>, RuntimeError> {
        let st = self.lock();
        let sandboxes: Vec<&String> = st
            .sandboxes
            .iter()
            .filter(|s| {
                s.state == SandboxState::Ready
                    && s.config.namespace == namespace
                    && s.config.name == name
            })
            .map(|s| &s.id)
            .collect();
        if sandboxes.is_empty() {
            return Ok(None);
        }
        let rate = self
            .inner
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0.0, |m| m.rate(namespace, name));
        let mut u = Usage::default();
        for c in st
            .containers
            .values()
            .filter(|c| c.status.state.is_running() && sandboxes.contains(&&c.status.sandbox_id))
        {
            u.cpu_milli += c.behavior.cpu_milli + load_cpu(c.behavior.cpu_milli_per_rps, rate);
            u.memory_bytes += c.behavior.memory_bytes;
        }
        Ok(Some(u))
    }

    async fn node_usage(&self, _node: &str) -> Result<Option<Usage>, RuntimeError> {
        let st = self.lock();
        let mut u = Usage::default();
        for c in st
            .containers
            .values()
            .filter(|c| c.status.state.is_running())
        {
            u.cpu_milli += c.behavior.cpu_milli;
            u.memory_bytes += c.behavior.memory_bytes;
        }
        Ok(Some(u))
    }
}
