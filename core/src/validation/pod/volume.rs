//! Pod volumes: names, exactly one source, and each source's required fields.

use std::collections::BTreeSet;

use super::super::common::dns1123_subdomain;
use super::super::{FieldError, FieldPath};
use crate::api::{KeyToPath, Volume};
use crate::defaults::pod::has_legacy_source;
use crate::names;

/// Checks the volumes; returns the set of their names (for volume mounts).
pub(super) fn volumes<'a>(
    volumes: &'a [Volume],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        if v.name.is_empty() {
            errors.push(FieldError::required(p.child("name"), ""));
        } else {
            for msg in names::is_dns1123_label(&v.name) {
                errors.push(FieldError::invalid(p.child("name"), &v.name, msg));
            }
            if !seen.insert(v.name.as_str()) {
                errors.push(FieldError::duplicate(p.child("name"), &v.name));
            }
        }
        source(v, &p, errors);
    }
    seen
}

fn source(v: &Volume, p: &FieldPath, errors: &mut Vec<FieldError>) {
    let sources: [(&str, bool); 12] = [
        ("emptyDir", v.empty_dir.is_some()),
        ("hostPath", v.host_path.is_some()),
        ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
        ("configMap", v.config_map.is_some()),
        ("secret", v.secret.is_some()),
        ("projected", v.projected.is_some()),
        ("downwardAPI", v.downward_api.is_some()),
        ("nfs", v.nfs.is_some()),
        ("csi", v.csi.is_some()),
        ("ephemeral", v.ephemeral.is_some()),
        ("image", v.image.is_some()),
        ("legacy", has_legacy_source(v)),
    ];
    let set: Vec<&str> = sources
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    match set.as_slice() {
        [] => errors.push(FieldError::required(
            p.clone(),
            "must specify a volume type",
        )),
        [_] => {}
        [_, second, ..] => errors.push(FieldError::forbidden(
            p.child(second),
            "may not specify more than 1 volume type",
        )),
    }
    if let Some(h) = &v.host_path {
        if h.path.is_empty() {
            errors.push(FieldError::required(p.child("hostPath").child("path"), ""));
        }
        let types = [
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ];
        if let Some(t) = h.type_.as_deref()
            && !types.contains(&t)
        {
            errors.push(FieldError::not_supported(
                p.child("hostPath").child("type"),
                t,
                &types,
            ));
        }
    }
    if let Some(claim) = &v.persistent_volume_claim
        && claim.claim_name.is_empty()
    {
        errors.push(FieldError::required(
            p.child("persistentVolumeClaim").child("claimName"),
            "",
        ));
    }
    if let Some(e) = &v.empty_dir
        && let Some(m) = e.medium.as_deref()
        && !matches!(m, "" | "Memory")
        && !m.starts_with("HugePages")
    {
        errors.push(FieldError::not_supported(
            p.child("emptyDir").child("medium"),
            m,
            &["", "Memory", "HugePages"],
        ));
    }
    if let Some(cm) = &v.config_map {
        let cp = p.child("configMap");
        match cm.name.as_deref() {
            None | Some("") => errors.push(FieldError::required(cp.child("name"), "")),
            Some(name) => errors.extend(dns1123_subdomain(name, &cp.child("name"))),
        }
        mode(cm.default_mode, &cp.child("defaultMode"), errors);
        items(&cm.items, &cp.child("items"), errors);
    }
    if let Some(secret) = &v.secret {
        let sp = p.child("secret");
        match secret.secret_name.as_deref() {
            None | Some("") => errors.push(FieldError::required(sp.child("secretName"), "")),
            Some(name) => errors.extend(dns1123_subdomain(name, &sp.child("secretName"))),
        }
        mode(secret.default_mode, &sp.child("defaultMode"), errors);
        items(&secret.items, &sp.child("items"), errors);
    }
    if let Some(d) = &v.downward_api {
        mode(
            d.default_mode,
            &p.child("downwardAPI").child("defaultMode"),
            errors,
        );
        for (i, item) in d.items.iter().enumerate() {
            let ip = p.child("downwardAPI").child("items").index(i);
            relative_path(&item.path, &ip.child("path"), errors);
            mode(item.mode, &ip.child("mode"), errors);
            if item.field_ref.is_some() == item.resource_field_ref.is_some() {
                errors.push(FieldError::invalid(
                    ip,
                    "",
                    "must specify one of: `fieldRef` or `resourceFieldRef`",
                ));
            }
        }
    }
    if let Some(pr) = &v.projected {
        mode(
            pr.default_mode,
            &p.child("projected").child("defaultMode"),
            errors,
        );
    }
}

fn mode(mode: Option<i32>, p: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        errors.push(FieldError::invalid(
            p.clone(),
            m,
            "must be a number between 0 and 0777 (octal), both inclusive",
        ));
    }
}

fn items(items: &[KeyToPath], p: &FieldPath, errors: &mut Vec<FieldError>) {
    for (i, item) in items.iter().enumerate() {
        let ip = p.index(i);
        if item.key.is_empty() {
            errors.push(FieldError::required(ip.child("key"), ""));
        }
        relative_path(&item.path, &ip.child("path"), errors);
        mode(item.mode, &ip.child("mode"), errors);
    }
}

/// A path inside a volume: required, relative, without `..` elements.
pub(super) fn relative_path(path: &str, p: &FieldPath, errors: &mut Vec<FieldError>) {
    if path.is_empty() {
        errors.push(FieldError::required(p.clone(), ""));
    } else if path.starts_with('/') {
        errors.push(FieldError::invalid(
            p.clone(),
            path,
            "must be a relative path",
        ));
    } else if path.split('/').any(|part| part == "..") {
        errors.push(FieldError::invalid(
            p.clone(),
            path,
            "must not contain '..'",
        ));
    }
}
