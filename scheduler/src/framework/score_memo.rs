//! [`ScoreMemo`]: the last answer a plugin computed for a node — the fused resource
//! score, or NodeResourcesFit's verdict ([`NodeMemos`]) — kept in the node until the
//! node changes, so that the pods of one shape that follow one another (a Deployment's
//! replicas) are scored and filtered by a look-up on every node but the ones that
//! changed since. [`Questions`] numbers what is asked (a pod shape, for one scorer with
//! its weights or for the fit check), so that a remembered answer only ever answers
//! the same question.
//!
//! Exact by construction: a memo holds the result of a pure function of the node's
//! amounts and the question, and is forgotten by every change of those amounts. Only
//! a snapshot's nodes remember — a snapshot hands out no `&mut NodeInfo`, so their
//! amounts change only through the methods that forget. A node outside a snapshot
//! (built by hand, or cloned out of one) is *standalone*: its public fields may be
//! written directly, so it never remembers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Set in the memo of a standalone node; no question reaches it, so it never matches.
const STANDALONE: u64 = 1 << 63;
/// Questions are numbered from 1 below this: a question shifted into the upper half of
/// the memo word stays clear of [`STANDALONE`].
const QUESTION_LIMIT: u64 = 1 << 31;
/// How many recent pod shapes a scorer keeps a question for.
const RECENT_SHAPES: usize = 16;
const _: () = assert!(
    (QUESTION_LIMIT - 1) << 32 < STANDALONE,
    "questions stay clear"
);

/// The next question's number, shared by every scorer of the process.
static NEXT_QUESTION: AtomicU64 = AtomicU64::new(1);

/// What a remembered answer answers: one pod shape asked by one scorer (with its
/// weights) or by the fit check. Numbers are never reused, so two askers never share
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Question(u64);

impl Question {
    /// A question never asked before, or `None` once the numbers run out (2^31 − 1 per
    /// process: a scorer then computes every score).
    fn fresh() -> Option<Question> {
        let n = NEXT_QUESTION.fetch_add(1, Ordering::Relaxed);
        (n < QUESTION_LIMIT).then_some(Question(n))
    }
}

/// One node's remembered score: `question << 32 | score` (scores from 0 to
/// `u32::MAX`), 0 when empty, [`STANDALONE`] when the node is not a snapshot's.
pub(crate) struct ScoreMemo(AtomicU64);

impl std::fmt::Debug for ScoreMemo {
    /// Without the word: a node prints the same before and after a cycle scored it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScoreMemo")
    }
}

impl Default for ScoreMemo {
    /// A standalone node's memo.
    fn default() -> Self {
        ScoreMemo(AtomicU64::new(STANDALONE))
    }
}

impl Clone for ScoreMemo {
    /// A standalone memo: a clone of a node is its holder's to change at will.
    fn clone(&self) -> Self {
        ScoreMemo::default()
    }
}

impl ScoreMemo {
    /// Makes the memo a snapshot node's (empty, remembering from now on).
    pub(crate) fn share(&mut self) {
        *self.0.get_mut() = 0;
    }

    /// The answer remembered, whatever the question.
    #[cfg(test)]
    pub(crate) fn answer(&self) -> Option<i64> {
        let word = self.0.load(Ordering::Relaxed);
        (word != 0 && word & STANDALONE == 0).then_some((word & 0xffff_ffff).cast_signed())
    }

    /// Whether the memo remembers at all (a snapshot's node).
    #[cfg(test)]
    pub(crate) fn is_shared(&self) -> bool {
        self.0.load(Ordering::Relaxed) & STANDALONE == 0
    }

    /// Forgets the score (the node changed); a standalone memo stays standalone.
    pub(crate) fn forget(&mut self) {
        *self.0.get_mut() &= STANDALONE;
    }

    /// The score remembered for `question`, if it is the one remembered.
    #[inline]
    pub(crate) fn recall(&self, question: Question) -> Option<i64> {
        let word = self.0.load(Ordering::Relaxed);
        (word >> 32 == question.0).then_some((word & 0xffff_ffff).cast_signed())
    }

    /// Remembers `score` as the answer to `question`, in place of what was (not on a
    /// standalone node, nor a score outside `0..=u32::MAX`).
    #[inline]
    pub(crate) fn remember(&self, question: Question, score: i64) {
        if let Ok(score) = u32::try_from(score)
            && self.0.load(Ordering::Relaxed) & STANDALONE == 0
        {
            self.0
                .store(question.0 << 32 | u64::from(score), Ordering::Relaxed);
        }
    }
}

/// A node's memos: the fused resource score's and NodeResourcesFit's verdict's (1 when
/// the pod fits, 0 when not), side by side in one cache line.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeMemos {
    /// The fused LeastAllocated + BalancedAllocation score.
    pub(crate) score: ScoreMemo,
    /// Whether a pod fits the node's resources.
    pub(crate) fit: ScoreMemo,
}

impl NodeMemos {
    /// Makes both a snapshot node's ([`ScoreMemo::share`]).
    pub(crate) fn share(&mut self) {
        self.score.share();
        self.fit.share();
    }

    /// Forgets both (the node changed).
    pub(crate) fn forget(&mut self) {
        self.score.forget();
        self.fit.forget();
    }

    /// Whether both remember at all.
    #[cfg(test)]
    pub(crate) fn is_shared(&self) -> bool {
        self.score.is_shared() && self.fit.is_shared()
    }
}

/// A scorer's questions, by pod shape `K`, for the [`RECENT_SHAPES`] shapes it met
/// last (most recent first).
#[derive(Debug, Default)]
pub(crate) struct Questions<K> {
    recent: Mutex<Vec<(K, Option<Question>)>>,
}

impl<K> Questions<K> {
    /// No shape met yet.
    pub(crate) const fn new() -> Questions<K> {
        Questions {
            recent: Mutex::new(Vec::new()),
        }
    }
}

impl<K: Copy + Eq> Questions<K> {
    /// The question for `shape` if the scorer has met the shape before (so pods like
    /// it follow one another, and scores are worth remembering); `None` on a first
    /// meeting. A shape is numbered at its second meeting: shapes met once cost no
    /// number.
    pub(crate) fn ask(&self, shape: K) -> Option<Question> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(i) = recent.iter().position(|(k, _)| *k == shape) else {
            if recent.len() == RECENT_SHAPES {
                recent.pop();
            }
            recent.insert(0, (shape, None));
            return None;
        };
        recent[..=i].rotate_right(1);
        let question = &mut recent[0].1;
        if question.is_none() {
            *question = Question::fresh();
        }
        *question
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> ScoreMemo {
        let mut memo = ScoreMemo::default();
        memo.share();
        memo
    }

    #[test]
    fn a_snapshot_node_recalls_the_answer_to_the_same_question_only() {
        let (q, other) = (Question::fresh().unwrap(), Question::fresh().unwrap());
        assert_ne!(q, other);
        let memo = shared();
        assert_eq!(memo.recall(q), None, "empty");
        memo.remember(q, 173);
        assert_eq!(memo.recall(q), Some(173));
        assert_eq!(memo.recall(other), None);
        memo.remember(other, 0);
        assert_eq!((memo.recall(q), memo.recall(other)), (None, Some(0)));
        memo.remember(other, i64::from(u32::MAX));
        assert_eq!(memo.recall(other), Some(i64::from(u32::MAX)));
    }

    #[test]
    fn scores_out_of_range_are_not_remembered() {
        let q = Question::fresh().unwrap();
        let memo = shared();
        memo.remember(q, 5);
        for score in [-1, i64::from(u32::MAX) + 1, i64::MIN, i64::MAX] {
            memo.remember(q, score);
            assert_eq!(memo.recall(q), Some(5), "{score} left the memo as it was");
        }
    }

    #[test]
    fn a_change_forgets_and_a_standalone_node_never_remembers() {
        let q = Question::fresh().unwrap();
        let mut memo = shared();
        memo.remember(q, 7);
        memo.forget();
        assert_eq!(memo.recall(q), None);
        let mut alone = ScoreMemo::default();
        alone.remember(q, 7);
        assert_eq!(alone.recall(q), None);
        alone.forget();
        alone.remember(q, 7);
        assert_eq!(alone.recall(q), None, "still standalone after a change");
        memo.remember(q, 9);
        let copy = memo.clone();
        copy.remember(q, 9);
        assert_eq!(copy.recall(q), None, "a clone is standalone");
        assert_eq!(memo.recall(q), Some(9));
    }

    #[test]
    fn a_shape_gets_a_question_from_its_second_meeting_until_it_is_pushed_out() {
        let questions = Questions::default();
        assert_eq!(questions.ask(1), None, "first meeting");
        let q = questions.ask(1).expect("second meeting");
        assert_eq!(questions.ask(1), Some(q), "the same question");
        for shape in 2..=16 {
            assert_eq!(questions.ask(shape), None);
        }
        assert_eq!(questions.ask(1), Some(q), "16 shapes are kept");
        assert_eq!(questions.ask(17), None, "pushes out the least recent (2)");
        assert_eq!(questions.ask(1), Some(q), "a recent shape stays");
        let q17 = questions.ask(17).expect("second meeting of 17");
        assert_ne!(q17, q, "a new shape gets a new question");
        assert_eq!(questions.ask(2), None, "2 was pushed out");
        let q2 = questions.ask(2).expect("second meeting of 2");
        assert!(q2 != q && q2 != q17, "met anew, numbered anew");
        let other = Questions::default();
        other.ask(1);
        assert_ne!(other.ask(1), Some(q), "scorers never share questions");
    }
}
