//! [`Expectations`]: Kubernetes' `ControllerExpectations` (with `UIDTrackingControllerExpectations`'s
//! deletion tracking). A controller that has just created or deleted children records
//! what it expects to see; until its cache has seen all of it (or the expectation
//! expires after 5 minutes), it must not act on the stale cache and create or delete
//! the same children again.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::queue::QueueKey;

/// How long an unmet expectation holds (Kubernetes' `ExpectationsTimeout`).
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Expectation {
    adds: i64,
    deletes: i64,
    deleting: HashSet<String>,
    set_at: Instant,
}

/// Outstanding creations and deletions per controller key.
#[derive(Debug)]
pub struct Expectations<T> {
    timeout: Duration,
    by_key: Mutex<HashMap<T, Expectation>>,
}

impl<T: QueueKey> Default for Expectations<T> {
    fn default() -> Self {
        Expectations::new()
    }
}

impl<T: QueueKey> Expectations<T> {
    /// Expectations that expire after [`EXPECTATIONS_TIMEOUT`].
    pub fn new() -> Expectations<T> {
        Expectations::with_timeout(EXPECTATIONS_TIMEOUT)
    }

    /// Expectations that expire after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Expectations<T> {
        Expectations {
            timeout,
            by_key: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<T, Expectation>> {
        self.by_key.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `key` is about to create `n` children (replaces earlier expectations).
    pub fn expect_creations(&self, key: &T, n: usize) {
        self.lock().insert(
            key.clone(),
            Expectation {
                adds: i64::try_from(n).unwrap_or(i64::MAX),
                deletes: 0,
                deleting: HashSet::new(),
                set_at: Instant::now(),
            },
        );
    }

    /// `key` is about to delete the children with these uids (replaces earlier
    /// expectations).
    pub fn expect_deletions(&self, key: &T, uids: impl IntoIterator<Item = String>) {
        let deleting: HashSet<String> = uids.into_iter().collect();
        self.lock().insert(
            key.clone(),
            Expectation {
                adds: 0,
                deletes: i64::try_from(deleting.len()).unwrap_or(i64::MAX),
                deleting,
                set_at: Instant::now(),
            },
        );
    }

    /// `key` is about to create `adds` children and delete the children with these
    /// uids in one sync (Kubernetes' `SetExpectations`; replaces earlier expectations).
    pub fn expect(&self, key: &T, adds: usize, uids: impl IntoIterator<Item = String>) {
        let deleting: HashSet<String> = uids.into_iter().collect();
        self.lock().insert(
            key.clone(),
            Expectation {
                adds: i64::try_from(adds).unwrap_or(i64::MAX),
                deletes: i64::try_from(deleting.len()).unwrap_or(i64::MAX),
                deleting,
                set_at: Instant::now(),
            },
        );
    }

    /// The cache saw one child of `key` created (or a creation failed and will not
    /// be seen).
    pub fn creation_observed(&self, key: &T) {
        if let Some(e) = self.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The cache saw the child `uid` of `key` deleted (or its deletion failed). Counted
    /// once per expected uid, however often it is reported.
    pub fn deletion_observed(&self, key: &T, uid: &str) {
        if let Some(e) = self.lock().get_mut(key)
            && e.deleting.remove(uid)
        {
            e.deletes -= 1;
        }
    }

    /// Whether `key` may act on its cache: nothing is outstanding, or the expectation
    /// expired, or none was ever recorded.
    pub fn satisfied(&self, key: &T) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes <= 0) || e.set_at.elapsed() > self.timeout,
        }
    }

    /// Creations and deletions still outstanding for `key`.
    pub fn pending(&self, key: &T) -> (i64, i64) {
        self.lock()
            .get(key)
            .map_or((0, 0), |e| (e.adds.max(0), e.deletes.max(0)))
    }

    /// Feeds one cache change of a child of `key` (its metadata before and after):
    /// an added child is a creation seen, one added already terminating or starting to
    /// terminate or gone is a deletion seen. Whether it was either (the owner should
    /// then be looked at again).
    pub fn observe_change(
        &self,
        key: &T,
        old: Option<&keel_core::meta::ObjectMeta>,
        new: Option<&keel_core::meta::ObjectMeta>,
    ) -> bool {
        let uid = |m: &keel_core::meta::ObjectMeta| m.uid.clone().unwrap_or_default();
        match (old, new) {
            (None, Some(n)) if n.deletion_timestamp.is_some() => {
                self.deletion_observed(key, &uid(n));
            }
            (None, Some(_)) => self.creation_observed(key),
            (Some(o), Some(n))
                if o.deletion_timestamp.is_none() && n.deletion_timestamp.is_some() =>
            {
                self.deletion_observed(key, &uid(n));
            }
            (Some(o), None) => self.deletion_observed(key, &uid(o)),
            _ => return false,
        }
        true
    }

    /// Forgets `key` (its controller object was deleted).
    pub fn forget(&self, key: &T) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn creations_are_awaited_until_observed_or_expired() {
        let e = Expectations::<&str>::new();
        assert!(e.satisfied(&"rs"), "nothing recorded");
        e.expect_creations(&"rs", 2);
        assert!(!e.satisfied(&"rs"));
        e.creation_observed(&"rs");
        assert_eq!(e.pending(&"rs"), (1, 0));
        assert!(!e.satisfied(&"rs"));
        e.creation_observed(&"rs");
        assert!(e.satisfied(&"rs"));
        e.expect_creations(&"rs", 1);
        tokio::time::advance(EXPECTATIONS_TIMEOUT + Duration::from_secs(1)).await;
        assert!(e.satisfied(&"rs"), "expired");
    }

    #[tokio::test(start_paused = true)]
    async fn deletions_count_each_uid_once() {
        let e = Expectations::<&str>::new();
        e.expect_deletions(&"rs", ["a".to_owned(), "b".to_owned()]);
        e.deletion_observed(&"rs", "a");
        e.deletion_observed(&"rs", "a");
        e.deletion_observed(&"rs", "zzz");
        assert_eq!(e.pending(&"rs"), (0, 1));
        e.deletion_observed(&"rs", "b");
        assert!(e.satisfied(&"rs"));
        e.expect_creations(&"rs", 1);
        e.forget(&"rs");
        assert!(e.satisfied(&"rs"));
    }

    #[tokio::test(start_paused = true)]
    async fn creations_and_deletions_at_once() {
        let e = Expectations::<&str>::new();
        e.expect(&"ds", 2, ["a".to_owned()]);
        assert_eq!(e.pending(&"ds"), (2, 1));
        e.creation_observed(&"ds");
        e.creation_observed(&"ds");
        assert!(!e.satisfied(&"ds"), "the deletion is still outstanding");
        e.deletion_observed(&"ds", "a");
        assert!(e.satisfied(&"ds"));
    }

    #[test]
    fn cache_changes_count_as_creations_and_deletions() {
        use keel_core::meta::{ObjectMeta, Time};
        let e: Expectations<&str> = Expectations::new();
        let mut child = ObjectMeta::named("c");
        child.uid = Some("u1".into());
        e.expect_creations(&"k", 1);
        assert!(e.observe_change(&"k", None, Some(&child)));
        assert!(e.satisfied(&"k"));
        e.expect_deletions(&"k", ["u1".to_owned()]);
        assert!(
            !e.observe_change(&"k", Some(&child), Some(&child)),
            "an update is neither"
        );
        let mut leaving = child.clone();
        leaving.deletion_timestamp = Some(Time::epoch());
        assert!(e.observe_change(&"k", Some(&child), Some(&leaving)));
        assert!(e.satisfied(&"k"));
    }
}
