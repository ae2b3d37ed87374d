//! Slow-start batches: Kubernetes' `slowStartBatch`.

use std::future::Future;

/// Runs `count` calls of `f`, each batch concurrently; see [`slow_start_batches`].
pub async fn slow_start_batch<E, F, Fut>(count: usize, initial: usize, f: F) -> (usize, Option<E>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut next = 0;
    slow_start_batches(count, initial, |size| {
        let calls: Vec<Fut> = (next..next + size).map(&f).collect();
        next += size;
        futures::future::join_all(calls)
    })
    .await
}

/// Kubernetes' `slowStartBatch`: does `count` units of work in batches of `initial`,
/// then twice as many, and so on, stopping after the first batch with a failure so a
/// systematic error (a quota, an admission rejection) costs one unit, not `count`.
/// `f(n)` does one batch of `n` units (for instance one bulk create) and reports each
/// unit's result. Returns how many units succeeded and the first error; the units not
/// attempted are `count` minus the units attempted.
pub async fn slow_start_batches<E, F, Fut>(
    count: usize,
    initial: usize,
    mut f: F,
) -> (usize, Option<E>)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Vec<Result<(), E>>>,
{
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = initial.max(1).min(count);
    while batch > 0 {
        let mut first_error = None;
        for r in f(batch).await {
            match r {
                Ok(()) => successes += 1,
                Err(e) if first_error.is_none() => first_error = Some(e),
                Err(_) => {}
            }
        }
        if first_error.is_some() {
            return (successes, first_error);
        }
        remaining -= batch;
        batch = (batch * 2).min(remaining);
    }
    (successes, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn batches_double_and_stop_at_the_first_failing_batch() {
        let calls = Mutex::new(Vec::new());
        let (ok, err) = slow_start_batch(10, 1, |i| {
            calls.lock().unwrap().push(i);
            async move { Ok::<(), ()>(()) }
        })
        .await;
        assert_eq!((ok, err), (10, None));
        assert_eq!(calls.lock().unwrap().len(), 10);

        let made = Mutex::new(0);
        let (ok, err) = slow_start_batch(100, 1, |i| {
            *made.lock().unwrap() += 1;
            async move { if i >= 5 { Err(i) } else { Ok(()) } }
        })
        .await;
        // Batches 1, 2, 4: calls 0..7, where 5 and 6 fail; no later batch starts.
        assert_eq!(*made.lock().unwrap(), 7);
        assert_eq!((ok, err), (5, Some(5)));
    }

    #[tokio::test]
    async fn batches_are_handed_out_whole() {
        let sizes = Mutex::new(Vec::new());
        let (ok, err) = slow_start_batches(20, 1, |n| {
            sizes.lock().unwrap().push(n);
            async move { vec![Ok::<(), ()>(()); n] }
        })
        .await;
        assert_eq!((ok, err), (20, None));
        assert_eq!(*sizes.lock().unwrap(), [1, 2, 4, 8, 5]);
    }

    #[tokio::test]
    async fn zero_calls_do_nothing() {
        let (ok, err) = slow_start_batch(0, 1, |_| async { Err::<(), ()>(()) }).await;
        assert_eq!((ok, err), (0, None));
    }
}
