//! `MemoryStore` passes the store conformance suite.

use keel_core::store::{MemoryStore, MemoryStoreConfig, conformance};

#[tokio::test(start_paused = true)]
async fn memory_store_conforms() {
    conformance::run(MemoryStore::new, |history| {
        MemoryStore::with_config(MemoryStoreConfig {
            history,
            ..MemoryStoreConfig::default()
        })
    })
    .await;
}
