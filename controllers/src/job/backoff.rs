//! The delay before a Job replaces failed pods: Kubernetes' pod-failure backoff. Each
//! failure since the last success doubles the delay, starting at
//! [`POD_FAILURE_BACKOFF`] and capped at [`MAX_POD_FAILURE_BACKOFF`], counted from the
//! moment the last failed pod finished.

use std::time::Duration;

use keel_core::api::Pod;
use keel_core::meta::Time;

/// The delay after the first failure (Kubernetes' `DefaultJobPodFailureBackOff`).
pub const POD_FAILURE_BACKOFF: Duration = Duration::from_secs(10);

/// The longest delay: six minutes, as Kubernetes documents it ("capped at six
/// minutes"; the current kube-controller-manager source uses ten).
pub const MAX_POD_FAILURE_BACKOFF: Duration = Duration::from_secs(6 * 60);

/// Failures since the last success and when the last of them happened (Kubernetes'
/// `backoffRecord`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    /// Pod failures after the last pod success.
    pub failures_after_last_success: u32,
    /// When the last counted failure happened.
    pub last_failure: Option<Time>,
}

impl BackoffRecord {
    /// The record after newly finished pods, given their finish times.
    #[must_use]
    pub fn after(&self, mut succeeded: Vec<Time>, mut failed: Vec<Time>) -> BackoffRecord {
        succeeded.sort();
        failed.sort();
        let Some(last_success) = succeeded.last() else {
            let Some(last) = failed.last() else {
                return self.clone();
            };
            return BackoffRecord {
                failures_after_last_success: self.failures_after_last_success
                    + u32::try_from(failed.len()).unwrap_or(u32::MAX),
                last_failure: Some(last.clone()),
            };
        };
        let later: Vec<&Time> = failed.iter().filter(|t| *t > last_success).collect();
        BackoffRecord {
            failures_after_last_success: u32::try_from(later.len()).unwrap_or(u32::MAX),
            last_failure: later.last().map(|t| (*t).clone()),
        }
    }

    /// How long pod creation must still wait at `now`.
    pub fn remaining(&self, now: &Time) -> Duration {
        let Some(last) = &self.last_failure else {
            return Duration::ZERO;
        };
        if self.failures_after_last_success == 0 {
            return Duration::ZERO;
        }
        let mut delay = POD_FAILURE_BACKOFF;
        for _ in 1..self.failures_after_last_success {
            delay = delay.saturating_mul(2);
            if delay >= MAX_POD_FAILURE_BACKOFF {
                delay = MAX_POD_FAILURE_BACKOFF;
                break;
            }
        }
        delay.saturating_sub(now.duration_since(last))
    }
}

/// When a pod finished: the last container's `finishedAt` when every container has
/// terminated, else when it became not Ready, else its deletion time less the grace
/// period, else its creation (Kubernetes' `getFinishedTime`).
pub fn finished_time(pod: &Pod) -> Time {
    let status = pod.status.as_ref();
    let containers = status.map_or(&[][..], |s| s.container_statuses.as_slice());
    let finished: Option<Vec<&Time>> = containers
        .iter()
        .map(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.finished_at.as_ref())
        })
        .collect();
    if let Some(latest) = finished.and_then(|f| f.into_iter().max()) {
        return latest.clone();
    }
    if let Some(t) = status
        .and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Ready" && c.status == "False")
        })
        .and_then(|c| c.last_transition_time.clone())
    {
        return t;
    }
    if let Some(deleted) = &pod.metadata.deletion_timestamp {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
        let grace = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
        return Time(deleted.0 - chrono_seconds(grace));
    }
    pod.metadata
        .creation_timestamp
        .clone()
        .unwrap_or_else(Time::epoch)
}

fn chrono_seconds(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Time {
        Time::epoch().saturating_add(Duration::from_secs(s))
    }

    #[test]
    fn delays_double_from_ten_seconds_up_to_the_cap() {
        let mut r = BackoffRecord::default();
        assert_eq!(r.remaining(&t(0)), Duration::ZERO);
        r = r.after(vec![], vec![t(100)]);
        assert_eq!(r.remaining(&t(100)), Duration::from_secs(10));
        assert_eq!(r.remaining(&t(104)), Duration::from_secs(6));
        assert_eq!(r.remaining(&t(200)), Duration::ZERO);
        r = r.after(vec![], vec![t(300)]);
        assert_eq!(r.remaining(&t(300)), Duration::from_secs(20));
        r = r.after(vec![], vec![t(400), t(401)]);
        assert_eq!(r.failures_after_last_success, 4);
        assert_eq!(r.remaining(&t(401)), Duration::from_secs(80));
        for _ in 0..10 {
            r = r.after(vec![], vec![t(500)]);
        }
        assert_eq!(r.remaining(&t(500)), MAX_POD_FAILURE_BACKOFF);
    }

    #[test]
    fn a_success_resets_the_count_to_later_failures() {
        let r = BackoffRecord {
            failures_after_last_success: 5,
            last_failure: Some(t(10)),
        };
        let r = r.after(vec![t(20)], vec![t(15), t(25), t(30)]);
        assert_eq!(r.failures_after_last_success, 2);
        assert_eq!(r.last_failure, Some(t(30)));
        let r = r.after(vec![t(40)], vec![]);
        assert_eq!(r, BackoffRecord::default());
    }
}
