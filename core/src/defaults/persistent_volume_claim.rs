//! Defaults of `PersistentVolumeClaim` (`SetDefaults_PersistentVolumeClaim`,
//! `SetDefaults_PersistentVolumeClaimSpec`).

use crate::api::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    VOLUME_MODE_FILESYSTEM,
};

/// `status.phase` defaults to `Pending` and `spec.volumeMode` to `Filesystem`.
pub fn persistent_volume_claim(pvc: &mut PersistentVolumeClaim) {
    let status = pvc
        .status
        .get_or_insert_with(PersistentVolumeClaimStatus::default);
    if status.phase.as_deref().is_none_or(str::is_empty) {
        status.phase = Some(PersistentVolumeClaimStatus::PHASE_PENDING.to_owned());
    }
    persistent_volume_claim_spec(&mut pvc.spec);
}

/// `volumeMode` defaults to `Filesystem` (also used for claim templates).
pub fn persistent_volume_claim_spec(spec: &mut PersistentVolumeClaimSpec) {
    if spec.volume_mode.is_none() {
        spec.volume_mode = Some(VOLUME_MODE_FILESYSTEM.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    #[test]
    fn phase_and_volume_mode() {
        let mut pvc = PersistentVolumeClaim::default();
        pvc.apply_defaults();
        let once = pvc.clone();
        assert_eq!(pvc.phase(), Some("Pending"));
        assert_eq!(pvc.spec.volume_mode.as_deref(), Some("Filesystem"));
        pvc.apply_defaults();
        assert_eq!(pvc, once);
        let mut pvc = PersistentVolumeClaim::default();
        pvc.spec.volume_mode = Some("Block".into());
        pvc.apply_defaults();
        assert_eq!(pvc.spec.volume_mode.as_deref(), Some("Block"));
    }
}
