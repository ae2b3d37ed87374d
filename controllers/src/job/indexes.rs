//! Completion indexes of an `Indexed` Job, in the interval form of
//! `status.completedIndexes` (`"1,3-5"`): Kubernetes' `orderedIntervals`.

use std::fmt;

/// A set of completion indexes kept as sorted, disjoint, non-adjacent closed intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i32, i32)>);

impl Intervals {
    /// Parses `"1,3-5"`, keeping only indexes below `completions`. Malformed parts are
    /// skipped (the field is written by the controller; a hand-edited value must not
    /// stop the Job).
    pub fn parse(s: &str, completions: i32) -> Intervals {
        let mut indexes = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
                None => (part.parse::<i32>(), part.parse::<i32>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                continue;
            };
            let last = last.min(completions - 1);
            if first < 0 || first > last {
                continue;
            }
            indexes.push((first, last));
        }
        Intervals::from_ranges(indexes)
    }

    fn from_ranges(mut ranges: Vec<(i32, i32)>) -> Intervals {
        ranges.sort_unstable();
        let mut merged: Vec<(i32, i32)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Intervals(merged)
    }

    /// This set plus `indexes`.
    #[must_use]
    pub fn with(&self, indexes: impl IntoIterator<Item = i32>) -> Intervals {
        let mut ranges = self.0.clone();
        ranges.extend(indexes.into_iter().filter(|i| *i >= 0).map(|i| (i, i)));
        Intervals::from_ranges(ranges)
    }

    /// Whether `index` is in the set.
    pub fn has(&self, index: i32) -> bool {
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&index))
    }

    /// How many indexes the set holds.
    pub fn total(&self) -> i32 {
        self.0.iter().map(|(a, b)| b - a + 1).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Intervals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_kubernetes_interval_form() {
        let s = Intervals::default().with([5, 1, 3, 4]);
        assert_eq!(s.to_string(), "1,3-5");
        assert_eq!(s.total(), 4);
        assert!(s.has(4) && !s.has(2));
        assert_eq!(s.with([2]).to_string(), "1-5");
        assert_eq!(Intervals::default().to_string(), "");
    }

    #[test]
    fn parses_and_clamps_to_completions() {
        let s = Intervals::parse("0,2-4,7-9", 8);
        assert_eq!(s.to_string(), "0,2-4,7");
        assert_eq!(s.total(), 5);
        assert_eq!(Intervals::parse("x,1-,3-2,5", 10).to_string(), "5");
        assert_eq!(Intervals::parse("1-2,3", 10).to_string(), "1-3");
    }
}
