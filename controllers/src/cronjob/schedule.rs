//! Schedule arithmetic of the CronJob controller (Kubernetes' `mostRecentScheduleTime`
//! and `nextScheduleTimeDuration`), on the cluster clock, in UTC.

use std::time::Duration;

use chrono::{DateTime, Utc};
use keel_core::cron::CronSchedule;

/// More missed schedules than this are "too many": only the latest one runs, and the
/// `TooManyMissedTimes` event says so.
pub const MAX_MISSED: usize = 100;

/// How long after a schedule time the controller looks at the CronJob (Kubernetes'
/// `nextScheduleDelta`), so the clock has surely passed it.
pub const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

/// How many schedule times were missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    /// None (or only the one that is due).
    None,
    /// A few: only the latest runs.
    Few,
    /// More than [`MAX_MISSED`].
    Many,
}

/// The latest schedule time in `(earliest, now]`, if any, and how many were missed.
pub fn most_recent(
    schedule: &CronSchedule,
    earliest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Missed) {
    let Some(t1) = schedule.next_after(earliest) else {
        return (None, Missed::None);
    };
    if now < t1 {
        return (None, Missed::None);
    }
    let mut latest = t1;
    let mut count = 1;
    while let Some(next) = schedule.next_after(latest) {
        if next > now {
            return (
                Some(latest),
                if count > 1 { Missed::Few } else { Missed::None },
            );
        }
        latest = next;
        count += 1;
        if count > MAX_MISSED {
            return (Some(latest_before(schedule, latest, now)), Missed::Many);
        }
    }
    (
        Some(latest),
        if count > 1 { Missed::Few } else { Missed::None },
    )
}

/// The latest schedule time at or before `now`, knowing `known` is one: searched in
/// windows before `now` that double until one holds a schedule time, so a long outage
/// costs a few steps, not one per missed time.
fn latest_before(
    schedule: &CronSchedule,
    known: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut window = chrono::TimeDelta::minutes(1);
    loop {
        let from = now - window;
        if from <= known {
            return walk(schedule, known, now);
        }
        if let Some(first) = schedule.next_after(from)
            && first <= now
        {
            return walk(schedule, first, now);
        }
        window = window * 2;
    }
}

fn walk(schedule: &CronSchedule, mut t: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    while let Some(next) = schedule.next_after(t) {
        if next > now {
            break;
        }
        t = next;
    }
    t
}

/// How long from `now` until the controller should look again: just after the first
/// schedule time after the most recent one (or after `earliest`), or `None` if the
/// schedule never fires again.
pub fn next_delay(
    schedule: &CronSchedule,
    earliest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let (recent, _) = most_recent(schedule, earliest, now);
    let next = schedule.next_after(recent.unwrap_or(earliest))?;
    let until = (next - now).to_std().unwrap_or(Duration::ZERO);
    Some(until + NEXT_SCHEDULE_DELTA)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn every5() -> CronSchedule {
        CronSchedule::parse("*/5 * * * *").unwrap()
    }

    #[test]
    fn nothing_due_before_the_first_time() {
        let (t, m) = most_recent(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:04:59Z"),
        );
        assert_eq!((t, m), (None, Missed::None));
        let d = next_delay(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:04:00Z"),
        );
        assert_eq!(d, Some(Duration::from_secs(60) + NEXT_SCHEDULE_DELTA));
    }

    #[test]
    fn the_latest_missed_time_is_due() {
        let (t, m) = most_recent(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:17:00Z"),
        );
        assert_eq!((t, m), (Some(at("2026-01-01T00:15:00Z")), Missed::Few));
        let (t, m) = most_recent(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:05:00Z"),
        );
        assert_eq!((t, m), (Some(at("2026-01-01T00:05:00Z")), Missed::None));
        let d = next_delay(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:17:00Z"),
        );
        assert_eq!(d, Some(Duration::from_secs(180) + NEXT_SCHEDULE_DELTA));
    }

    #[test]
    fn more_than_a_hundred_missed_times_are_too_many() {
        let (t, m) = most_recent(
            &every5(),
            at("2026-01-01T00:00:00Z"),
            at("2026-03-01T10:03:00Z"),
        );
        assert_eq!((t, m), (Some(at("2026-03-01T10:00:00Z")), Missed::Many));
        let hourly = CronSchedule::parse("@hourly").unwrap();
        let (t, m) = most_recent(
            &hourly,
            at("2020-01-01T00:00:00Z"),
            at("2026-06-01T10:30:00Z"),
        );
        assert_eq!((t, m), (Some(at("2026-06-01T10:00:00Z")), Missed::Many));
    }
}
