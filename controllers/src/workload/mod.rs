//! What the workload controllers share, public so users' own workload controllers can
//! use it too: owner references and adoption ([`claim()`]), pods from templates and
//! template hashes ([`template`]), pod predicates and the scale-down order ([`pods`]),
//! whether a pod may run on a node ([`node_fit`]),
//! slow-start batches ([`batch`]), status writes ([`status`]) and ControllerRevision
//! history ([`history`]).

pub mod batch;
pub mod claim;
pub mod history;
pub mod node_fit;
pub mod observe;
pub mod owner;
pub mod pod_control;
pub mod pods;
pub mod status;
pub mod template;

pub use batch::{slow_start_batch, slow_start_batches};
pub use claim::{Claimed, candidates, claim, claim_adopting, claim_decision};
pub use node_fit::{matches_required_affinity, tolerates, untolerated_taint};
pub use observe::observe_pods;
pub use owner::{adopters, controller_key, controller_ref, is_controlled_by, selects};
pub use pods::{
    is_pod_active, is_pod_available, pods_to_delete, ready_since, until_next_available,
};
pub use status::update_status;
pub use template::{json_hash, pod_from_template, pod_with_owner, safe_encode, template_hash};
