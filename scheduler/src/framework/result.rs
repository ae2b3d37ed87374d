//! What a scheduling cycle returns: [`ScheduleResult`] or [`FitError`], worded as
//! kube-scheduler words it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::status::Status;

/// A placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub suggested_host: String,
    /// How many nodes the filters looked at.
    pub evaluated_nodes: usize,
    /// How many of those fit.
    pub feasible_nodes: usize,
}

/// Why a cycle placed nothing, node by node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// Each rejected node's status.
    pub node_to_status: BTreeMap<String, Status>,
    /// The plugins that rejected the pod somewhere.
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// A PreFilter rejection (then no node was looked at).
    pub pre_filter_msg: Option<String>,
    /// What preemption reported.
    pub post_filter_msg: Option<String>,
}

/// No node fits the pod (or a plugin failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitError {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// How many nodes the cluster has.
    pub num_all_nodes: usize,
    /// Why.
    pub diagnosis: Diagnosis,
    /// An internal error of a plugin, when that is what stopped the cycle.
    pub error: Option<String>,
}

impl FitError {
    /// The reasons and how many nodes gave each, sorted as Kubernetes sorts them
    /// (`"3 Insufficient cpu"`, …).
    pub fn reason_histogram(&self) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for status in self.diagnosis.node_to_status.values() {
            for reason in status.reasons() {
                *counts.entry(reason.as_str()).or_default() += 1;
            }
        }
        let mut out: Vec<String> = counts
            .into_iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        out.sort();
        out
    }
}

impl fmt::Display for FitError {
    /// `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {k: v}.`
    /// followed by the PostFilter message, exactly as kube-scheduler prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.error {
            return write!(f, "running the scheduling framework: {e}");
        }
        if self.num_all_nodes == 0 {
            return f.write_str("no nodes available to schedule pods");
        }
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if let Some(m) = &self.diagnosis.pre_filter_msg {
            write!(f, " {m}.")?;
        } else {
            let reasons = self.reason_histogram();
            if !reasons.is_empty() {
                write!(f, " {}.", reasons.join(", "))?;
            }
        }
        if let Some(m) = &self.diagnosis.post_filter_msg {
            write!(f, " {m}.")?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}
