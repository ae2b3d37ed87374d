//! Tests of persistent volume validation.

use super::*;
use crate::Resource;
use crate::api::{
    HostPathVolumeSource, LocalVolumeSource, NfsVolumeSource, NodeSelector, VolumeNodeAffinity,
};
use crate::meta::ObjectMeta;
use crate::validation::{ErrorType, validate};

fn pv() -> PersistentVolume {
    let mut pv = PersistentVolume {
        metadata: ObjectMeta::named("pv0001"),
        ..PersistentVolume::default()
    };
    pv.spec
        .capacity
        .insert("storage".into(), "10Gi".parse().unwrap());
    pv.spec.access_modes = vec!["ReadWriteOnce".into()];
    pv.spec.host_path = Some(HostPathVolumeSource {
        path: "/mnt/data".into(),
        type_: None,
    });
    pv
}

fn check(mut pv: PersistentVolume) -> Vec<(String, ErrorType)> {
    pv.apply_defaults();
    persistent_volume(&pv)
        .into_iter()
        .map(|e| (e.path.to_string(), e.kind))
        .collect()
}

fn has(errs: &[(String, ErrorType)], path: &str, kind: ErrorType) -> bool {
    errs.iter().any(|(p, k)| p == path && *k == kind)
}

#[test]
fn docs_examples_are_valid_after_defaulting() {
    let text = include_str!("../../tests/fixtures/persistent-volume.yaml");
    for doc in serde_saphyr::from_multiple::<serde_json::Value>(text).unwrap() {
        let mut pv: PersistentVolume = serde_json::from_value(doc).unwrap();
        pv.apply_defaults();
        assert_eq!(validate(&pv), Ok(()));
    }
    assert_eq!(check(pv()), []);
}

#[test]
fn capacity_rules() {
    let mut p = pv();
    p.spec.capacity.clear();
    let errs = check(p);
    assert!(has(&errs, "spec.capacity", ErrorType::Required));
    assert!(has(&errs, "spec.capacity", ErrorType::NotSupported));
    let mut p = pv();
    p.spec.capacity.insert("cpu".into(), "1".parse().unwrap());
    assert!(has(&check(p), "spec.capacity", ErrorType::NotSupported));
    let mut p = pv();
    p.spec
        .capacity
        .insert("storage".into(), "0".parse().unwrap());
    assert!(has(&check(p), "spec.capacity[storage]", ErrorType::Invalid));
}

#[test]
fn access_mode_rules() {
    let mut p = pv();
    p.spec.access_modes.clear();
    assert!(has(&check(p), "spec.accessModes", ErrorType::Required));
    let mut p = pv();
    p.spec.access_modes = vec!["ReadWriteSometimes".into()];
    assert!(has(&check(p), "spec.accessModes", ErrorType::NotSupported));
    let mut p = pv();
    p.spec.access_modes = vec!["ReadWriteOncePod".into(), "ReadOnlyMany".into()];
    assert!(has(&check(p), "spec.accessModes", ErrorType::Forbidden));
}

#[test]
fn volume_source_rules() {
    let mut p = pv();
    p.spec.host_path = None;
    assert!(has(&check(p), "spec", ErrorType::Required));
    let mut p = pv();
    p.spec.nfs = Some(NfsVolumeSource {
        server: String::new(),
        path: "relative".into(),
        read_only: None,
    });
    let errs = check(p);
    assert!(has(&errs, "spec.nfs", ErrorType::Forbidden), "{errs:?}");
    let mut p = pv();
    p.spec.host_path = None;
    p.spec.nfs = Some(NfsVolumeSource::default());
    let errs = check(p);
    assert!(has(&errs, "spec.nfs.server", ErrorType::Required));
    assert!(has(&errs, "spec.nfs.path", ErrorType::Required));
    let mut p = pv();
    p.spec.host_path = Some(HostPathVolumeSource {
        path: String::new(),
        type_: Some("Pipe".into()),
    });
    let errs = check(p);
    assert!(has(&errs, "spec.hostPath.path", ErrorType::Required));
    assert!(has(&errs, "spec.hostPath.type", ErrorType::NotSupported));
    let mut p = pv();
    p.spec.host_path.as_mut().unwrap().path = "/a/../b".into();
    assert!(has(&check(p), "spec.hostPath.path", ErrorType::Invalid));
}

#[test]
fn local_volumes_need_node_affinity() {
    let mut p = pv();
    p.spec.host_path = None;
    p.spec.local = Some(LocalVolumeSource {
        path: "/mnt/disks/ssd1".into(),
        fs_type: None,
    });
    assert!(has(
        &check(p.clone()),
        "spec.nodeAffinity",
        ErrorType::Required
    ));
    p.spec.node_affinity = Some(VolumeNodeAffinity {
        required: Some(NodeSelector::default()),
    });
    assert!(has(
        &check(p),
        "spec.nodeAffinity.required.nodeSelectorTerms",
        ErrorType::Required
    ));
}

#[test]
fn reclaim_policy_class_and_mode() {
    let mut p = pv();
    p.spec.persistent_volume_reclaim_policy = Some("Keep".into());
    p.spec.storage_class_name = Some("Bad_Class".into());
    p.spec.volume_mode = Some("Raw".into());
    let errs = check(p);
    assert!(has(
        &errs,
        "spec.persistentVolumeReclaimPolicy",
        ErrorType::NotSupported
    ));
    assert!(has(&errs, "spec.storageClassName", ErrorType::Invalid));
    assert!(has(&errs, "spec.volumeMode", ErrorType::NotSupported));
    let mut p = pv();
    p.spec.host_path.as_mut().unwrap().path = "/".into();
    p.spec.persistent_volume_reclaim_policy = Some("Recycle".into());
    assert!(has(
        &check(p),
        "spec.persistentVolumeReclaimPolicy",
        ErrorType::Forbidden
    ));
}
