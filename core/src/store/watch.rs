//! A watcher's queue: filled by the writer under the store lock, drained by the watch
//! stream. A full queue marks the watcher expired instead of blocking the writer.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::Stream;
use tokio::time::{Instant, Sleep};

use super::{EventStream, Filter, Obj, StoreEvent};
use crate::error::Error;

/// Gives a bookmark for an idle queue, reading the store version under its lock.
pub(crate) type BookmarkFn = Arc<dyn Fn(&WatchQueue) -> Option<StoreEvent> + Send + Sync>;

/// How long a bookmarking watch stays silent before it gets a bookmark.
pub(crate) const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) struct WatchQueue {
    pub(crate) filter: Filter,
    state: Mutex<QueueState>,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<StoreEvent>,
    /// The version of the last event queued (or the start version).
    last: u64,
    expired: bool,
    /// The stream's waker, left when it found the queue empty; taken by the next push.
    waker: Option<Waker>,
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
            capacity: capacity.max(1),
        }
    }

    /// Queues an event that brings the watcher to `version`; overflow expires the
    /// watcher rather than blocking.
    ///
    /// The stream leaves its waker only after finding the queue empty (under the same
    /// lock), so only the first event after that — or the expiry — wakes it.
    pub(crate) fn push(&self, event: StoreEvent, version: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.expired {
            return;
        }
        if st.events.len() >= self.capacity {
            st.expired = true;
            st.events.clear();
        } else {
            st.last = version;
            st.events.push_back(event);
        }
        let waker = st.waker.take();
        drop(st);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next event, the expiry (the last version delivered), or nothing yet — in
    /// which case `waker` is left for the next push.
    fn pop(&self, waker: &Waker) -> Option<Result<StoreEvent, u64>> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match st.events.pop_front() {
            Some(e) => Some(Ok(e)),
            None if st.expired => Some(Err(st.last)),
            None => {
                match &mut st.waker {
                    Some(w) => w.clone_from(waker),
                    empty => *empty = Some(waker.clone()),
                }
                None
            }
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
    Box::pin(QueueStream {
        queue,
        bookmarks: current.map(|f| Bookmarks {
            current: f,
            timer: None,
            stale: true,
        }),
        oldest,
        done: false,
    })
}

/// A watch over a [`WatchQueue`]: its events in order, then the expiry as an error.
struct QueueStream {
    queue: Arc<WatchQueue>,
    bookmarks: Option<Bookmarks>,
    oldest: Arc<dyn Fn() -> u64 + Send + Sync>,
    done: bool,
}

/// A bookmark after [`BOOKMARK_INTERVAL`] without events.
struct Bookmarks {
    current: BookmarkFn,
    /// Made when the stream first waits (in the runtime), then reused.
    timer: Option<Pin<Box<Sleep>>>,
    /// An event went out since the timer was set: the silence starts when it next waits.
    stale: bool,
}

impl Bookmarks {
    /// Whether the silence has lasted the interval (starting it when it was stale).
    fn due(&mut self, cx: &mut Context<'_>) -> bool {
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(BOOKMARK_INTERVAL)));
        if std::mem::take(&mut self.stale) {
            timer.as_mut().reset(Instant::now() + BOOKMARK_INTERVAL);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        timer.as_mut().reset(Instant::now() + BOOKMARK_INTERVAL);
        true
    }
}

impl Stream for QueueStream {
    type Item = Result<StoreEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match this.queue.pop(cx.waker()) {
                Some(Ok(event)) => {
                    if let Some(b) = &mut this.bookmarks {
                        b.stale = true;
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                Some(Err(last)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Error::Expired {
                        requested: last,
                        oldest: (this.oldest)(),
                    })));
                }
                None => {}
            }
            let Some(b) = &mut this.bookmarks else {
                return Poll::Pending;
            };
            if !b.due(cx) {
                return Poll::Pending;
            }
            if let Some(event) = (b.current)(&this.queue) {
                return Poll::Ready(Some(Ok(event)));
            }
            // Not idle after all: an event arrived meanwhile; deliver it.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::task::Wake;

    use futures::{FutureExt, StreamExt};

    use super::*;
    use crate::api::ConfigMap;
    use crate::meta::ObjectMeta;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn event(name: &str) -> StoreEvent {
        StoreEvent::Added(Arc::new(ConfigMap {
            metadata: ObjectMeta::named(name),
            ..ConfigMap::default()
        }))
    }

    fn name(e: &StoreEvent) -> &str {
        match e {
            StoreEvent::Added(o) => o.meta().name.as_deref().unwrap_or_default(),
            _ => "",
        }
    }

    /// A queue of `capacity`, its stream (oldest version 7), and a waker counting its
    /// wake-ups.
    fn parts(capacity: usize) -> (Arc<WatchQueue>, EventStream, Arc<Count>, Waker) {
        let queue = Arc::new(WatchQueue::new(Filter::default(), 0, capacity));
        let s = stream(queue.clone(), None, Arc::new(|| 7));
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        (queue, s, count, waker)
    }

    #[test]
    fn a_waiting_stream_is_woken_once_by_the_next_event_and_then_drains() {
        let (queue, mut s, count, waker) = parts(10);
        let mut cx = Context::from_waker(&waker);
        assert!(s.as_mut().poll_next(&mut cx).is_pending());
        queue.push(event("a"), 1);
        queue.push(event("b"), 2);
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "one wake for two events");
        for want in ["a", "b"] {
            match s.as_mut().poll_next(&mut cx) {
                Poll::Ready(Some(Ok(e))) => assert_eq!(name(&e), want),
                other => panic!("expected {want}, got {:?}", other.map(|_| ())),
            }
        }
        assert!(s.as_mut().poll_next(&mut cx).is_pending());
        queue.push(event("c"), 3);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            2,
            "waiting again, woken again"
        );
    }

    #[test]
    fn overflow_wakes_the_stream_with_expiry_then_ends_it() {
        let (queue, mut s, count, waker) = parts(2);
        let mut cx = Context::from_waker(&waker);
        assert!(s.as_mut().poll_next(&mut cx).is_pending());
        queue.push(event("a"), 1);
        queue.push(event("b"), 2);
        queue.push(event("c"), 3);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        match s.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Err(Error::Expired { requested, oldest }))) => {
                assert_eq!((requested, oldest), (2, 7), "the last version queued");
            }
            other => panic!("expected expiry, got {:?}", other.map(|_| ())),
        }
        assert!(matches!(s.as_mut().poll_next(&mut cx), Poll::Ready(None)));
    }

    #[tokio::test(start_paused = true)]
    async fn bookmarks_follow_each_silence_of_the_interval() {
        let version = Arc::new(AtomicU64::new(0));
        let queue = Arc::new(WatchQueue::new(Filter::default(), 0, 10));
        let current = version.clone();
        let bookmark: BookmarkFn =
            Arc::new(move |q: &WatchQueue| q.bookmark_if_idle(current.load(Ordering::SeqCst)));
        let mut s = stream(queue.clone(), Some(bookmark), Arc::new(|| 0));
        let bookmark_at = |e: Option<Option<Result<StoreEvent, Error>>>| match e {
            Some(Some(Ok(StoreEvent::Bookmark(v)))) => Some(v),
            _ => None,
        };
        assert!(s.next().now_or_never().is_none());
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(s.next().now_or_never().is_none(), "not silent long enough");
        version.store(4, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(bookmark_at(s.next().now_or_never()), Some(4));
        // An event restarts the silence from when the stream next waits.
        tokio::time::advance(Duration::from_secs(50)).await;
        version.store(5, Ordering::SeqCst);
        queue.push(event("a"), 5);
        assert!(matches!(
            s.next().now_or_never(),
            Some(Some(Ok(StoreEvent::Added(_))))
        ));
        assert!(s.next().now_or_never().is_none());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(s.next().now_or_never().is_none(), "30 s after the event");
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(bookmark_at(s.next().now_or_never()), Some(5));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(bookmark_at(s.next().now_or_never()), Some(5), "and again");
    }
}
