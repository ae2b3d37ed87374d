//! Cron schedules as `CronJob.spec.schedule` takes them: five fields (minute, hour,
//! day of month, month, day of week) with `*`, `?`, lists, ranges, steps and month /
//! weekday names, or a descriptor (`@yearly`, `@annually`, `@monthly`, `@weekly`,
//! `@daily`, `@midnight`, `@hourly`, `@every <duration>`) — the grammar of the parser
//! Kubernetes uses (robfig/cron's standard parser), including its rule that day of month
//! and day of week are OR-ed unless one of them is `*`.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// A parsed schedule; [`CronSchedule::next_after`] gives its fire times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronSchedule {
    /// Five cron fields as bit sets.
    Fields(Fields),
    /// `@every <duration>`: fixed intervals (whole seconds, at least one).
    Every(std::time::Duration),
}

/// The bit sets of a five-field schedule (bit `n` set = value `n` matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// Day of month or day of week was `*` / `?`: both must then match (AND).
    day_star: bool,
}

/// Why a schedule does not parse; the message reads like Kubernetes' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(String);

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl CronSchedule {
    /// Parses a schedule.
    ///
    /// # Errors
    /// A [`CronError`] describing the first problem.
    pub fn parse(spec: &str) -> Result<CronSchedule, CronError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(CronError("empty spec string".to_owned()));
        }
        if let Some(descriptor) = spec.strip_prefix('@') {
            return descriptor_schedule(descriptor, spec);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            )));
        }
        let dom = field(fields[2], &DOM)?;
        let dow = field(fields[4], &DOW)?;
        Ok(CronSchedule::Fields(Fields {
            minute: field(fields[0], &MINUTE)?.0,
            hour: field(fields[1], &HOUR)?.0,
            dom: dom.0,
            month: field(fields[3], &MONTH)?.0,
            dow: dow.0,
            day_star: dom.1 || dow.1,
        }))
    }

    /// The first fire time strictly after `after` (whole minutes for field schedules),
    /// or `None` if there is none in the next five years (e.g. `0 0 30 2 *`).
    #[must_use]
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            CronSchedule::Every(d) => {
                let step = Duration::from_std(*d).ok()?;
                let t = after.with_nanosecond(0)? + step;
                Some(t)
            }
            CronSchedule::Fields(f) => f.next_after(after),
        }
    }
}

impl Fields {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.with_nanosecond(0)?.with_second(0)? + Duration::minutes(1);
        let limit = start.year() + 5;
        let mut t = start;
        while t.year() <= limit {
            if self.month & (1 << t.month()) == 0 {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()?;
                continue;
            }
            if !self.day_matches(t) {
                t = (t + Duration::days(1)).with_hour(0)?.with_minute(0)?;
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = (t + Duration::hours(1)).with_minute(0)?;
                continue;
            }
            if self.minute & (1 << t.minute()) == 0 {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }

    fn day_matches(&self, t: DateTime<Utc>) -> bool {
        let dom = self.dom & (1 << t.day()) != 0;
        let dow = self.dow & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn descriptor_schedule(descriptor: &str, spec: &str) -> Result<CronSchedule, CronError> {
    let all = |b: &Bounds| range_bits(b.min, b.max, 1);
    let at = |minute: u64, hour: u64, dom: u64, month: u64, dow: u64| {
        CronSchedule::Fields(Fields {
            minute,
            hour,
            dom,
            month,
            dow,
            day_star: true,
        })
    };
    Ok(match descriptor {
        "yearly" | "annually" => at(1, 1, 1 << 1, 1 << 1, all(&DOW)),
        "monthly" => at(1, 1, 1 << 1, all(&MONTH), all(&DOW)),
        "weekly" => at(1, 1, all(&DOM), all(&MONTH), 1),
        "daily" | "midnight" => at(1, 1, all(&DOM), all(&MONTH), all(&DOW)),
        "hourly" => at(1, all(&HOUR), all(&DOM), all(&MONTH), all(&DOW)),
        other => {
            let Some(duration) = other.strip_prefix("every ") else {
                return Err(CronError(format!("unrecognized descriptor: {spec}")));
            };
            let d = parse_duration(duration.trim()).ok_or_else(|| {
                CronError(format!(
                    "failed to parse duration {spec}: invalid duration \"{}\"",
                    duration.trim()
                ))
            })?;
            CronSchedule::Every(d.max(std::time::Duration::from_secs(1)))
        }
    })
}

/// Go's `time.ParseDuration` for the units a schedule uses (`h`, `m`, `s`, `ms`),
/// truncated to whole seconds as the cron library does.
fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(std::time::Duration::from_secs(total as u64))
}

/// One field: a comma-separated list of ranges; the flag says it was `*` or `?`.
fn field(spec: &str, bounds: &Bounds) -> Result<(u64, bool), CronError> {
    let mut bits = 0;
    let mut star = false;
    for part in spec.split(',') {
        let (b, s) = range(part, bounds)?;
        bits |= b;
        star |= s;
    }
    Ok((bits, star))
}

fn range(spec: &str, bounds: &Bounds) -> Result<(u64, bool), CronError> {
    let mut slash = spec.split('/');
    let range_part = slash.next().unwrap_or_default();
    let step_part = slash.next();
    if slash.next().is_some() {
        return Err(CronError(format!("too many slashes: {spec}")));
    }
    let (start, mut end, star) = if range_part == "*" || range_part == "?" {
        (bounds.min, bounds.max, true)
    } else {
        let mut dash = range_part.split('-');
        let start = value(dash.next().unwrap_or_default(), bounds)?;
        let end = match dash.next() {
            Some(e) => value(e, bounds)?,
            None => start,
        };
        if dash.next().is_some() {
            return Err(CronError(format!("too many hyphens: {spec}")));
        }
        (start, end, false)
    };
    let step = match step_part {
        None => 1,
        Some(s) => {
            let step = s
                .parse::<u32>()
                .map_err(|_| CronError(format!("failed to parse int from {s}: invalid syntax")))?;
            if !star && !range_part.contains('-') {
                end = bounds.max;
            }
            step
        }
    };
    if start < bounds.min {
        return Err(CronError(format!(
            "beginning of range ({start}) below minimum ({}): {spec}",
            bounds.min
        )));
    }
    if end > bounds.max {
        return Err(CronError(format!(
            "end of range ({end}) above maximum ({}): {spec}",
            bounds.max
        )));
    }
    if start > end {
        return Err(CronError(format!(
            "beginning of range ({start}) beyond end of range ({end}): {spec}"
        )));
    }
    if step == 0 {
        return Err(CronError(format!(
            "step of range should be a positive number: {spec}"
        )));
    }
    Ok((range_bits(start, end, step), star && step == 1))
}

fn value(s: &str, bounds: &Bounds) -> Result<u32, CronError> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = bounds.names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + bounds.min);
    }
    s.parse::<u32>().map_err(|_| {
        if s.starts_with('-') || s.parse::<i64>().is_ok() {
            CronError(format!("negative number ({s}) not allowed: {s}"))
        } else {
            CronError(format!("failed to parse int from {s}: invalid syntax"))
        }
    })
}

fn range_bits(start: u32, end: u32, step: u32) -> u64 {
    (start..=end)
        .step_by(step as usize)
        .fold(0, |bits, v| bits | 1 << v)
}

impl FromStr for CronSchedule {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronSchedule::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(schedule: &str, after: &str) -> String {
        CronSchedule::parse(schedule)
            .unwrap()
            .next_after(at(after))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn fire_times() {
        assert_eq!(
            next("*/15 * * * *", "2026-01-01T10:07:30Z"),
            "2026-01-01T10:15:00+00:00"
        );
        assert_eq!(
            next("0 3 * * *", "2026-01-01T03:00:00Z"),
            "2026-01-02T03:00:00+00:00"
        );
        assert_eq!(
            next("30 9 * * MON-FRI", "2026-11-27T10:00:00Z"),
            "2026-11-30T09:30:00+00:00"
        );
        assert_eq!(
            next("0 0 1 jan *", "2026-03-01T00:00:00Z"),
            "2027-01-01T00:00:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2026-01-01T10:07:00Z"),
            "2026-01-01T11:00:00+00:00"
        );
        assert_eq!(
            next("@weekly", "2026-11-25T00:00:00Z"),
            "2026-11-29T00:00:00+00:00"
        );
        assert_eq!(
            next("@every 90s", "2026-01-01T00:00:00.5Z"),
            "2026-01-01T00:01:30+00:00"
        );
        assert_eq!(
            next("5-10/5 * * * *", "2026-01-01T00:05:00Z"),
            "2026-01-01T00:10:00+00:00"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01T00:06:00Z"),
            "2026-01-01T00:25:00+00:00"
        );
    }

    #[test]
    fn day_of_month_and_week_are_ored_unless_one_is_a_star() {
        // The 13th, or any Friday.
        assert_eq!(
            next("0 0 13 * 5", "2026-11-01T00:00:00Z"),
            "2026-11-06T00:00:00+00:00"
        );
        // Every Friday that is also any day of month.
        assert_eq!(
            next("0 0 * * 5", "2026-11-01T00:00:00Z"),
            "2026-11-06T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 13 * *", "2026-11-01T00:00:00Z"),
            "2026-11-13T00:00:00+00:00"
        );
    }

    #[test]
    fn impossible_dates_have_no_fire_time() {
        let s = CronSchedule::parse("0 0 30 2 *").unwrap();
        assert_eq!(s.next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn errors() {
        for (bad, msg) in [
            ("", "empty spec string"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("*/2/3 * * * *", "too many slashes: */2/3"),
            ("x * * * *", "failed to parse int from x: invalid syntax"),
            ("@fortnightly", "unrecognized descriptor: @fortnightly"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ] {
            assert_eq!(
                CronSchedule::parse(bad).unwrap_err().to_string(),
                msg,
                "{bad:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = CronSchedule::parse(&s).map(|c| c.next_after(Utc::now()));
        }

        #[test]
        fn next_is_later_and_matches(m in 0u32..60, h in 0u32..24, secs in 0i64..400_000_000) {
            let s = CronSchedule::parse(&format!("{m} {h} * * *")).unwrap();
            let after = Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap();
            let t = s.next_after(after).unwrap();
            proptest::prop_assert!(t > after && t - after <= Duration::days(1));
            proptest::prop_assert_eq!((t.minute(), t.hour()), (m, h));
        }
    }
}
