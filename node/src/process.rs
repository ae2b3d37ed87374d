//! [`ProcessRuntime`]: a real [`ContainerRuntime`] that runs each container as an OS
//! process — its own process group, stdout and stderr captured as logs, exit codes
//! reported, SIGTERM then SIGKILL after the grace period, and no process left behind
//! when the runtime is dropped.
//!
//! **Images.** An image names an executable through the [`ImageTable`]: the image's
//! program plays the role of its `ENTRYPOINT`. A container's `command` replaces it
//! (`command[0]` is looked up on `PATH`), and `args` are passed after it — the same
//! rules as Kubernetes' `command` / `args` over an image's `ENTRYPOINT` / `CMD`. Pulling
//! an image that is not in the table fails like a pull from a registry that lacks it.
//!
//! **Volumes.** A process sees each mount as the directory in `$KEEL_VOLUME_<NAME>`
//! (see [`volume_env`]); it cannot be moved to the mount path.
//!
//! **Addresses.** Processes share the host's network; give each pod its own loopback
//! address with [`loopback_network`] (Linux routes all of `127.0.0.0/8` to `lo`), and
//! programs bind `$POD_IP`. IPv6 has a single loopback address, so pods get IPv4 only.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::stream::BoxStream;
use keel_runtime::sim::{Cidr, SimNetwork};
use keel_runtime::{
    ContainerConfig, ContainerEvent, ContainerEventKind, ContainerFilter, ContainerRuntime,
    ContainerState, ContainerStatus, ExecResult, ImageInfo, RuntimeError, SandboxConfig,
    SandboxStatus,
};
use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

/// Image names and the executables that stand for them.
#[derive(Clone, Debug, Default)]
pub struct ImageTable {
    images: BTreeMap<String, PathBuf>,
}

impl ImageTable {
    /// An empty table.
    pub fn new() -> ImageTable {
        ImageTable::default()
    }

    /// `image` runs `program`.
    #[must_use]
    pub fn with(mut self, image: &str, program: impl Into<PathBuf>) -> ImageTable {
        self.images.insert(image.to_owned(), program.into());
        self
    }
}

/// A network plug-in giving each pod its own address in `cidr` (a loopback range such
/// as `127.1.0.0/16`).
pub fn loopback_network(cidr: &str) -> Result<SimNetwork, RuntimeError> {
    let c: Cidr = cidr.parse()?;
    Ok(SimNetwork::new(&[c]))
}

#[derive(Debug)]
struct Proc {
    status: ContainerStatus,
    config: ContainerConfig,
    pgid: Option<i32>,
    logs: Arc<Mutex<String>>,
}

#[derive(Debug, Default)]
struct State {
    sandboxes: keel_runtime::support::Sandboxes,
    containers: BTreeMap<String, Proc>,
    pulled: BTreeMap<String, i64>,
    next_id: u64,
}

#[derive(Debug)]
struct Inner {
    images: ImageTable,
    state: Mutex<State>,
    events: keel_runtime::support::EventHub,
    exits: Mutex<HashMap<String, tokio::sync::watch::Receiver<bool>>>,
}

impl Drop for Inner {
    /// No orphans: every process group still running is killed.
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for p in st.containers.values() {
            // Exited containers' groups were killed by their waiter; their ids may
            // since belong to someone else.
            if let Some(pgid) = p.pgid
                && p.status.state.is_running()
                && let Some(pid) = Pid::from_raw(pgid)
            {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
        }
    }
}

/// The process runtime. Cloning shares it; when the last clone goes, its processes go.
#[derive(Clone, Debug)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

impl ProcessRuntime {
    /// A runtime whose images are `images`.
    pub fn new(images: ImageTable) -> ProcessRuntime {
        ProcessRuntime {
            inner: Arc::new(Inner {
                images,
                state: Mutex::new(State::default()),
                events: keel_runtime::support::EventHub::default(),
                exits: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, id: &str, sandbox: &str, kind: ContainerEventKind) {
        self.inner.events.emit(id, sandbox, kind);
    }

    fn signal(pgid: Option<i32>, signal: Signal) {
        if let Some(pid) = pgid.and_then(Pid::from_raw) {
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }

    async fn wait_exit(&self, id: &str, within: Duration) -> bool {
        let rx = crate::process::lock_map(&self.inner.exits).get(id).cloned();
        let Some(mut rx) = rx else {
            return true;
        };
        tokio::time::timeout(within, rx.wait_for(|done| *done))
            .await
            .is_ok()
    }
}

fn lock_map<K, V>(m: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The variable through which a process finds a mounted volume: processes share the
/// host's filesystem, so a mount is a directory named by `KEEL_VOLUME_<NAME>` (the
/// volume's name upper-cased, `-` as `_`), not a path inside the container.
pub fn volume_env(name: &str) -> String {
    format!(
        "KEEL_VOLUME_{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

#[async_trait::async_trait]
impl ContainerRuntime for ProcessRuntime {
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        Ok(self.lock().sandboxes.create(config))
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        let running: Vec<String> = {
            let mut st = self.lock();
            st.sandboxes.stop(id)?;
            st.containers
                .iter()
                .filter(|(_, p)| p.status.sandbox_id == id && p.status.state.is_running())
                .map(|(k, _)| k.clone())
                .collect()
        };
        for c in running {
            self.stop_container(&c, Duration::ZERO).await?;
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
                .filter(|(_, p)| p.status.sandbox_id == id)
                .map(|(k, _)| k.clone())
                .collect();
            for c in &ids {
                st.containers.remove(c);
            }
            ids
        };
        for c in removed {
            lock_map(&self.inner.exits).remove(&c);
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
            if !st.pulled.contains_key(&config.image) {
                return Err(RuntimeError::not_found("image", &config.image));
            }
            st.next_id += 1;
            let id = format!("process-{}", st.next_id);
            st.containers.insert(
                id.clone(),
                Proc {
                    status: ContainerStatus {
                        id: id.clone(),
                        sandbox_id: sandbox_id.to_owned(),
                        name: config.name.clone(),
                        image: config.image.clone(),
                        attempt: config.attempt,
                        state: ContainerState::Created,
                    },
                    config: config.clone(),
                    pgid: None,
                    logs: Arc::new(Mutex::new(String::new())),
                },
            );
            id
        };
        self.emit(&id, sandbox_id, ContainerEventKind::Created);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let (config, sandbox, logs) = {
            let st = self.lock();
            let p = st
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            if p.status.state != ContainerState::Created {
                return Err(RuntimeError::InvalidState(format!(
                    "container {id} was already started"
                )));
            }
            (
                p.config.clone(),
                p.status.sandbox_id.clone(),
                p.logs.clone(),
            )
        };
        let (program, mut argv) = match config.command.split_first() {
            Some((first, rest)) => (PathBuf::from(first), rest.to_vec()),
            None => (
                self.inner
                    .images
                    .images
                    .get(&config.image)
                    .cloned()
                    .ok_or_else(|| RuntimeError::not_found("image", &config.image))?,
                Vec::new(),
            ),
        };
        argv.extend(config.args.iter().cloned());
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&argv)
            .env_clear()
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            )
            .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(
                config
                    .mounts
                    .iter()
                    .map(|m| (volume_env(&m.name), m.host_path.as_str())),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &config.working_dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| RuntimeError::Other(format!("starting {}: {e}", program.display())))?;
        let pgid = child.id().and_then(|p| i32::try_from(p).ok());
        for pipe in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut l = logs.lock().unwrap_or_else(PoisonError::into_inner);
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let started_at = Instant::now();
        // The exit signal exists before anyone can see the container running.
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        lock_map(&self.inner.exits).insert(id.to_owned(), done_rx);
        {
            let mut st = self.lock();
            if let Some(p) = st.containers.get_mut(id) {
                p.pgid = pgid;
                p.status.state = ContainerState::Running { started_at };
            }
        }
        // The waiter holds the runtime weakly, so dropping the runtime (and killing
        // its processes) is not held up by the processes it would kill.
        let weak = Arc::downgrade(&self.inner);
        let cid = id.to_owned();
        let sb = sandbox.clone();
        tokio::spawn(async move {
            let code = child.wait().await.map_or(-1, exit_code);
            // Whatever the leader left behind in its group goes with it.
            ProcessRuntime::signal(pgid, Signal::KILL);
            let Some(inner) = weak.upgrade() else {
                let _ = done_tx.send(true);
                return;
            };
            let me = ProcessRuntime { inner };
            {
                let mut st = me.lock();
                if let Some(p) = st.containers.get_mut(&cid) {
                    p.status.state = ContainerState::Exited {
                        started_at: Some(started_at),
                        finished_at: Instant::now(),
                        exit_code: code,
                        reason: if code == 0 {
                            "Completed".into()
                        } else {
                            "Error".into()
                        },
                    };
                }
            }
            let _ = done_tx.send(true);
            me.emit(&cid, &sb, ContainerEventKind::Exited(code));
        });
        self.emit(id, &sandbox, ContainerEventKind::Started);
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        let (pgid, running) = {
            let st = self.lock();
            let p = st
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            (p.pgid, p.status.state.is_running())
        };
        if !running {
            return Ok(());
        }
        ProcessRuntime::signal(pgid, Signal::TERM);
        if !self.wait_exit(id, grace).await {
            ProcessRuntime::signal(pgid, Signal::KILL);
            self.wait_exit(id, Duration::from_secs(10)).await;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let sandbox = {
            let mut st = self.lock();
            let p = st
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            if p.status.state.is_running() {
                return Err(RuntimeError::InvalidState(format!(
                    "container {id} is running"
                )));
            }
            let sb = p.status.sandbox_id.clone();
            st.containers.remove(id);
            sb
        };
        lock_map(&self.inner.exits).remove(id);
        self.emit(id, &sandbox, ContainerEventKind::Removed);
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        self.lock()
            .containers
            .get(id)
            .map(|p| p.status.clone())
            .ok_or_else(|| RuntimeError::not_found("container", id))
    }

    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, RuntimeError> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|p| keel_runtime::support::selects(filter, &p.status))
            .map(|p| p.status.clone())
            .collect())
    }

    fn events(&self) -> BoxStream<'static, ContainerEvent> {
        self.inner.events.stream()
    }

    async fn logs(&self, id: &str) -> Result<String, RuntimeError> {
        let logs = self
            .lock()
            .containers
            .get(id)
            .map(|p| p.logs.clone())
            .ok_or_else(|| RuntimeError::not_found("container", id))?;
        let text = logs.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(text)
    }

    async fn exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        let env = {
            let st = self.lock();
            let p = st
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            if !p.status.state.is_running() {
                return Err(RuntimeError::InvalidState(format!(
                    "container {id} is not running"
                )));
            }
            p.config.env.clone()
        };
        let Some((program, args)) = command.split_first() else {
            return Err(RuntimeError::Other("exec: empty command".into()));
        };
        let run = tokio::process::Command::new(program)
            .args(args)
            .envs(env)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(timeout, run).await {
            Err(_) => Err(RuntimeError::Timeout(format!("exec {program} in {id}"))),
            Ok(Err(e)) => Err(RuntimeError::Other(format!("exec {program}: {e}"))),
            Ok(Ok(out)) => Ok(ExecResult {
                exit_code: exit_code(out.status),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    async fn pull_image(&self, image: &str) -> Result<ImageInfo, RuntimeError> {
        let Some(program) = self.inner.images.images.get(image).cloned() else {
            // Containers that name their own command only need the image to be known;
            // unknown images fail like a registry without them.
            return Err(RuntimeError::ImagePull {
                image: image.to_owned(),
                reason: "not in the image table".into(),
            });
        };
        let size =
            std::fs::metadata(&program).map_or(0, |m| i64::try_from(m.len()).unwrap_or(i64::MAX));
        self.lock().pulled.insert(image.to_owned(), size);
        Ok(ImageInfo {
            name: image.to_owned(),
            size_bytes: size,
        })
    }

    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError> {
        Ok(keel_runtime::support::image_list(&self.lock().pulled))
    }
}
