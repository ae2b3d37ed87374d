//! Defaults of `PersistentVolume` (`SetDefaults_PersistentVolume`,
//! `SetDefaults_HostPathVolumeSource`).

use crate::api::{PersistentVolume, PersistentVolumeStatus, VOLUME_MODE_FILESYSTEM};

/// `status.phase` defaults to `Pending`, `persistentVolumeReclaimPolicy` to `Retain`,
/// `volumeMode` to `Filesystem` and `hostPath.type` to `""`.
pub fn persistent_volume(pv: &mut PersistentVolume) {
    let status = pv
        .status
        .get_or_insert_with(PersistentVolumeStatus::default);
    if status.phase.as_deref().is_none_or(str::is_empty) {
        status.phase = Some(PersistentVolumeStatus::PHASE_PENDING.to_owned());
    }
    let spec = &mut pv.spec;
    if spec
        .persistent_volume_reclaim_policy
        .as_deref()
        .is_none_or(str::is_empty)
    {
        spec.persistent_volume_reclaim_policy = Some("Retain".to_owned());
    }
    if spec.volume_mode.is_none() {
        spec.volume_mode = Some(VOLUME_MODE_FILESYSTEM.to_owned());
    }
    if let Some(host_path) = spec.host_path.as_mut()
        && host_path.type_.is_none()
    {
        host_path.type_ = Some(String::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::HostPathVolumeSource;

    #[test]
    fn phase_reclaim_policy_volume_mode_and_host_path_type() {
        let mut pv = PersistentVolume::default();
        pv.spec.host_path = Some(HostPathVolumeSource {
            path: "/mnt".into(),
            type_: None,
        });
        pv.apply_defaults();
        let once = pv.clone();
        assert_eq!(pv.phase(), Some("Pending"));
        assert_eq!(
            pv.spec.persistent_volume_reclaim_policy.as_deref(),
            Some("Retain")
        );
        assert_eq!(pv.spec.volume_mode.as_deref(), Some("Filesystem"));
        assert_eq!(
            pv.spec.host_path.as_ref().unwrap().type_.as_deref(),
            Some("")
        );
        pv.apply_defaults();
        assert_eq!(pv, once);
    }

    #[test]
    fn set_values_are_kept() {
        let mut pv = PersistentVolume::default();
        pv.spec.persistent_volume_reclaim_policy = Some("Delete".into());
        pv.spec.volume_mode = Some("Block".into());
        pv.status = Some(PersistentVolumeStatus {
            phase: Some("Bound".into()),
            ..PersistentVolumeStatus::default()
        });
        pv.apply_defaults();
        assert_eq!(pv.phase(), Some("Bound"));
        assert_eq!(
            pv.spec.persistent_volume_reclaim_policy.as_deref(),
            Some("Delete")
        );
        assert_eq!(pv.spec.volume_mode.as_deref(), Some("Block"));
    }
}
