//! Defaults of `Node` (`SetDefaults_NodeStatus`).

use crate::api::Node;

/// `status.allocatable` defaults to `status.capacity` when unset.
pub fn node(node: &mut Node) {
    if let Some(status) = node.status.as_mut()
        && status.allocatable.is_empty()
        && !status.capacity.is_empty()
    {
        status.allocatable = status.capacity.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::NodeStatus;

    #[test]
    fn allocatable_defaults_to_capacity() {
        let mut n = Node::default();
        n.apply_defaults();
        assert_eq!(n.status, None, "no status is invented");
        let mut status = NodeStatus::default();
        status.capacity.insert("cpu".into(), "4".parse().unwrap());
        n.status = Some(status);
        n.apply_defaults();
        let once = n.clone();
        assert_eq!(
            once.status.as_ref().unwrap().allocatable["cpu"].to_string(),
            "4"
        );
        n.apply_defaults();
        assert_eq!(n, once);
    }
}
