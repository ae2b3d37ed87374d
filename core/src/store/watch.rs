//! A watcher's queue: filled by the writer under the store lock, drained by the watch
//! stream. A full queue marks the watcher expired instead of blocking the writer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;

use super::{EventStream, Filter, Obj, StoreEvent};
use crate::error::Error;

/// Gives a bookmark for an idle queue, reading the store version under its lock.
pub(crate) type BookmarkFn = Arc<dyn Fn(&WatchQueue) -> Option<StoreEvent> + Send + Sync>;

/// How long a bookmarking watch stays silent before it gets a bookmark.
pub(crate) const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) struct WatchQueue {
    pub(crate) filter: Filter,
    state: Mutex<QueueState>,
    notify: Notify,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<StoreEvent>,
    /// The version of the last event queued (or the start version).
    last: u64,
    expired: bool,
}

/// What a filter makes of a change.
pub(crate) fn transition(
    filter: &Filter,
    new: &Obj,
    old: Option<&Obj>,
    deleted: bool,
) -> Option<StoreEvent> {
    let now = filter.matches(new.as_ref());
    if deleted {
        return now.then(|| StoreEvent::Deleted(new.clone()));
    }
    match (old.map(|o| filter.matches(o.as_ref())), now) {
        (None | Some(false), true) => Some(StoreEvent::Added(new.clone())),
        (Some(true), true) => Some(StoreEvent::Modified(new.clone())),
        (Some(true), false) => Some(StoreEvent::Deleted(new.clone())),
        (_, false) => None,
    }
}

impl WatchQueue {
    pub(crate) fn new(filter: Filter, start: u64, capacity: usize) -> WatchQueue {
        WatchQueue {
            filter,
            state: Mutex::new(QueueState {
                last: start,
                ..QueueState::default()
            }),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues an event that brings the watcher to `version`; overflow expires the
    /// watcher rather than blocking.
    ///
    /// The stream waits only after finding the queue empty, so only an event queued
    /// into an empty queue (or the expiry) notifies it: `notify_one` keeps a permit when
    /// the stream is not waiting yet, and the stream drains every event queued after
    /// that one before it waits again.
    pub(crate) fn push(&self, event: StoreEvent, version: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.expired {
            return;
        }
        let wake = if st.events.len() >= self.capacity {
            st.expired = true;
            st.events.clear();
            true
        } else {
            st.last = version;
            st.events.push_back(event);
            st.events.len() == 1
        };
        drop(st);
        if wake {
            self.notify.notify_one();
        }
    }

    fn pop(&self) -> Option<Result<StoreEvent, u64>> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match st.events.pop_front() {
            Some(e) => Some(Ok(e)),
            None if st.expired => Some(Err(st.last)),
            None => None,
        }
    }

    /// A bookmark at `version` if nothing is queued (called with the store lock held,
    /// so every selected change up to `version` has been queued already).
    pub(crate) fn bookmark_if_idle(&self, version: u64) -> Option<StoreEvent> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (st.events.is_empty() && !st.expired).then(|| {
            st.last = version;
            StoreEvent::Bookmark(version)
        })
    }
}

/// The stream side of a queue. `current` gives the store's version under its lock, for
/// bookmarks; `None` disables them.
pub(crate) fn stream(
    queue: Arc<WatchQueue>,
    current: Option<BookmarkFn>,
    oldest: Arc<dyn Fn() -> u64 + Send + Sync>,
) -> EventStream {
    // The queue and its callbacks travel in the stream's state, moved from one event to
    // the next rather than cloned for each.
    futures::stream::unfold(Some((queue, current, oldest)), |state| async move {
        let (queue, current, oldest) = state?;
        loop {
            match queue.pop() {
                Some(Ok(event)) => return Some((Ok(event), Some((queue, current, oldest)))),
                Some(Err(last)) => {
                    return Some((
                        Err(Error::Expired {
                            requested: last,
                            oldest: oldest(),
                        }),
                        None,
                    ));
                }
                None => {}
            }
            match &current {
                None => queue.notify.notified().await,
                Some(bookmark) => {
                    if tokio::time::timeout(BOOKMARK_INTERVAL, queue.notify.notified())
                        .await
                        .is_err()
                        && let Some(event) = bookmark(&queue)
                    {
                        return Some((Ok(event), Some((queue, current, oldest))));
                    }
                }
            }
        }
    })
    .boxed()
}
