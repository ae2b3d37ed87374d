//! The finalizer helper: added before work, cleanup on deletion, then released.

use std::sync::Arc;

use keel_controllers::runtime::Action;
use keel_controllers::runtime::finalizer::{Event, FinalizerError, finalizer};
use keel_core::api::ConfigMap;
use keel_core::client::{Api, Client, DeleteParams, Deleted};
use keel_core::meta::ObjectMeta;

const NAME: &str = "example.com/cleanup";

#[derive(Debug, thiserror::Error)]
#[error("cleanup refused")]
struct Refused;

async fn step(
    api: &Api<ConfigMap>,
    obj: Arc<ConfigMap>,
    fail: bool,
) -> Result<(Action, &'static str), FinalizerError<Refused>> {
    let mut what = "nothing";
    let action = finalizer(api, NAME, obj, |event| {
        what = match event {
            Event::Apply(_) => "apply",
            Event::Cleanup(_) => "cleanup",
        };
        async move {
            if fail {
                Err(Refused)
            } else {
                Ok(Action::await_change())
            }
        }
    })
    .await?;
    Ok((action, what))
}

#[tokio::test(start_paused = true)]
async fn the_finalizer_guards_cleanup() {
    let client = Client::in_memory();
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let all: Api<ConfigMap> = Api::all(&client);
    let obj = api
        .create(&ConfigMap {
            metadata: ObjectMeta::namespaced("default", "c"),
            ..ConfigMap::default()
        })
        .await
        .unwrap();

    // First pass only adds the finalizer.
    let (_, what) = step(&all, obj, false).await.unwrap();
    assert_eq!(what, "nothing");
    let obj = api.get("c").await.unwrap();
    assert_eq!(obj.metadata.finalizers, [NAME]);
    let (_, what) = step(&all, obj, false).await.unwrap();
    assert_eq!(what, "apply");

    // Deleting keeps the object until cleanup succeeds.
    let deleted = api.delete("c", &DeleteParams::default()).await.unwrap();
    assert!(matches!(deleted, Deleted::Terminating(_)));
    let obj = api.get("c").await.unwrap();
    assert!(obj.metadata.deletion_timestamp.is_some());
    let err = step(&all, obj.clone(), true).await.unwrap_err();
    assert!(matches!(err, FinalizerError::CleanupFailed(_)), "{err}");
    assert!(api.get_opt("c").await.unwrap().is_some(), "still there");
    let (_, what) = step(&all, obj, false).await.unwrap();
    assert_eq!(what, "cleanup");
    assert!(
        api.get_opt("c").await.unwrap().is_none(),
        "gone once released"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stale_object_is_a_conflict_not_a_lost_write() {
    let client = Client::in_memory();
    let api: Api<ConfigMap> = Api::namespaced(&client, "default");
    let stale = api
        .create(&ConfigMap {
            metadata: ObjectMeta::namespaced("default", "c"),
            ..ConfigMap::default()
        })
        .await
        .unwrap();
    let mut newer = (*stale).clone();
    newer.data.insert("k".into(), "v".into());
    api.replace("c", &newer).await.unwrap();
    let err = step(&api, stale, false).await.unwrap_err();
    match err {
        FinalizerError::AddFinalizer(e) => assert!(e.is_conflict(), "{e}"),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(api.get("c").await.unwrap().data["k"], "v");
}
