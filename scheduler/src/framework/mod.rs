//! The scheduling framework: one trait per extension point, the per-cycle state, the
//! cluster snapshot, profiles, and the [`Framework`] that runs a profile.

mod cycle_state;
mod interface;
mod node_info;
mod pod_info;
mod profile;
mod result;
mod runtime;
mod score_memo;
mod skips;
mod snapshot;
mod status;
mod waiting;

pub use cycle_state::{CycleState, StateData};
pub use interface::{
    Bind, Filter, FusedScore, MAX_NODE_SCORE, MIN_NODE_SCORE, Permit, Plugin, PostBind, PostFilter,
    PostFilterResult, PreBind, PreEnqueue, PreFilter, PreFilterExtensions, PreFilterResult,
    PreScore, QueueSort, QueuedPodInfo, Reserve, Score, filter_each, score_one,
};
pub use node_info::{ImageState, NodeInfo};
pub use pod_info::{
    AffinityTerm, DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, HostPort, PodInfo, Resources,
    WeightedAffinityTerm,
};
pub use profile::Profile;
pub use result::{Diagnosis, FitError, ScheduleResult};
pub use runtime::{Framework, num_feasible_nodes_to_find};
pub(crate) use score_memo::{Question, Questions};
pub use snapshot::{SPREAD_CONTROLLER_KINDS, Snapshot};
pub use status::{Code, Status};
pub use waiting::WaitingPods;
