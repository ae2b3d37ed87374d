//! [`Action`]: what a reconcile asks the controller to do next.

use std::time::Duration;

/// The outcome of a successful reconcile (or of an error policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Reconcile the object again after `duration`, even if nothing changes (for
    /// periodic work, or to poll something outside the store).
    pub fn requeue(duration: Duration) -> Action {
        Action {
            requeue_after: Some(duration),
        }
    }

    /// Reconcile again only when the object (or something mapped to it) changes.
    pub fn await_change() -> Action {
        Action {
            requeue_after: None,
        }
    }

    /// The requested delay, if any.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }
}
