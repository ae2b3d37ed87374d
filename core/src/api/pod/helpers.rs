//! Helpers over pods that the scheduler, node agents and controllers share.

use super::{Container, Pod, PodSpec, ResourceList};

/// The pod phases.
pub mod phase {
    /// Accepted, not all containers running yet.
    pub const PENDING: &str = "Pending";
    /// Bound to a node, at least one container running.
    pub const RUNNING: &str = "Running";
    /// Every container exited successfully and will not restart.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Every container exited, at least one in failure.
    pub const FAILED: &str = "Failed";
    /// The state could not be obtained.
    pub const UNKNOWN: &str = "Unknown";
}

impl Pod {
    /// The fields a field selector may name (Kubernetes' `PodToSelectableFields`).
    pub(crate) fn selectable_field(&self, path: &str) -> Option<String> {
        let status = self.status.as_ref();
        let text = |v: Option<&String>| v.cloned().unwrap_or_default();
        Some(match path {
            "spec.nodeName" => text(self.spec.node_name.as_ref()),
            "spec.restartPolicy" => text(self.spec.restart_policy.as_ref()),
            "spec.schedulerName" => text(self.spec.scheduler_name.as_ref()),
            "spec.serviceAccountName" => text(self.spec.service_account_name.as_ref()),
            "spec.hostNetwork" => self.spec.host_network.unwrap_or(false).to_string(),
            "status.phase" => text(status.and_then(|s| s.phase.as_ref())),
            "status.podIP" => text(status.and_then(|s| s.pod_ip.as_ref())),
            "status.nominatedNodeName" => text(status.and_then(|s| s.nominated_node_name.as_ref())),
            _ => return None,
        })
    }

    /// The phase, `Pending` when no status was written yet.
    pub fn phase(&self) -> &str {
        self.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or(phase::PENDING)
    }

    /// Whether the pod has finished (`Succeeded` or `Failed`) and will not run again.
    pub fn is_terminal(&self) -> bool {
        matches!(self.phase(), phase::SUCCEEDED | phase::FAILED)
    }

    /// Whether the pod's `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.condition("Ready") == Some("True")
    }

    /// The status of the condition `type_`, if the pod has it.
    pub fn condition(&self, type_: &str) -> Option<&str> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| c.status.as_str())
    }

    /// The node the pod is bound to.
    pub fn node_name(&self) -> Option<&str> {
        self.spec.node_name.as_deref().filter(|n| !n.is_empty())
    }

    /// The effective resource requests of the pod (Kubernetes' `PodRequests`).
    pub fn resource_requests(&self) -> ResourceList {
        self.spec.resource_requests()
    }
}

impl PodSpec {
    /// The effective resource requests (Kubernetes' `resourcehelper.PodRequests`): the
    /// larger of the sum over containers (plus sidecars) and what each init container
    /// needs while it runs (with the sidecars started before it), plus `overhead`.
    /// Pod-level `resources.requests`, when set, take the place of the containers' sum.
    pub fn resource_requests(&self) -> ResourceList {
        let mut total = ResourceList::new();
        for c in &self.containers {
            add(&mut total, requests(c));
        }
        let mut sidecars = ResourceList::new();
        let mut init_peak = ResourceList::new();
        for c in &self.init_containers {
            if c.restart_policy.as_deref() == Some("Always") {
                add(&mut sidecars, requests(c));
                add(&mut total, requests(c));
                max_into(&mut init_peak, &sidecars);
            } else {
                let mut running = sidecars.clone();
                add(&mut running, requests(c));
                max_into(&mut init_peak, &running);
            }
        }
        if let Some(pod_level) = self.resources.as_ref().filter(|r| !r.requests.is_empty()) {
            for (k, v) in &pod_level.requests {
                total.insert(k.clone(), v.clone());
            }
        }
        max_into(&mut total, &init_peak);
        if let Some(overhead) = &self.overhead {
            add(&mut total, overhead);
        }
        total
    }
}

fn requests(c: &Container) -> &ResourceList {
    static EMPTY: ResourceList = ResourceList::new();
    c.resources.as_ref().map_or(&EMPTY, |r| &r.requests)
}

fn add(into: &mut ResourceList, from: &ResourceList) {
    for (k, v) in from {
        let sum = into.get(k).map_or_else(|| v.clone(), |have| have + v);
        into.insert(k.clone(), sum);
    }
}

fn max_into(into: &mut ResourceList, from: &ResourceList) {
    for (k, v) in from {
        if into.get(k).is_none_or(|have| have < v) {
            into.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{PodCondition, PodStatus, ResourceRequirements};

    fn container(name: &str, cpu: &str, memory: &str, sidecar: bool) -> Container {
        Container {
            name: name.into(),
            resources: Some(ResourceRequirements {
                requests: [
                    ("cpu".to_owned(), cpu.parse().unwrap()),
                    ("memory".to_owned(), memory.parse().unwrap()),
                ]
                .into(),
                ..ResourceRequirements::default()
            }),
            restart_policy: sidecar.then(|| "Always".to_owned()),
            ..Container::default()
        }
    }

    #[test]
    fn requests_take_the_max_of_containers_and_init_containers() {
        let spec = PodSpec {
            containers: vec![
                container("a", "100m", "64Mi", false),
                container("b", "200m", "64Mi", false),
            ],
            init_containers: vec![container("init", "500m", "32Mi", false)],
            overhead: Some([("cpu".to_owned(), "10m".parse().unwrap())].into()),
            ..PodSpec::default()
        };
        let r = spec.resource_requests();
        assert_eq!(r["cpu"].to_string(), "510m");
        assert_eq!(r["memory"].to_string(), "128Mi");
    }

    #[test]
    fn sidecars_count_for_the_whole_life_of_the_pod() {
        let spec = PodSpec {
            containers: vec![container("app", "100m", "64Mi", false)],
            init_containers: vec![
                container("proxy", "50m", "16Mi", true),
                container("migrate", "300m", "16Mi", false),
            ],
            ..PodSpec::default()
        };
        let r = spec.resource_requests();
        assert_eq!(
            r["cpu"].to_string(),
            "350m",
            "init peak: sidecar 50m + migrate 300m"
        );
        assert_eq!(r["memory"].to_string(), "80Mi", "app 64Mi + sidecar 16Mi");
    }

    #[test]
    fn phase_and_conditions() {
        let mut pod = Pod::default();
        assert_eq!(pod.phase(), "Pending");
        assert!(!pod.is_terminal() && !pod.is_ready());
        pod.status = Some(PodStatus {
            phase: Some("Succeeded".into()),
            conditions: vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..PodCondition::default()
            }],
            ..PodStatus::default()
        });
        assert!(pod.is_terminal() && pod.is_ready());
        assert_eq!(pod.condition("PodScheduled"), None);
    }
}
