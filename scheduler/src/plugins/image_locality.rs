//! ImageLocality: prefer nodes that already have the pod's images, weighted by image
//! size and by how widely the image is spread (so one node does not attract every pod).

use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};

const MB: i64 = 1024 * 1024;
/// Below this much image data a node scores 0.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, image data above this scores no more.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The ImageLocality plugin.
#[derive(Debug, Default)]
pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        "ImageLocality"
    }
}

/// `image` with `:latest` added when it has neither tag nor digest.
pub fn normalized_image_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// The pod's images with their cluster spread (nodes having each / all nodes).
#[derive(Clone, Debug)]
struct Images {
    images: Vec<(String, f64)>,
    containers: i64,
}

impl PreScore for ImageLocality {
    #[allow(clippy::cast_precision_loss)]
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        _: &[&NodeInfo],
    ) -> Status {
        if !snapshot.has_images() {
            return Status::skip();
        }
        let total = snapshot.num_nodes().max(1) as f64;
        let spec = &pod.pod.spec;
        let images: Vec<(String, f64)> = spec
            .init_containers
            .iter()
            .chain(&spec.containers)
            .filter_map(|c| c.image.as_deref())
            .map(|i| {
                let name = normalized_image_name(i);
                let spread = snapshot.image_spread(&name) as f64 / total;
                (name, spread)
            })
            .collect();
        let containers =
            i64::try_from(spec.init_containers.len() + spec.containers.len()).unwrap_or(i64::MAX);
        if images
            .iter()
            .all(|(_, spread): &(String, f64)| *spread == 0.0)
        {
            // No node has any of the images: every node scores 0.
            return Status::skip();
        }
        state.write(Images { images, containers });
        Status::success()
    }
}

impl Score for ImageLocality {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        if node.images.is_empty() {
            // Below the minimum threshold: 0.
            return Ok(0);
        }
        let Some(images) = state.read::<Images>() else {
            return Ok(0);
        };
        let sum: i64 = images
            .images
            .iter()
            .filter_map(|(name, spread)| {
                node.images
                    .get(name)
                    .map(|s| (s.size as f64 * spread) as i64)
            })
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * images.containers.max(1);
        let clamped = sum.clamp(MIN_THRESHOLD, max);
        Ok(MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_get_latest_unless_tagged() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(normalized_image_name("nginx:1.27"), "nginx:1.27");
        assert_eq!(
            normalized_image_name("registry:5000/app"),
            "registry:5000/app:latest"
        );
        assert_eq!(normalized_image_name("app@sha256:abc"), "app@sha256:abc");
    }
}
