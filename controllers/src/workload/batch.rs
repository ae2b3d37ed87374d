//! Slow-start batches: Kubernetes' `slowStartBatch`.

use std::future::Future;

/// Runs `count` calls of `f` in batches of 1, 2, 4, … (starting at `initial`), each
/// batch concurrently, stopping after the first batch with a failure so a systematic
/// error (a quota, an admission rejection) costs one call, not `count`. Returns how many
/// calls succeeded and the first error; the calls not made are `count` minus the calls
/// made.
pub async fn slow_start_batch<E, F, Fut>(count: usize, initial: usize, f: F) -> (usize, Option<E>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = initial.max(1).min(count);
    let mut index = 0;
    while batch > 0 {
        let calls = (index..index + batch).map(&f);
        index += batch;
        let results = futures::future::join_all(calls).await;
        let mut first_error = None;
        for r in results {
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
    async fn zero_calls_do_nothing() {
        let (ok, err) = slow_start_batch(0, 1, |_| async { Err::<(), ()>(()) }).await;
        assert_eq!((ok, err), (0, None));
    }
}
