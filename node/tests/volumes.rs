//! Local-directory volumes: the conformance suite, and data that outlives a pod.

use keel_node::volumes::LocalVolumes;
use keel_runtime::conformance;
use keel_runtime::{VolumePlugin, VolumeRequest};

fn root(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("keel-volumes-{tag}-{}", std::process::id()))
}

#[tokio::test]
async fn local_volumes_conform() {
    let dir = root("conformance");
    conformance::volumes(|| LocalVolumes::new(&dir), 1 << 20).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn data_survives_a_pod_restart() {
    let dir = root("persist");
    let v = LocalVolumes::new(&dir);
    let vol = v
        .provision(&VolumeRequest {
            name: "data-web-0".into(),
            capacity_bytes: 1 << 20,
            ..VolumeRequest::default()
        })
        .await
        .unwrap();
    let path = v.mount(&vol.handle, "pod-uid-1").await.unwrap();
    std::fs::write(format!("{path}/state"), "42").unwrap();
    v.unmount(&vol.handle, "pod-uid-1").await.unwrap();
    // The replacement pod (a new uid) mounts the same volume and finds the data.
    let again = v.mount(&vol.handle, "pod-uid-2").await.unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("{again}/state")).unwrap(),
        "42"
    );
    v.unmount(&vol.handle, "pod-uid-2").await.unwrap();
    v.delete(&vol.handle).await.unwrap();
    assert!(!std::path::Path::new(&again).exists());
    assert!(
        v.provision(&VolumeRequest {
            name: "../escape".into(),
            ..VolumeRequest::default()
        })
        .await
        .is_err()
    );
    let _ = std::fs::remove_dir_all(dir);
}
