//! [`watcher`]: list, then watch from the list's version, re-listing when the watch
//! expires — kube-runtime's `watcher`, the input of every cache and controller.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};

use super::{Api, ListParams, WatchEvent};
use crate::Resource;
use crate::error::Error;

/// What a watcher reports.
#[derive(Debug, Clone)]
pub enum Event<K> {
    /// A (re-)list starts: what follows up to `InitDone` is the whole state.
    Init,
    /// One object of the listed state.
    InitApply(Arc<K>),
    /// The listed state is complete; drop objects not seen since `Init`.
    InitDone,
    /// An object was created or changed.
    Apply(Arc<K>),
    /// An object was deleted.
    Delete(Arc<K>),
}

/// How long a watcher waits after an error other than `Expired` before re-listing.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

enum State<K> {
    List,
    Listed {
        items: std::vec::IntoIter<Arc<K>>,
        version: String,
    },
    Watching {
        stream: futures::stream::BoxStream<'static, Result<WatchEvent<K>, Error>>,
        version: String,
    },
    Backoff,
}

/// Lists then watches `api`, forever: `Init`, `InitApply`…, `InitDone`, then `Apply` and
/// `Delete` events. An expired watch re-lists; other errors are yielded, then the
/// watcher re-lists after [`RETRY_DELAY`] (of `tokio` time).
pub fn watcher<K: Resource>(
    api: Api<K>,
    params: ListParams,
) -> impl Stream<Item = Result<Event<K>, Error>> + Send {
    let params = params.bookmarks();
    futures::stream::unfold(State::List, move |state| {
        let api = api.clone();
        let params = params.clone();
        async move {
            let mut state = state;
            loop {
                state = match state {
                    State::Backoff => {
                        tokio::time::sleep(RETRY_DELAY).await;
                        State::List
                    }
                    State::List => match api.list(&params).await {
                        Ok(list) => {
                            let version = list.resource_version().to_owned();
                            return Some((
                                Ok(Event::Init),
                                State::Listed {
                                    items: list.items.into_iter(),
                                    version,
                                },
                            ));
                        }
                        Err(e) => return Some((Err(e), State::Backoff)),
                    },
                    State::Listed { mut items, version } => match items.next() {
                        Some(o) => {
                            return Some((
                                Ok(Event::InitApply(o)),
                                State::Listed { items, version },
                            ));
                        }
                        None => match api.watch(&params, &version).await {
                            Ok(stream) => {
                                return Some((
                                    Ok(Event::InitDone),
                                    State::Watching {
                                        stream: stream.boxed(),
                                        version,
                                    },
                                ));
                            }
                            Err(e) if e.is_expired() => State::List,
                            Err(e) => return Some((Err(e), State::Backoff)),
                        },
                    },
                    State::Watching {
                        mut stream,
                        version,
                    } => match stream.next().await {
                        Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                            let version = o.meta().resource_version.clone().unwrap_or(version);
                            return Some((
                                Ok(Event::Apply(o)),
                                State::Watching { stream, version },
                            ));
                        }
                        Some(Ok(WatchEvent::Deleted(o))) => {
                            let version = o.meta().resource_version.clone().unwrap_or(version);
                            return Some((
                                Ok(Event::Delete(o)),
                                State::Watching { stream, version },
                            ));
                        }
                        Some(Ok(WatchEvent::Bookmark { resource_version })) => State::Watching {
                            stream,
                            version: resource_version,
                        },
                        Some(Err(e)) if e.is_expired() => State::List,
                        Some(Err(e)) => return Some((Err(e), State::Backoff)),
                        None => match api.watch(&params, &version).await {
                            Ok(stream) => State::Watching {
                                stream: stream.boxed(),
                                version,
                            },
                            Err(e) if e.is_expired() => State::List,
                            Err(e) => return Some((Err(e), State::Backoff)),
                        },
                    },
                };
            }
        }
    })
}
