//! Defaults of `StorageClass` (`SetDefaults_StorageClass`).

use crate::api::StorageClass;

/// `reclaimPolicy` defaults to `Delete` and `volumeBindingMode` to `Immediate`.
pub fn storage_class(sc: &mut StorageClass) {
    if sc.reclaim_policy.is_none() {
        sc.reclaim_policy = Some("Delete".to_owned());
    }
    if sc.volume_binding_mode.is_none() {
        sc.volume_binding_mode = Some(StorageClass::BINDING_IMMEDIATE.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    #[test]
    fn reclaim_policy_and_binding_mode() {
        let mut sc = StorageClass::default();
        sc.apply_defaults();
        let once = sc.clone();
        assert_eq!(sc.reclaim_policy.as_deref(), Some("Delete"));
        assert_eq!(sc.volume_binding_mode.as_deref(), Some("Immediate"));
        sc.apply_defaults();
        assert_eq!(sc, once);
        let mut sc = StorageClass {
            reclaim_policy: Some("Retain".into()),
            volume_binding_mode: Some("WaitForFirstConsumer".into()),
            ..StorageClass::default()
        };
        sc.apply_defaults();
        assert_eq!(sc.reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(
            sc.volume_binding_mode.as_deref(),
            Some("WaitForFirstConsumer")
        );
    }
}
