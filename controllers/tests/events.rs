//! The event recorder: events written, identical ones counted, similar ones combined.

use keel_controllers::runtime::events::{COMBINED_PREFIX, MAX_SIMILAR};
use keel_controllers::runtime::{EventType, Recorder};
use keel_core::api::{ConfigMap, Event, Node};
use keel_core::client::{Api, Client, ListParams};
use keel_core::meta::ObjectMeta;

async fn events(client: &Client, ns: &str) -> Vec<std::sync::Arc<Event>> {
    Api::<Event>::namespaced(client, ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

#[tokio::test(start_paused = true)]
async fn an_event_names_its_object_and_repeats_bump_the_count() {
    let client = Client::in_memory();
    let cm = Api::<ConfigMap>::namespaced(&client, "default")
        .create(&ConfigMap {
            metadata: ObjectMeta::namespaced("default", "web"),
            ..ConfigMap::default()
        })
        .await
        .unwrap();
    let recorder = Recorder::new(&client, "demo-controller");
    recorder.normal(&*cm, "Synced", "all good").await.unwrap();
    tokio::time::advance(std::time::Duration::from_secs(3)).await;
    recorder.normal(&*cm, "Synced", "all good").await.unwrap();
    recorder.warning(&*cm, "Failed", "boom").await.unwrap();
    let mut list = events(&client, "default").await;
    list.sort_by_key(|e| e.reason.clone());
    assert_eq!(list.len(), 2);
    let failed = &list[0];
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    let synced = &list[1];
    assert_eq!(synced.count, Some(2));
    assert_eq!(synced.type_.as_deref(), Some("Normal"));
    assert_eq!(synced.message.as_deref(), Some("all good"));
    assert_eq!(synced.involved_object.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(synced.involved_object.name.as_deref(), Some("web"));
    assert_eq!(synced.involved_object.uid, cm.metadata.uid);
    assert_eq!(
        synced.source.as_ref().unwrap().component.as_deref(),
        Some("demo-controller")
    );
    let first = synced.first_timestamp.clone().unwrap();
    let last = synced.last_timestamp.clone().unwrap();
    assert_eq!(
        last.duration_since(&first),
        std::time::Duration::from_secs(3)
    );
    assert!(synced.metadata.name.as_deref().unwrap().starts_with("web."));
}

#[tokio::test(start_paused = true)]
async fn many_similar_events_are_combined() {
    let client = Client::in_memory();
    let node = Node {
        metadata: ObjectMeta::named("n1"),
        ..Node::default()
    };
    let recorder = Recorder::new(&client, "kubelet");
    for i in 0..MAX_SIMILAR + 3 {
        recorder
            .publish(&node, EventType::Warning, "Pulling", &format!("image {i}"))
            .await
            .unwrap();
    }
    let list = events(&client, "default").await;
    assert_eq!(list.len(), MAX_SIMILAR, "9 apart, then one combined event");
    let combined: Vec<_> = list
        .iter()
        .filter(|e| e.message.as_deref().unwrap().starts_with(COMBINED_PREFIX))
        .collect();
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0].count, Some(4));
    assert_eq!(
        combined[0].message.as_deref(),
        Some(format!("{COMBINED_PREFIX}image {}", MAX_SIMILAR + 2).as_str())
    );
    // The set of messages stays below the limit: a message still in it is its own event.
    recorder
        .publish(&node, EventType::Warning, "Pulling", "image 5")
        .await
        .unwrap();
    let list = events(&client, "default").await;
    let five: Vec<_> = list
        .iter()
        .filter(|e| e.message.as_deref() == Some("image 5"))
        .collect();
    assert_eq!(five.len(), 1);
    assert_eq!(five[0].count, Some(2), "a repeat bumps its own event");
}
