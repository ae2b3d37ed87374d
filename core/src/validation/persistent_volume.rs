//! Validation of `PersistentVolume` (`ValidatePersistentVolume`).

use super::common::{dns1123_subdomain, positive_quantity};
use super::{FieldError, FieldPath};
use crate::api::{
    ACCESS_MODE_READ_WRITE_ONCE_POD, ACCESS_MODES, PersistentVolume, PersistentVolumeSpec,
};

const RECLAIM_POLICIES: [&str; 3] = ["Delete", "Recycle", "Retain"];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];
const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

/// Checks capacity, access modes, reclaim policy, the single volume source, class name,
/// volume mode and node affinity.
pub fn persistent_volume(pv: &PersistentVolume) -> Vec<FieldError> {
    spec(&pv.spec, &FieldPath::new("spec"))
}

/// Sorted access modes, as Kubernetes lists them in `NotSupported` errors.
fn sorted_access_modes() -> [&'static str; 4] {
    let mut modes = ACCESS_MODES;
    modes.sort_unstable();
    modes
}

/// The access-mode rules shared with claims: known modes, and `ReadWriteOncePod` alone.
pub fn access_modes(modes: &[String], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let (mut rwop, mut other) = (false, false);
    for mode in modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errors.push(FieldError::not_supported(
                path.clone(),
                mode,
                &sorted_access_modes(),
            ));
        } else if mode == ACCESS_MODE_READ_WRITE_ONCE_POD {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errors.push(FieldError::forbidden(
            path.clone(),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    errors
}

fn spec(spec: &PersistentVolumeSpec, sp: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.access_modes.is_empty() {
        errors.push(FieldError::required(sp.child("accessModes"), ""));
    }
    errors.extend(access_modes(&spec.access_modes, &sp.child("accessModes")));
    let cp = sp.child("capacity");
    if spec.capacity.is_empty() {
        errors.push(FieldError::required(cp.clone(), ""));
    }
    if !spec.capacity.contains_key("storage") || spec.capacity.len() > 1 {
        let keys: Vec<&str> = spec.capacity.keys().map(String::as_str).collect();
        errors.push(FieldError::not_supported(
            cp.clone(),
            format!("{keys:?}"),
            &["storage"],
        ));
    }
    for (name, q) in &spec.capacity {
        errors.extend(positive_quantity(q, &cp.key(name)));
    }
    let reclaim = spec
        .persistent_volume_reclaim_policy
        .as_deref()
        .unwrap_or("");
    if !reclaim.is_empty() && !RECLAIM_POLICIES.contains(&reclaim) {
        errors.push(FieldError::not_supported(
            sp.child("persistentVolumeReclaimPolicy"),
            reclaim,
            &RECLAIM_POLICIES,
        ));
    }
    let mut node_affinity_set = false;
    if let Some(affinity) = &spec.node_affinity {
        let ap = sp.child("nodeAffinity");
        match &affinity.required {
            None => errors.push(FieldError::required(
                ap.child("required"),
                "must specify required node constraints",
            )),
            Some(selector) => {
                node_affinity_set = true;
                let tp = ap.child("required").child("nodeSelectorTerms");
                if selector.node_selector_terms.is_empty() {
                    errors.push(FieldError::required(
                        tp.clone(),
                        "must have at least one node selector term",
                    ));
                }
                for (i, term) in selector.node_selector_terms.iter().enumerate() {
                    for (j, req) in term.match_expressions.iter().enumerate() {
                        let rp = tp.index(i).child("matchExpressions").index(j);
                        errors.extend(node_selector_requirement(
                            &req.key,
                            &req.operator,
                            req.values.len(),
                            &rp,
                        ));
                    }
                }
            }
        }
    }
    errors.extend(volume_source(spec, sp, node_affinity_set));
    if let Some(host_path) = &spec.host_path
        && clean_path(&host_path.path) == "/"
        && reclaim == "Recycle"
    {
        errors.push(FieldError::forbidden(
            sp.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
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
    if let Some(class) = spec.volume_attributes_class_name.as_deref() {
        if class.is_empty() {
            errors.push(FieldError::required(
                sp.child("volumeAttributesClassName"),
                "an empty string is disallowed",
            ));
        } else {
            errors.extend(dns1123_subdomain(
                class,
                &sp.child("volumeAttributesClassName"),
            ));
        }
    }
    errors
}

fn node_selector_requirement(
    key: &str,
    operator: &str,
    values: usize,
    p: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match operator {
        "In" | "NotIn" if values == 0 => errors.push(FieldError::required(
            p.child("values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if values > 0 => errors.push(FieldError::forbidden(
            p.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values != 1 => {
            errors.push(FieldError::required(
                p.child("values"),
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            ));
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        _ => errors.push(FieldError::invalid(
            p.child("operator"),
            operator,
            "not a valid selector operator",
        )),
    }
    errors.extend(super::common::qualified_name(key, &p.child("key")));
    errors
}

fn volume_source(
    spec: &PersistentVolumeSpec,
    sp: &FieldPath,
    node_affinity_set: bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut count = 0;
    let mut one = |name: &str, present: bool, errors: &mut Vec<FieldError>| -> bool {
        if !present {
            return false;
        }
        if count > 0 {
            errors.push(FieldError::forbidden(
                sp.child(name),
                "may not specify more than 1 volume type",
            ));
            return false;
        }
        count += 1;
        true
    };
    if one("hostPath", spec.host_path.is_some(), &mut errors)
        && let Some(hp) = &spec.host_path
    {
        let p = sp.child("hostPath");
        errors.extend(required_path_without_backsteps(&hp.path, &p.child("path")));
        if let Some(t) = &hp.type_
            && !HOST_PATH_TYPES.contains(&t.as_str())
        {
            errors.push(FieldError::not_supported(
                p.child("type"),
                t,
                &HOST_PATH_TYPES,
            ));
        }
    }
    let opaque = [
        ("gcePersistentDisk", spec.gce_persistent_disk.is_some()),
        (
            "awsElasticBlockStore",
            spec.aws_elastic_block_store.is_some(),
        ),
        ("glusterfs", spec.glusterfs.is_some()),
    ];
    for (name, present) in opaque {
        one(name, present, &mut errors);
    }
    if one("nfs", spec.nfs.is_some(), &mut errors)
        && let Some(nfs) = &spec.nfs
    {
        let p = sp.child("nfs");
        if nfs.server.is_empty() {
            errors.push(FieldError::required(p.child("server"), ""));
        }
        if nfs.path.is_empty() {
            errors.push(FieldError::required(p.child("path"), ""));
        } else if !nfs.path.starts_with('/') {
            errors.push(FieldError::invalid(
                p.child("path"),
                &nfs.path,
                "must be an absolute path",
            ));
        }
    }
    let opaque = [
        ("rbd", spec.rbd.is_some()),
        ("quobyte", spec.quobyte.is_some()),
        ("cinder", spec.cinder.is_some()),
        ("cephfs", spec.cephfs.is_some()),
        ("iscsi", spec.iscsi.is_some()),
        ("fc", spec.fc.is_some()),
        ("flexVolume", spec.flex_volume.is_some()),
        ("azureFile", spec.azure_file.is_some()),
        ("vsphereVolume", spec.vsphere_volume.is_some()),
        (
            "photonPersistentDisk",
            spec.photon_persistent_disk.is_some(),
        ),
        ("portworxVolume", spec.portworx_volume.is_some()),
        ("azureDisk", spec.azure_disk.is_some()),
        ("scaleIO", spec.scale_io.is_some()),
        ("flocker", spec.flocker.is_some()),
    ];
    for (name, present) in opaque {
        one(name, present, &mut errors);
    }
    if one("local", spec.local.is_some(), &mut errors)
        && let Some(local) = &spec.local
    {
        errors.extend(required_path_without_backsteps(
            &local.path,
            &sp.child("local").child("path"),
        ));
        if !node_affinity_set {
            errors.push(FieldError::required(
                sp.child("nodeAffinity"),
                "Local volume requires node affinity",
            ));
        }
    }
    one("storageos", spec.storageos.is_some(), &mut errors);
    if one("csi", spec.csi.is_some(), &mut errors)
        && let Some(csi) = &spec.csi
    {
        let p = sp.child("csi");
        if csi.driver.is_empty() {
            errors.push(FieldError::required(p.child("driver"), ""));
        } else {
            errors.extend(csi_driver_name(&csi.driver, &p.child("driver")));
        }
        if csi.volume_handle.is_empty() {
            errors.push(FieldError::required(p.child("volumeHandle"), ""));
        }
    }
    if count == 0 {
        errors.push(FieldError::required(
            sp.clone(),
            "must specify a volume type",
        ));
    }
    errors
}

/// `ValidateCSIDriverName`: at most 63 characters, a DNS-1123 subdomain once lower-cased.
fn csi_driver_name(driver: &str, p: &FieldPath) -> Vec<FieldError> {
    if driver.len() > 63 {
        return vec![FieldError::too_long(p.clone(), 63)];
    }
    dns1123_subdomain(&driver.to_lowercase(), p)
}

fn required_path_without_backsteps(path: &str, p: &FieldPath) -> Vec<FieldError> {
    if path.is_empty() {
        return vec![FieldError::required(p.clone(), "")];
    }
    if path.split(['/', '\\']).any(|part| part == "..") {
        return vec![FieldError::invalid(
            p.clone(),
            path,
            "must not contain '..'",
        )];
    }
    Vec::new()
}

/// A minimal `path.Clean` for the root check: `/`, `//`, `/./` are all `/`.
fn clean_path(path: &str) -> &str {
    if path.starts_with('/') && path.split('/').all(|part| part.is_empty() || part == ".") {
        "/"
    } else {
        path
    }
}

#[cfg(test)]
#[path = "persistent_volume_tests.rs"]
mod tests;
