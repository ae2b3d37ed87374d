//! Validation of `PersistentVolumeClaim` (`ValidatePersistentVolumeClaim`).

use super::common::{dns1123_subdomain, positive_quantity, validate_label_selector};
use super::persistent_volume::access_modes;
use super::{FieldError, FieldPath};
use crate::api::{PersistentVolumeClaim, PersistentVolumeClaimSpec};

const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];

/// Checks the claim's spec.
pub fn persistent_volume_claim(pvc: &PersistentVolumeClaim) -> Vec<FieldError> {
    persistent_volume_claim_spec(&pvc.spec, &FieldPath::new("spec"))
}

/// `ValidatePersistentVolumeClaimSpec` (also for claim templates): access modes,
/// selector, `resources.requests.storage` (> 0), class name, volume mode, data sources.
pub fn persistent_volume_claim_spec(
    spec: &PersistentVolumeClaimSpec,
    sp: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.access_modes.is_empty() {
        errors.push(FieldError::required(
            sp.child("accessModes"),
            "at least 1 access mode is required",
        ));
    }
    if let Some(selector) = &spec.selector {
        errors.extend(validate_label_selector(selector, &sp.child("selector")));
    }
    errors.extend(access_modes(&spec.access_modes, &sp.child("accessModes")));
    // Kubernetes reports the storage request as `spec.resources[storage]`.
    let storage_path = sp.child("resources").key("storage");
    match spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.get("storage"))
    {
        None => errors.push(FieldError::required(storage_path, "")),
        Some(q) => errors.extend(positive_quantity(q, &storage_path)),
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        errors.extend(dns1123_subdomain(class, &sp.child("storageClassName")));
    }
    if let Some(mode) = &spec.volume_mode
        && !VOLUME_MODES.contains(&mode.as_str())
    {
        errors.push(FieldError::not_supported(
            sp.child("volumeMode"),
            mode,
            &VOLUME_MODES,
        ));
    }
    if let Some(ds) = &spec.data_source {
        errors.extend(data_source(
            ds.api_group.as_deref(),
            &ds.kind,
            &ds.name,
            &sp.child("dataSource"),
        ));
    }
    if let Some(dsr) = &spec.data_source_ref {
        let p = sp.child("dataSourceRef");
        errors.extend(data_source(
            dsr.api_group.as_deref(),
            &dsr.kind,
            &dsr.name,
            &p,
        ));
        if let Some(ns) = dsr.namespace.as_deref().filter(|n| !n.is_empty()) {
            errors.extend(super::common::dns1123_label(ns, &p.child("namespace")));
        }
        if let Some(ds) = &spec.data_source
            && dsr.namespace.as_deref().unwrap_or("").is_empty()
            && (ds.api_group.as_deref().unwrap_or("") != dsr.api_group.as_deref().unwrap_or("")
                || ds.kind != dsr.kind
                || ds.name != dsr.name)
        {
            errors.push(FieldError::invalid(
                sp.clone(),
                "",
                "must have dataSource and dataSourceRef fields with the same value when both are specified",
            ));
        }
    }
    if let Some(class) = spec
        .volume_attributes_class_name
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        errors.extend(dns1123_subdomain(
            class,
            &sp.child("volumeAttributesClassName"),
        ));
    }
    errors
}

fn data_source(api_group: Option<&str>, kind: &str, name: &str, p: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::required(p.child("name"), ""));
    }
    if kind.is_empty() {
        errors.push(FieldError::required(p.child("kind"), ""));
    }
    if api_group.unwrap_or("").is_empty() && kind != "PersistentVolumeClaim" {
        errors.push(FieldError::invalid(
            p.clone(),
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::{TypedLocalObjectReference, VolumeResourceRequirements};
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn pvc() -> PersistentVolumeClaim {
        let mut pvc = PersistentVolumeClaim {
            metadata: ObjectMeta::namespaced("default", "data"),
            ..PersistentVolumeClaim::default()
        };
        pvc.spec.access_modes = vec!["ReadWriteOnce".into()];
        let mut resources = VolumeResourceRequirements::default();
        resources
            .requests
            .insert("storage".into(), "1Gi".parse().unwrap());
        pvc.spec.resources = Some(resources);
        pvc
    }

    fn check(mut pvc: PersistentVolumeClaim) -> Vec<(String, ErrorType)> {
        pvc.apply_defaults();
        persistent_volume_claim(&pvc)
            .into_iter()
            .map(|e| (e.path.to_string(), e.kind))
            .collect()
    }

    fn has(errs: &[(String, ErrorType)], path: &str, kind: ErrorType) -> bool {
        errs.iter().any(|(p, k)| p == path && *k == kind)
    }

    #[test]
    fn docs_examples_are_valid() {
        let text = include_str!("../../tests/fixtures/persistent-volume-claim.yaml");
        for doc in serde_saphyr::from_multiple::<serde_json::Value>(text).unwrap() {
            let mut pvc: PersistentVolumeClaim = serde_json::from_value(doc).unwrap();
            pvc.metadata
                .namespace
                .get_or_insert_with(|| "default".into());
            pvc.apply_defaults();
            assert_eq!(validate(&pvc), Ok(()));
        }
        assert_eq!(check(pvc()), []);
    }

    #[test]
    fn access_modes_and_storage_are_required() {
        let mut p = pvc();
        p.spec.access_modes.clear();
        p.spec.resources = None;
        let errs = check(p);
        assert!(has(&errs, "spec.accessModes", ErrorType::Required));
        assert!(has(&errs, "spec.resources[storage]", ErrorType::Required));
        let mut p = pvc();
        p.spec.access_modes = vec!["WriteOnly".into()];
        assert!(has(&check(p), "spec.accessModes", ErrorType::NotSupported));
        let mut p = pvc();
        let requests = &mut p.spec.resources.as_mut().unwrap().requests;
        requests.insert("storage".into(), "0".parse().unwrap());
        assert!(has(
            &check(p),
            "spec.resources[storage]",
            ErrorType::Invalid
        ));
    }

    #[test]
    fn class_mode_and_data_source() {
        let mut p = pvc();
        p.spec.storage_class_name = Some("Bad_Class".into());
        p.spec.volume_mode = Some("Raw".into());
        p.spec.data_source = Some(TypedLocalObjectReference {
            api_group: None,
            kind: "VolumeSnapshot".into(),
            name: String::new(),
        });
        let errs = check(p);
        assert!(has(&errs, "spec.storageClassName", ErrorType::Invalid));
        assert!(has(&errs, "spec.volumeMode", ErrorType::NotSupported));
        assert!(has(&errs, "spec.dataSource.name", ErrorType::Required));
        assert!(has(&errs, "spec.dataSource", ErrorType::Invalid));
    }

    #[test]
    fn selector_is_checked() {
        let mut p = pvc();
        let mut selector = crate::labels::LabelSelector::default();
        selector.match_labels.insert("bad key!".into(), "v".into());
        p.spec.selector = Some(selector);
        assert!(has(
            &check(p),
            "spec.selector.matchLabels",
            ErrorType::Invalid
        ));
    }
}
