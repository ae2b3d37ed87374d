//! [`WaitingPods`]: pods a Permit plugin told to wait, each until a plugin allows or
//! rejects it, or its timeout passes (how gang scheduling holds a group's members).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use keel_core::api::Pod;
use tokio::sync::oneshot;

/// `namespace/name`.
type Key = (String, String);

/// A pod waiting at Permit.
#[derive(Debug)]
struct Waiting {
    pod: Arc<Pod>,
    node: String,
    decide: Option<oneshot::Sender<Result<(), String>>>,
}

/// The pods waiting at Permit in one framework. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct WaitingPods {
    inner: Arc<Mutex<BTreeMap<Key, Waiting>>>,
}

impl WaitingPods {
    /// Registers `pod` (assumed on `node`) as waiting; the receiver gets the decision.
    pub fn add(&self, pod: Arc<Pod>, node: &str) -> oneshot::Receiver<Result<(), String>> {
        let (tx, rx) = oneshot::channel();
        let key = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        self.lock().insert(
            key,
            Waiting {
                pod,
                node: node.to_owned(),
                decide: Some(tx),
            },
        );
        rx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Waiting>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn decide(&self, namespace: &str, name: &str, decision: Result<(), String>) -> bool {
        let waiting = self.lock().remove(&(namespace.to_owned(), name.to_owned()));
        match waiting.and_then(|mut w| w.decide.take()) {
            Some(tx) => tx.send(decision).is_ok(),
            None => false,
        }
    }

    /// Lets a waiting pod go on to binding; whether it was waiting.
    pub fn allow(&self, namespace: &str, name: &str) -> bool {
        self.decide(namespace, name, Ok(()))
    }

    /// Rejects a waiting pod (it is unreserved and retried later).
    pub fn reject(&self, namespace: &str, name: &str, message: &str) -> bool {
        self.decide(namespace, name, Err(message.to_owned()))
    }

    /// Forgets a pod that stopped waiting by itself (timed out).
    pub fn remove(&self, namespace: &str, name: &str) {
        self.lock().remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// The waiting pods and their nodes.
    pub fn list(&self) -> Vec<(Arc<Pod>, String)> {
        self.lock()
            .values()
            .map(|w| (w.pod.clone(), w.node.clone()))
            .collect()
    }
}
