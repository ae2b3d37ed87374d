//! What the workload controllers share, public so users' own workload controllers can
//! use it too: owner references and adoption ([`claim`]), pods from templates and
//! template hashes ([`template`]), pod predicates and the scale-down order ([`pods`]),
//! slow-start batches ([`batch`]) and status writes ([`status`]).

pub mod batch;
pub mod claim;
pub mod owner;
pub mod pods;
pub mod status;
pub mod template;

pub use batch::slow_start_batch;
pub use claim::{Claimed, claim, claim_decision};
pub use owner::{controller_ref, is_controlled_by};
pub use pods::{is_pod_active, is_pod_available, pods_to_delete, ready_since};
pub use status::update_status;
pub use template::{pod_from_template, pod_with_owner, safe_encode, template_hash};
