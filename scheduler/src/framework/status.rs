//! [`Status`]: what a plugin returns — a code, the reasons, and the plugin that failed.

use std::fmt;

/// The outcome class of a plugin call (kube-scheduler's `framework.Code`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Code {
    /// The plugin ran and the pod may go on.
    #[default]
    Success,
    /// An internal error: the cycle fails and the pod is retried.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and preemption cannot help (e.g. a node selector mismatch).
    UnschedulableAndUnresolvable,
    /// Permit: the pod waits (e.g. for the rest of its gang).
    Wait,
    /// The plugin has nothing to do for this pod: its later hooks are skipped.
    Skip,
    /// The pod waits for something outside scheduling (e.g. a scheduling gate).
    Pending,
}

/// A plugin's answer. Success carries nothing and costs no allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<String>,
    plugin: Option<&'static str>,
}

impl Status {
    /// Success.
    pub const fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: None,
        }
    }

    /// A status with `code` and one reason.
    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: None,
        }
    }

    /// A status with `code` and several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Status {
        Status {
            code,
            reasons,
            plugin: None,
        }
    }

    /// [`Code::Unschedulable`] with `reason`.
    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }

    /// [`Code::UnschedulableAndUnresolvable`] with `reason`.
    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    /// [`Code::Error`] with `reason`.
    pub fn error(reason: impl Into<String>) -> Status {
        Status::new(Code::Error, reason)
    }

    /// [`Code::Skip`].
    pub const fn skip() -> Status {
        Status {
            code: Code::Skip,
            reasons: Vec::new(),
            plugin: None,
        }
    }

    /// [`Code::Wait`] with `reason`.
    pub fn wait(reason: impl Into<String>) -> Status {
        Status::new(Code::Wait, reason)
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, as Kubernetes words them.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// The plugin that returned it, once the framework has recorded it.
    pub fn plugin(&self) -> Option<&'static str> {
        self.plugin
    }

    /// Records the plugin that returned this status.
    #[must_use]
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = Some(plugin);
        self
    }

    /// Whether the code is [`Code::Success`].
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the code is [`Code::Skip`].
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the pod was rejected (unschedulable, resolvable or not).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reasons.is_empty() {
            write!(f, "{:?}", self.code)
        } else {
            f.write_str(&self.reasons.join(", "))
        }
    }
}
