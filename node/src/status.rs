//! Turning what the runtime reports into a pod's status (kubelet's `generateAPIPodStatus`):
//! phase, conditions, IPs and container statuses.

use keel_core::Clock;
use keel_core::api::{
    ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as ApiStatus, PodCondition,
};
use keel_core::meta::Time;
use keel_runtime::ContainerState;
use tokio::time::Instant;

/// The wall time of tokio instant `at`, by `clock`.
pub fn wall(clock: &Clock, at: Instant) -> Time {
    let ago = Instant::now().saturating_duration_since(at);
    let now = clock.now();
    Time(now.0 - chrono::Duration::from_std(ago).unwrap_or_default())
}

/// A container as the agent sees it for the status.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The container's name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// The runtime's id of the current instance.
    pub id: Option<String>,
    /// The current instance's state (`None`: not created yet).
    pub state: Option<ContainerState>,
    /// The previous instance's final state.
    pub last: Option<ContainerState>,
    /// Why it waits, when it does (`ContainerCreating`, `CrashLoopBackOff`, `ErrImagePull`, …).
    pub waiting: Option<(String, String)>,
    /// Restarts so far.
    pub restarts: u32,
    /// Whether its probes count it ready (`None`: ready whenever it runs).
    pub ready: Option<bool>,
}

fn api_state(clock: &Clock, s: &ContainerState, id: Option<&str>) -> ApiState {
    match s {
        ContainerState::Created => ApiState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ContainerCreating".into()),
                message: None,
            }),
            ..ApiState::default()
        },
        ContainerState::Running { started_at } => ApiState {
            running: Some(ContainerStateRunning {
                started_at: Some(wall(clock, *started_at)),
            }),
            ..ApiState::default()
        },
        ContainerState::Exited {
            started_at,
            finished_at,
            exit_code,
            reason,
        } => ApiState {
            terminated: Some(ContainerStateTerminated {
                exit_code: *exit_code,
                reason: Some(reason.clone()),
                started_at: started_at.map(|t| wall(clock, t)),
                finished_at: Some(wall(clock, *finished_at)),
                container_id: id.map(|i| format!("keel://{i}")),
                ..ContainerStateTerminated::default()
            }),
            ..ApiState::default()
        },
    }
}

/// The API form of one observed container.
pub fn container_status(clock: &Clock, o: &Observed) -> ApiStatus {
    let state = match (&o.waiting, &o.state) {
        (Some((reason, message)), _) => ApiState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.clone()),
                message: Some(message.clone()).filter(|m| !m.is_empty()),
            }),
            ..ApiState::default()
        },
        (None, Some(s)) => api_state(clock, s, o.id.as_deref()),
        (None, None) => ApiState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ContainerCreating".into()),
                message: None,
            }),
            ..ApiState::default()
        },
    };
    let running = o.waiting.is_none() && o.state.as_ref().is_some_and(ContainerState::is_running);
    ApiStatus {
        name: o.name.clone(),
        state: Some(state),
        last_state: o.last.as_ref().map(|l| api_state(clock, l, None)),
        ready: running && o.ready != Some(false),
        restart_count: i32::try_from(o.restarts).unwrap_or(i32::MAX),
        image: o.image.clone(),
        image_id: o.image.clone(),
        container_id: o.id.as_ref().map(|i| format!("keel://{i}")),
        started: Some(running),
        ..ApiStatus::default()
    }
}

/// The pod phase from its containers (kubelet's `getPhase`).
pub fn phase(
    init_done: bool,
    init_failed: bool,
    containers: &[Observed],
    restart_policy: &str,
) -> &'static str {
    if init_failed {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let (mut waiting, mut running, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in containers {
        match (&c.waiting, &c.state) {
            (None, Some(ContainerState::Running { .. })) => running += 1,
            (None, Some(ContainerState::Exited { exit_code, .. })) => {
                stopped += 1;
                if *exit_code == 0 {
                    succeeded += 1;
                }
            }
            _ if c.last.is_some() => stopped += 1,
            _ => waiting += 1,
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        return match restart_policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        };
    }
    "Pending"
}

/// A condition with `status`, keeping its transition time if it did not change.
pub fn condition(previous: &[PodCondition], type_: &str, status: bool, now: &Time) -> PodCondition {
    let status = if status { "True" } else { "False" };
    let before = previous.iter().find(|c| c.type_ == type_);
    let transition = match before {
        Some(b) if b.status == status => b.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    PodCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        last_transition_time: transition,
        ..PodCondition::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> Observed {
        Observed {
            state: Some(ContainerState::Exited {
                started_at: None,
                finished_at: Instant::now(),
                exit_code: code,
                reason: String::new(),
            }),
            ..Observed::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn phases_follow_kubelet() {
        let running = Observed {
            state: Some(ContainerState::Running {
                started_at: Instant::now(),
            }),
            ..Observed::default()
        };
        assert_eq!(phase(false, false, &[], "Always"), "Pending");
        assert_eq!(phase(true, true, &[], "Never"), "Failed");
        assert_eq!(
            phase(true, false, &[Observed::default()], "Always"),
            "Pending"
        );
        assert_eq!(
            phase(true, false, &[running.clone(), exited(0)], "Never"),
            "Running"
        );
        assert_eq!(
            phase(true, false, &[exited(0), exited(0)], "Never"),
            "Succeeded"
        );
        assert_eq!(
            phase(true, false, &[exited(0), exited(1)], "Never"),
            "Failed"
        );
        assert_eq!(phase(true, false, &[exited(1)], "OnFailure"), "Running");
        assert_eq!(phase(true, false, &[exited(0)], "OnFailure"), "Succeeded");
        assert_eq!(phase(true, false, &[exited(0)], "Always"), "Running");
    }
}
