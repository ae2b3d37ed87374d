//! A pod's volumes on the node: emptyDir, hostPath, configMap, secret and
//! persistentVolumeClaim volumes resolved to host directories, and each container's
//! mounts. With a root directory the agent materialises them (directories, and the
//! keys of ConfigMaps and Secrets as files); without one (the sim) the paths are only
//! computed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keel_core::api::{ConfigMap, Container, PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use keel_core::client::{Api, Client};
use keel_runtime::{Mount, VolumePlugin};

/// Where each of the pod's volumes is on the host, by volume name.
pub type Resolved = BTreeMap<String, String>;

fn write_files(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    items: &[keel_core::api::KeyToPath],
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let chosen: Vec<(String, &Vec<u8>)> = if items.is_empty() {
        files.iter().map(|(k, v)| (k.clone(), v)).collect()
    } else {
        items
            .iter()
            .filter_map(|i| files.get(&i.key).map(|v| (i.path.clone(), v)))
            .collect()
    };
    for (name, bytes) in chosen {
        if name.contains("..") {
            return Err(format!("invalid key path {name:?}"));
        }
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Resolves (and, under `root`, materialises) every volume of `pod`. A missing
/// ConfigMap, Secret or claim that is not optional is an error.
pub async fn resolve(
    client: &Client,
    root: Option<&Path>,
    plugin: Option<&dyn VolumePlugin>,
    pod: &Pod,
) -> Result<Resolved, String> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let base = root
        .map_or_else(|| PathBuf::from("/var/lib/keel/pods"), Path::to_path_buf)
        .join(&uid)
        .join("volumes");
    let mut out = Resolved::new();
    for v in &pod.spec.volumes {
        let dir = base.join(&v.name);
        let path = if let Some(h) = &v.host_path {
            PathBuf::from(&h.path)
        } else if v.empty_dir.is_some() {
            if root.is_some() {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            }
            dir
        } else if let Some(c) = &v.config_map {
            let name = c.name.clone().unwrap_or_default();
            match Api::<ConfigMap>::namespaced(client, &ns)
                .get_opt(&name)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(cm) => {
                    if root.is_some() {
                        let mut files: BTreeMap<String, Vec<u8>> = cm
                            .data
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                            .collect();
                        for (k, b) in &cm.binary_data {
                            files.insert(
                                k.clone(),
                                keel_core::api::base64::decode(b).unwrap_or_default(),
                            );
                        }
                        write_files(&dir, &files, &c.items)?;
                    }
                    dir
                }
                None if c.optional == Some(true) => dir,
                None => return Err(format!("configmap \"{name}\" not found")),
            }
        } else if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            match Api::<Secret>::namespaced(client, &ns)
                .get_opt(&name)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(secret) => {
                    if root.is_some() {
                        let mut files: BTreeMap<String, Vec<u8>> = secret
                            .data
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    keel_core::api::base64::decode(v).unwrap_or_default(),
                                )
                            })
                            .collect();
                        for (k, v) in &secret.string_data {
                            files.insert(k.clone(), v.clone().into_bytes());
                        }
                        write_files(&dir, &files, &s.items)?;
                    }
                    dir
                }
                None if s.optional == Some(true) => dir,
                None => return Err(format!("secret \"{name}\" not found")),
            }
        } else if let Some(c) = &v.persistent_volume_claim {
            let claim = Api::<PersistentVolumeClaim>::namespaced(client, &ns)
                .get_opt(&c.claim_name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("persistentvolumeclaim \"{}\" not found", c.claim_name))?;
            let pv_name = claim
                .spec
                .volume_name
                .clone()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    format!("persistentvolumeclaim \"{}\" is not bound", c.claim_name)
                })?;
            let pv = Api::<PersistentVolume>::all(client)
                .get_opt(&pv_name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("persistentvolume \"{pv_name}\" not found"))?;
            if let Some(h) = &pv.spec.host_path {
                PathBuf::from(&h.path)
            } else if let Some(l) = &pv.spec.local {
                PathBuf::from(&l.path)
            } else if let (Some(csi), Some(plugin)) = (&pv.spec.csi, plugin) {
                PathBuf::from(
                    plugin
                        .mount(&csi.volume_handle, &uid)
                        .await
                        .map_err(|e| e.to_string())?,
                )
            } else {
                return Err(format!(
                    "persistentvolume \"{pv_name}\" has no source this node can mount"
                ));
            }
        } else {
            // Other in-tree sources are not modelled: an empty directory stands in.
            dir
        };
        out.insert(v.name.clone(), path.to_string_lossy().into_owned());
    }
    Ok(out)
}

/// The mounts of container `c` over the pod's resolved volumes.
pub fn mounts(c: &Container, resolved: &Resolved) -> Result<Vec<Mount>, String> {
    c.volume_mounts
        .iter()
        .map(|m| {
            let host = resolved.get(&m.name).ok_or_else(|| {
                format!(
                    "volume \"{}\" of volumeMount is not in the pod's volumes",
                    m.name
                )
            })?;
            let host_path = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                Some(sub) => format!("{host}/{sub}"),
                None => host.clone(),
            };
            Ok(Mount {
                name: m.name.clone(),
                host_path,
                container_path: m.mount_path.clone(),
                read_only: m.read_only.unwrap_or(false),
            })
        })
        .collect()
}
