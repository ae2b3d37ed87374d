//! [`Profile`]: a named set of plugins per extension point, with score weights — what a
//! `KubeSchedulerProfile` configures. A pod picks its profile by `spec.schedulerName`.

use std::sync::Arc;

use super::interface::{
    Bind, Filter, Permit, PostBind, PostFilter, PreBind, PreEnqueue, PreFilter, PreScore,
    QueueSort, Reserve, Score,
};

/// The plugins of one profile, per extension point, in the order they run.
#[derive(Clone)]
pub struct Profile {
    /// The scheduler name pods ask for (`spec.schedulerName`).
    pub name: String,
    /// Share of nodes to find feasible before scoring (1–100); `None`: Kubernetes'
    /// adaptive default (50 % minus 1 % per 125 nodes, at least 5 %, at least 100 nodes).
    pub percentage_of_nodes_to_score: Option<u32>,
    /// PreEnqueue plugins.
    pub pre_enqueue: Vec<Arc<dyn PreEnqueue>>,
    /// The QueueSort plugin.
    pub queue_sort: Option<Arc<dyn QueueSort>>,
    /// PreFilter plugins.
    pub pre_filter: Vec<Arc<dyn PreFilter>>,
    /// Filter plugins.
    pub filter: Vec<Arc<dyn Filter>>,
    /// PostFilter plugins.
    pub post_filter: Vec<Arc<dyn PostFilter>>,
    /// PreScore plugins.
    pub pre_score: Vec<Arc<dyn PreScore>>,
    /// Score plugins with their weights.
    pub score: Vec<(Arc<dyn Score>, i64)>,
    /// Reserve plugins.
    pub reserve: Vec<Arc<dyn Reserve>>,
    /// Permit plugins.
    pub permit: Vec<Arc<dyn Permit>>,
    /// PreBind plugins.
    pub pre_bind: Vec<Arc<dyn PreBind>>,
    /// Bind plugins (the first that does not skip binds).
    pub bind: Vec<Arc<dyn Bind>>,
    /// PostBind plugins.
    pub post_bind: Vec<Arc<dyn PostBind>>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: Vec<&'static str>| v.join(",");
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field(
                "pre_filter",
                &names(self.pre_filter.iter().map(|p| p.name()).collect()),
            )
            .field(
                "filter",
                &names(self.filter.iter().map(|p| p.name()).collect()),
            )
            .field(
                "score",
                &self
                    .score
                    .iter()
                    .map(|(p, w)| format!("{}:{w}", p.name()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// A profile named `name` with no plugins.
    pub fn empty(name: &str) -> Profile {
        Profile {
            name: name.to_owned(),
            percentage_of_nodes_to_score: None,
            pre_enqueue: Vec::new(),
            queue_sort: None,
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            reserve: Vec::new(),
            permit: Vec::new(),
            pre_bind: Vec::new(),
            bind: Vec::new(),
            post_bind: Vec::new(),
        }
    }

    /// Removes the plugin `name` from every extension point (like disabling it in a
    /// scheduler configuration).
    #[must_use]
    pub fn without(mut self, name: &str) -> Profile {
        self.pre_enqueue.retain(|p| p.name() != name);
        self.pre_filter.retain(|p| p.name() != name);
        self.filter.retain(|p| p.name() != name);
        self.post_filter.retain(|p| p.name() != name);
        self.pre_score.retain(|p| p.name() != name);
        self.score.retain(|(p, _)| p.name() != name);
        self.reserve.retain(|p| p.name() != name);
        self.permit.retain(|p| p.name() != name);
        self.pre_bind.retain(|p| p.name() != name);
        self.bind.retain(|p| p.name() != name);
        self.post_bind.retain(|p| p.name() != name);
        if self.queue_sort.as_ref().is_some_and(|p| p.name() == name) {
            self.queue_sort = None;
        }
        self
    }

    /// Sets the weight of Score plugin `name`.
    #[must_use]
    pub fn weight(mut self, name: &str, weight: i64) -> Profile {
        for (p, w) in &mut self.score {
            if p.name() == name {
                *w = weight;
            }
        }
        self
    }

    /// Renames the profile (the scheduler name pods ask for).
    #[must_use]
    pub fn named(mut self, name: &str) -> Profile {
        name.clone_into(&mut self.name);
        self
    }
}
